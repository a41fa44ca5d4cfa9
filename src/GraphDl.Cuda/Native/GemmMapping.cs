namespace GraphDl.Cuda.Native;

/// <summary>cuBLAS operation codes (<c>cublasOperation_t</c>).</summary>
public enum CublasOp
{
    /// <summary>CUBLAS_OP_N</summary>
    N = 0,
    /// <summary>CUBLAS_OP_T</summary>
    T = 1,
}

/// <summary>The arguments of one column-major cuBLAS GEMM call: <c>C = op(A)·op(B)</c> with C m×n.</summary>
/// <param name="SwapOperands">True: GraphDl's B goes in cuBLAS's A slot and GraphDl's A in its B slot.</param>
public readonly record struct CublasGemm(CublasOp OpA, CublasOp OpB, int M, int N, int K, int Lda, int Ldb, int Ldc, bool SwapOperands);

/// <summary>Row-major to column-major GEMM mapping. cuBLAS reads a row-major r×c matrix as its column-major
/// transpose, so the row-major product <c>C = op(A)·op(B)</c> (C m×n) is computed as <c>Cᵀ = op(B)ᵀ·op(A)ᵀ</c>:
/// swap the operands, keep each one's transpose flag, and swap m and n. No data moves.</summary>
public static class GemmMapping
{
    /// <summary>The cuBLAS call for row-major <c>C[m,n] = op(A)·op(B)</c>, where op(A) is m×k and op(B) is k×n; A is
    /// stored m×k (k×m when <paramref name="transposeA"/>), B k×n (n×k when <paramref name="transposeB"/>).</summary>
    public static CublasGemm RowMajor(int m, int n, int k, bool transposeA, bool transposeB)
    {
        if (m < 0 || n < 0 || k < 0) throw new ArgumentOutOfRangeException(nameof(m), $"GEMM dims must be >= 0, got m={m} n={n} k={k}");
        // cuBLAS's A is GraphDl's B: row-major B (k×n) read as column-major is n×k with leading dim n.
        int lda = Math.Max(1, transposeB ? k : n);
        int ldb = Math.Max(1, transposeA ? m : k);
        return new(transposeB ? CublasOp.T : CublasOp.N, transposeA ? CublasOp.T : CublasOp.N, n, m, k, lda, ldb, Math.Max(1, n), SwapOperands: true);
    }

    /// <summary>As <see cref="RowMajor(int, int, int, bool, bool)"/> for matrices inside larger row-major arrays:
    /// <paramref name="lda"/>, <paramref name="ldb"/>, <paramref name="ldc"/> are the row lengths of A, B and C as stored
    /// (A's stored rows have k elements, m when transposed; B's n, k when transposed; C's n). cuBLAS's leading dimensions
    /// are these row lengths, swapped with the operands.</summary>
    public static CublasGemm RowMajor(int m, int n, int k, bool transposeA, bool transposeB, int lda, int ldb, int ldc)
    {
        var g = RowMajor(m, n, k, transposeA, transposeB);
        if (lda < (transposeA ? m : k) || ldb < (transposeB ? k : n) || ldc < n || lda < 1 || ldb < 1 || ldc < 1)
            throw new ArgumentOutOfRangeException(nameof(lda), $"leading dims lda={lda} ldb={ldb} ldc={ldc} too small for m={m} n={n} k={k} (transposed: {transposeA}, {transposeB})");
        return g with { Lda = ldb, Ldb = lda, Ldc = ldc };
    }

    /// <summary>The strided-batched form (cublas?gemmStridedBatched) of a batched row-major product whose output batch
    /// dims are <paramref name="batch"/>: each operand is either batched over all of them (its batch dims, padded on the
    /// left with 1s, equal <paramref name="batch"/>: the stride is one matrix) or a single matrix (every batch dim 1:
    /// stride 0). Null for any other broadcast (an operand batched over some dims only), which needs per-matrix offsets.
    /// Strides are in elements of GraphDl's A and B (cuBLAS gets them swapped, with the operands).</summary>
    public static (long StrideA, long StrideB, long StrideC, int Count)? StridedBatch(ReadOnlySpan<int> batchA, ReadOnlySpan<int> batchB,
        ReadOnlySpan<int> batch, int m, int n, int k)
    {
        long count = 1;
        foreach (var d in batch) count *= d;
        if (count > int.MaxValue) return null;
        if (Stride(batchA, batch, (long)m * k) is not { } sa || Stride(batchB, batch, (long)k * n) is not { } sb) return null;
        return (sa, sb, (long)m * n, (int)count);

        static long? Stride(ReadOnlySpan<int> own, ReadOnlySpan<int> batch, long matrix)
        {
            if (own.Length > batch.Length) return null;
            long size = 1;
            foreach (var d in own) size *= d;
            if (size == 1) return 0;
            int pad = batch.Length - own.Length;
            for (int i = 0; i < batch.Length; i++)
                if ((i < pad ? 1 : own[i - pad]) != batch[i]) return null;
            return matrix;
        }
    }
}
