using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
        if (typeof(T) == typeof(float) && Vector512.IsHardwareAccelerated && n == 1 && alpha == T.One)
        {
            if (transA && ldc == 1 && m <= 64 && m >= 16)
            {
                GemvTransposed512(m, k, (float*)a, lda, (float*)b, transB ? 1 : ldb, float.CreateTruncating(beta), (float*)c);
                return;
            }
            if (!transA && (transB || ldb == 1) && k >= 16)
            {
                Gemv512(m, k, (float*)a, lda, (float*)b, float.CreateTruncating(beta), (float*)c, ldc);
                return;
            }
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

    /// <summary>c[i·ldc] = A[i,:]·b (+ beta·c) for a contiguous b of k floats (a linear model's logits): four rows at a
    /// time share each vector of b; each row sums its products in 16 lanes, then across lanes.</summary>
    static void Gemv512(int m, int k, float* a, int lda, float* b, float beta, float* c, int ldc)
    {
        int kv = k & ~15;
        int i = 0;
        for (; i + 4 <= m; i += 4)
        {
            float* a0 = a + (long)i * lda, a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
            Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
            for (int p = 0; p < kv; p += 16)
            {
                var bv = Vector512.Load(b + p);
                s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a0 + p), bv, s0);
                s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a1 + p), bv, s1);
                s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a2 + p), bv, s2);
                s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a3 + p), bv, s3);
            }
            float r0 = Vector512.Sum(s0), r1 = Vector512.Sum(s1), r2 = Vector512.Sum(s2), r3 = Vector512.Sum(s3);
            for (int p = kv; p < k; p++)
            {
                r0 += a0[p] * b[p]; r1 += a1[p] * b[p]; r2 += a2[p] * b[p]; r3 += a3[p] * b[p];
            }
            Put(c + (long)i * ldc, r0, beta);
            Put(c + (long)(i + 1) * ldc, r1, beta);
            Put(c + (long)(i + 2) * ldc, r2, beta);
            Put(c + (long)(i + 3) * ldc, r3, beta);
        }
        for (; i < m; i++)
        {
            float* ai = a + (long)i * lda;
            Vector512<float> s0 = default;
            for (int p = 0; p < kv; p += 16) s0 = Vector512.FusedMultiplyAdd(Vector512.Load(ai + p), Vector512.Load(b + p), s0);
            float r = Vector512.Sum(s0);
            for (int p = kv; p < k; p++) r += ai[p] * b[p];
            Put(c + (long)i * ldc, r, beta);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Put(float* c, float r, float beta) => *c = beta == 0 ? r : r + beta * *c;

    /// <summary>c[0..m) = Σp b[p·sb] · (row p of the stored [k, m] A) (+ beta·c), 16 ≤ m ≤ 64 (a linear model's weight
    /// gradient Xᵀ·dy): the m sums stay in four registers over all k rows; a partial last vector is read and written
    /// element by element, so nothing past m is touched.</summary>
    static void GemvTransposed512(int m, int k, float* a, int lda, float* b, long sb, float beta, float* c)
    {
        int n1 = Math.Clamp(m - 16, 0, 16), n2 = Math.Clamp(m - 32, 0, 16), n3 = Math.Clamp(m - 48, 0, 16);
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default;
        for (int p = 0; p < k; p++)
        {
            float* row = a + (long)p * lda;
            var s = Vector512.Create(b[p * sb]);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Load(row), s, c0);
            if (n1 > 0) c1 = Vector512.FusedMultiplyAdd(Load(row + 16, n1), s, c1);
            if (n2 > 0) c2 = Vector512.FusedMultiplyAdd(Load(row + 32, n2), s, c2);
            if (n3 > 0) c3 = Vector512.FusedMultiplyAdd(Load(row + 48, n3), s, c3);
        }
        Store(c, c0, beta, 16);
        if (n1 > 0) Store(c + 16, c1, beta, n1);
        if (n2 > 0) Store(c + 32, c2, beta, n2);
        if (n3 > 0) Store(c + 48, c3, beta, n3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<float> Load(float* p, int count)
    {
        if (count == 16) return Vector512.Load(p);
        var v = Vector512<float>.Zero;
        for (int j = 0; j < count; j++) v = v.WithElement(j, p[j]);
        return v;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(float* c, Vector512<float> v, float beta, int count)
    {
        if (count == 16)
        {
            if (beta != 0) v += Vector512.Create(beta) * Vector512.Load(c);
            Vector512.Store(v, c);
            return;
        }
        for (int j = 0; j < count; j++) c[j] = beta == 0 ? v[j] : v[j] + beta * c[j];
    }
}
