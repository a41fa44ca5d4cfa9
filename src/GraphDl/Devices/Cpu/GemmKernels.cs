using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GraphDl.Devices.Cpu;

/// <summary>The MR×NR micro-kernels of <see cref="GemmCore{T}"/>: AVX-512, AVX2/FMA and a portable one, all on the same
/// packed layout and the same accumulation order.</summary>
internal static unsafe partial class GemmCore<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    /// <summary>One MR×NR tile (or, with <paramref name="half"/>, its first 6 rows) of C from an A panel packed MR rows
    /// wide and a B panel packed NR columns wide.</summary>
    static void Kernel(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta, bool ow, bool half = false)
    {
        if (ForceScalar) KernelScalar(kc, a, b, c, ldc, alpha, beta, ow, half ? MRHalf : MR);
        else if (UseV512)
        {
            if (MR == 12 && !half) Kernel512x12(kc, a, b, c, ldc, alpha, beta, ow);
            else Kernel512(kc, a, MR, b, c, ldc, alpha, beta, ow);
        }
        else if (UseV256) Kernel256(kc, a, b, c, ldc, alpha, beta, ow);
        else KernelScalar(kc, a, b, c, ldc, alpha, beta, ow, half ? MRHalf : MR);
    }

    /// <summary>Portable kernel: same packed layout, plain multiply-add, the first <paramref name="rows"/> rows.</summary>
    static void KernelScalar(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta, bool ow, int rows)
    {
        int nr = NR;
        T* acc = stackalloc T[MR * nr];
        for (int i = 0; i < MR * nr; i++) acc[i] = T.Zero;
        for (int p = 0; p < kc; p++)
        {
            T* bb = b + p * nr;
            for (int r = 0; r < rows; r++)
            {
                T ar = a[p * MR + r];
                T* accr = acc + r * nr;
                for (int j = 0; j < nr; j++) accr[j] += ar * bb[j];
            }
        }
        for (int r = 0; r < rows; r++)
        {
            T* cr = c + r * ldc;
            T* accr = acc + r * nr;
            if (ow) for (int j = 0; j < nr; j++) cr[j] = alpha * accr[j];
            else for (int j = 0; j < nr; j++) cr[j] = alpha * accr[j] + beta * cr[j];
        }
    }

    /// <summary>Asks for the C tile's cache lines (rows of two vectors) while the FMA chain runs, instead of
    /// missing them at the end: C rows are a whole row of the output apart.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void PrefetchTile(T* c, nint ldc, int rows)
    {
        if (!Sse.IsSupported) return;
        int half = NR * sizeof(T) / 2;
        for (int r = 0; r < rows; r++, c += ldc)
        {
            Sse.Prefetch0(c);
            Sse.Prefetch0((byte*)c + half);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector256<T> Fmadd(Vector256<T> x, Vector256<T> y, Vector256<T> z)
    {
        if (Fma.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Fma.MultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Fma.MultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        }
        return x * y + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store256(T* c, Vector256<T> x0, Vector256<T> x1, Vector256<T> va, Vector256<T> vb, bool ow)
    {
        int w = Vector256<T>.Count;
        if (ow)
        {
            Vector256.Store(va * x0, c);
            Vector256.Store(va * x1, c + w);
        }
        else
        {
            Vector256.Store(va * x0 + vb * Vector256.Load(c), c);
            Vector256.Store(va * x1 + vb * Vector256.Load(c + w), c + w);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel256(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta, bool ow)
    {
        int w = Vector256<T>.Count;
        PrefetchTile(c, ldc, 6);
        Vector256<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector256<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            var b1 = Vector256.Load(b + w);
            var ai = Vector256.Create(a[0]);
            c00 = Fmadd(ai, b0, c00); c01 = Fmadd(ai, b1, c01);
            ai = Vector256.Create(a[1]);
            c10 = Fmadd(ai, b0, c10); c11 = Fmadd(ai, b1, c11);
            ai = Vector256.Create(a[2]);
            c20 = Fmadd(ai, b0, c20); c21 = Fmadd(ai, b1, c21);
            ai = Vector256.Create(a[3]);
            c30 = Fmadd(ai, b0, c30); c31 = Fmadd(ai, b1, c31);
            ai = Vector256.Create(a[4]);
            c40 = Fmadd(ai, b0, c40); c41 = Fmadd(ai, b1, c41);
            ai = Vector256.Create(a[5]);
            c50 = Fmadd(ai, b0, c50); c51 = Fmadd(ai, b1, c51);
            a += MR;
            b += 2 * w;
        }
        var va = Vector256.Create(alpha);
        var vb = Vector256.Create(beta);
        Store256(c, c00, c01, va, vb, ow); c += ldc;
        Store256(c, c10, c11, va, vb, ow); c += ldc;
        Store256(c, c20, c21, va, vb, ow); c += ldc;
        Store256(c, c30, c31, va, vb, ow); c += ldc;
        Store256(c, c40, c41, va, vb, ow); c += ldc;
        Store256(c, c50, c51, va, vb, ow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static Vector512<T> Fmadd(Vector512<T> x, Vector512<T> y, Vector512<T> z)
    {
        if (Avx512F.IsSupported)
        {
            if (typeof(T) == typeof(float))
                return Avx512F.FusedMultiplyAdd(x.AsSingle(), y.AsSingle(), z.AsSingle()).As<float, T>();
            if (typeof(T) == typeof(double))
                return Avx512F.FusedMultiplyAdd(x.AsDouble(), y.AsDouble(), z.AsDouble()).As<double, T>();
        }
        return x * y + z;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store512(T* c, Vector512<T> x0, Vector512<T> x1, Vector512<T> va, Vector512<T> vb, bool ow)
    {
        int w = Vector512<T>.Count;
        if (ow)
        {
            Vector512.Store(va * x0, c);
            Vector512.Store(va * x1, c + w);
        }
        else
        {
            Vector512.Store(va * x0 + vb * Vector512.Load(c), c);
            Vector512.Store(va * x1 + vb * Vector512.Load(c + w), c + w);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    /// <summary>6×NR tile; <paramref name="lda"/> is the packed panel's height (6, or 12 when it runs the first half of
    /// a 12-row panel).</summary>
    static void Kernel512(int kc, T* a, int lda, T* b, T* c, nint ldc, T alpha, T beta, bool ow)
    {
        int w = Vector512<T>.Count;
        PrefetchTile(c, ldc, 6);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var ai = Vector512.Create(a[0]);
            c00 = Fmadd(ai, b0, c00); c01 = Fmadd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Fmadd(ai, b0, c10); c11 = Fmadd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Fmadd(ai, b0, c20); c21 = Fmadd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Fmadd(ai, b0, c30); c31 = Fmadd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Fmadd(ai, b0, c40); c41 = Fmadd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Fmadd(ai, b0, c50); c51 = Fmadd(ai, b1, c51);
            a += lda;
            b += 2 * w;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store512(c, c00, c01, va, vb, ow); c += ldc;
        Store512(c, c10, c11, va, vb, ow); c += ldc;
        Store512(c, c20, c21, va, vb, ow); c += ldc;
        Store512(c, c30, c31, va, vb, ow); c += ldc;
        Store512(c, c40, c41, va, vb, ow); c += ldc;
        Store512(c, c50, c51, va, vb, ow);
    }

    /// <summary>12×NR tile, float with AVX-512: 24 accumulators, each B vector feeds 12 FMAs; k unrolled by two (the loop's
    /// own instructions are a tenth of the body otherwise). Each accumulator's FMA chain runs in k order either way.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    static void Kernel512x12(int kc, T* a, T* b, T* c, nint ldc, T alpha, T beta, bool ow)
    {
        int w = Vector512<T>.Count;
        PrefetchTile(c, ldc, 12);
        Vector512<T> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default;
        Vector512<T> c30 = default, c31 = default, c40 = default, c41 = default, c50 = default, c51 = default;
        Vector512<T> c60 = default, c61 = default, c70 = default, c71 = default, c80 = default, c81 = default;
        Vector512<T> c90 = default, c91 = default, ca0 = default, ca1 = default, cb0 = default, cb1 = default;
        int p = 0;
        for (; p + 2 <= kc; p += 2)
        {
            // B streams from L2: ask for the lines eight k-steps ahead (paired runs: +1-3%).
            byte* q = (byte*)b + 1024;
            Sse.Prefetch0(q); Sse.Prefetch0(q + 64); Sse.Prefetch0(q + 128); Sse.Prefetch0(q + 192);
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var ai = Vector512.Create(a[0]);
            c00 = Fmadd(ai, b0, c00); c01 = Fmadd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Fmadd(ai, b0, c10); c11 = Fmadd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Fmadd(ai, b0, c20); c21 = Fmadd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Fmadd(ai, b0, c30); c31 = Fmadd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Fmadd(ai, b0, c40); c41 = Fmadd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Fmadd(ai, b0, c50); c51 = Fmadd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Fmadd(ai, b0, c60); c61 = Fmadd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Fmadd(ai, b0, c70); c71 = Fmadd(ai, b1, c71);
            ai = Vector512.Create(a[8]);
            c80 = Fmadd(ai, b0, c80); c81 = Fmadd(ai, b1, c81);
            ai = Vector512.Create(a[9]);
            c90 = Fmadd(ai, b0, c90); c91 = Fmadd(ai, b1, c91);
            ai = Vector512.Create(a[10]);
            ca0 = Fmadd(ai, b0, ca0); ca1 = Fmadd(ai, b1, ca1);
            ai = Vector512.Create(a[11]);
            cb0 = Fmadd(ai, b0, cb0); cb1 = Fmadd(ai, b1, cb1);
            b0 = Vector512.Load(b + 2 * w);
            b1 = Vector512.Load(b + 3 * w);
            ai = Vector512.Create(a[12]);
            c00 = Fmadd(ai, b0, c00); c01 = Fmadd(ai, b1, c01);
            ai = Vector512.Create(a[13]);
            c10 = Fmadd(ai, b0, c10); c11 = Fmadd(ai, b1, c11);
            ai = Vector512.Create(a[14]);
            c20 = Fmadd(ai, b0, c20); c21 = Fmadd(ai, b1, c21);
            ai = Vector512.Create(a[15]);
            c30 = Fmadd(ai, b0, c30); c31 = Fmadd(ai, b1, c31);
            ai = Vector512.Create(a[16]);
            c40 = Fmadd(ai, b0, c40); c41 = Fmadd(ai, b1, c41);
            ai = Vector512.Create(a[17]);
            c50 = Fmadd(ai, b0, c50); c51 = Fmadd(ai, b1, c51);
            ai = Vector512.Create(a[18]);
            c60 = Fmadd(ai, b0, c60); c61 = Fmadd(ai, b1, c61);
            ai = Vector512.Create(a[19]);
            c70 = Fmadd(ai, b0, c70); c71 = Fmadd(ai, b1, c71);
            ai = Vector512.Create(a[20]);
            c80 = Fmadd(ai, b0, c80); c81 = Fmadd(ai, b1, c81);
            ai = Vector512.Create(a[21]);
            c90 = Fmadd(ai, b0, c90); c91 = Fmadd(ai, b1, c91);
            ai = Vector512.Create(a[22]);
            ca0 = Fmadd(ai, b0, ca0); ca1 = Fmadd(ai, b1, ca1);
            ai = Vector512.Create(a[23]);
            cb0 = Fmadd(ai, b0, cb0); cb1 = Fmadd(ai, b1, cb1);
            a += 24;
            b += 4 * w;
        }
        for (; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + w);
            var ai = Vector512.Create(a[0]);
            c00 = Fmadd(ai, b0, c00); c01 = Fmadd(ai, b1, c01);
            ai = Vector512.Create(a[1]);
            c10 = Fmadd(ai, b0, c10); c11 = Fmadd(ai, b1, c11);
            ai = Vector512.Create(a[2]);
            c20 = Fmadd(ai, b0, c20); c21 = Fmadd(ai, b1, c21);
            ai = Vector512.Create(a[3]);
            c30 = Fmadd(ai, b0, c30); c31 = Fmadd(ai, b1, c31);
            ai = Vector512.Create(a[4]);
            c40 = Fmadd(ai, b0, c40); c41 = Fmadd(ai, b1, c41);
            ai = Vector512.Create(a[5]);
            c50 = Fmadd(ai, b0, c50); c51 = Fmadd(ai, b1, c51);
            ai = Vector512.Create(a[6]);
            c60 = Fmadd(ai, b0, c60); c61 = Fmadd(ai, b1, c61);
            ai = Vector512.Create(a[7]);
            c70 = Fmadd(ai, b0, c70); c71 = Fmadd(ai, b1, c71);
            ai = Vector512.Create(a[8]);
            c80 = Fmadd(ai, b0, c80); c81 = Fmadd(ai, b1, c81);
            ai = Vector512.Create(a[9]);
            c90 = Fmadd(ai, b0, c90); c91 = Fmadd(ai, b1, c91);
            ai = Vector512.Create(a[10]);
            ca0 = Fmadd(ai, b0, ca0); ca1 = Fmadd(ai, b1, ca1);
            ai = Vector512.Create(a[11]);
            cb0 = Fmadd(ai, b0, cb0); cb1 = Fmadd(ai, b1, cb1);
            a += 12;
            b += 2 * w;
        }
        var va = Vector512.Create(alpha);
        var vb = Vector512.Create(beta);
        Store512(c, c00, c01, va, vb, ow); c += ldc;
        Store512(c, c10, c11, va, vb, ow); c += ldc;
        Store512(c, c20, c21, va, vb, ow); c += ldc;
        Store512(c, c30, c31, va, vb, ow); c += ldc;
        Store512(c, c40, c41, va, vb, ow); c += ldc;
        Store512(c, c50, c51, va, vb, ow); c += ldc;
        Store512(c, c60, c61, va, vb, ow); c += ldc;
        Store512(c, c70, c71, va, vb, ow); c += ldc;
        Store512(c, c80, c81, va, vb, ow); c += ldc;
        Store512(c, c90, c91, va, vb, ow); c += ldc;
        Store512(c, ca0, ca1, va, vb, ow); c += ldc;
        Store512(c, cb0, cb1, va, vb, ow);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Transpose8x8(float* r, long ld, float* o, int ldo)
    {
        var r0 = Avx.LoadVector256(r);
        var r1 = Avx.LoadVector256(r + ld);
        var r2 = Avx.LoadVector256(r + 2 * ld);
        var r3 = Avx.LoadVector256(r + 3 * ld);
        var r4 = Avx.LoadVector256(r + 4 * ld);
        var r5 = Avx.LoadVector256(r + 5 * ld);
        var r6 = Avx.LoadVector256(r + 6 * ld);
        var r7 = Avx.LoadVector256(r + 7 * ld);
        var t0 = Avx.UnpackLow(r0, r1);
        var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3);
        var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5);
        var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7);
        var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44);
        var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44);
        var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44);
        var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44);
        var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(o, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(o + ldo, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(o + 2 * ldo, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(o + 3 * ldo, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(o + 4 * ldo, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(o + 5 * ldo, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(o + 6 * ldo, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(o + 7 * ldo, Avx.Permute2x128(u3, u7, 0x31));
    }
}
