namespace GraphDl.Devices.Cpu;

/// <summary>
/// Row-major general matrix multiply C = alpha*op(A)*op(B) + beta*C on the CPU: blocked, packed,
/// SIMD micro-kernel, optionally multithreaded. Results are bit-identical for any thread count.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>Single precision C = alpha*op(A)*op(B) + beta*C; op(A) is [m,k], op(B) is [k,n]; a null pool runs on the calling thread.</summary>
    public static void Sgemm(bool transA, bool transB, int m, int n, int k, float alpha, float* a, int lda,
        float* b, int ldb, float beta, float* c, int ldc, WorkerPool? pool)
        => GemmCore<float>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pool);

    /// <summary>Double precision C = alpha*op(A)*op(B) + beta*C; op(A) is [m,k], op(B) is [k,n]; a null pool runs on the calling thread.</summary>
    public static void Dgemm(bool transA, bool transB, int m, int n, int k, double alpha, double* a, int lda,
        double* b, int ldb, double beta, double* c, int ldc, WorkerPool? pool)
        => GemmCore<double>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, pool);

    /// <summary>Runs <see cref="Sgemm"/> on <paramref name="batchCount"/> matrices spaced by the given element strides.</summary>
    public static void BatchedSgemm(bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, long strideA, float* b, int ldb, long strideB, float beta,
        float* c, int ldc, long strideC, int batchCount, WorkerPool? pool)
        => GemmCore<float>.RunBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
            beta, c, ldc, strideC, batchCount, pool);

    /// <summary>Runs <see cref="Dgemm"/> on <paramref name="batchCount"/> matrices spaced by the given element strides.</summary>
    public static void BatchedDgemm(bool transA, bool transB, int m, int n, int k, double alpha,
        double* a, int lda, long strideA, double* b, int ldb, long strideB, double beta,
        double* c, int ldc, long strideC, int batchCount, WorkerPool? pool)
        => GemmCore<double>.RunBatched(transA, transB, m, n, k, alpha, a, lda, strideA, b, ldb, strideB,
            beta, c, ldc, strideC, batchCount, pool);
}
