using System.Numerics;
using System.Numerics.Tensors;

namespace GraphDl.Devices.Cpu;

/// <summary>Direct GEMM for small or skinny products, where packing costs more than it saves (a logistic-regression
/// step multiplies [32,64] by [64,1]). Chosen by shape only, so results do not depend on the thread count.</summary>
internal static unsafe class SmallGemm<T> where T : unmanaged, INumber<T>
{
    /// <summary>True when the direct path should run: tiny products, matrix-vector products, or a row vector times a
    /// row-major matrix.</summary>
    public static bool Suits(bool transB, int m, int n, int k) =>
        (long)m * n * k <= 1 << 15 || n <= 2 || (m <= 2 && !transB);

    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda, T* b, int ldb, T beta, T* c, int ldc)
    {
        if (!transB && n > 2)
        {
            // Row i of C accumulates a(i,p) · (row p of B): contiguous SIMD over n.
            for (int i = 0; i < m; i++)
            {
                var crow = new Span<T>(c + (long)i * ldc, n);
                if (beta == T.Zero) crow.Clear();
                else if (beta != T.One) TensorPrimitives.Multiply(crow, beta, crow);
                for (int p = 0; p < k; p++)
                {
                    T aip = alpha * (transA ? a[(long)p * lda + i] : a[(long)i * lda + p]);
                    TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(b + (long)p * ldb, n), aip, crow, crow);
                }
            }
            return;
        }
        if (transA && n == 1 && ldc == 1)
        {
            // c = Σp b(p) · (row p of the stored A): contiguous SIMD over m (the weight gradient Xᵀ·dy of a linear model).
            var cv = new Span<T>(c, m);
            if (beta == T.Zero) cv.Clear();
            else if (beta != T.One) TensorPrimitives.Multiply(cv, beta, cv);
            long sb = transB ? 1 : ldb;
            for (int p = 0; p < k; p++)
                TensorPrimitives.MultiplyAdd(new ReadOnlySpan<T>(a + (long)p * lda, m), alpha * b[p * sb], cv, cv);
            return;
        }
        // Dot products: c(i,j) = Σp a(i,p) b(p,j); contiguous when A is not transposed and B is (or n = 1).
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                T s;
                if (!transA && (transB || (n == 1 && ldb == 1)))
                    s = TensorPrimitives.Dot(new ReadOnlySpan<T>(a + (long)i * lda, k), new ReadOnlySpan<T>(b + (transB ? (long)j * ldb : j), k));
                else
                {
                    s = T.Zero;
                    long sa = transA ? lda : 1, sb = transB ? 1 : ldb;
                    T* pa = transA ? a + i : a + (long)i * lda;
                    T* pb = transB ? b + (long)j * ldb : b + j;
                    for (int p = 0; p < k; p++) s += pa[p * sa] * pb[p * sb];
                }
                ref T cij = ref c[(long)i * ldc + j];
                cij = beta == T.Zero ? alpha * s : alpha * s + beta * cij;
            }
    }
}
