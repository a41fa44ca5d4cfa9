using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GraphDl.Devices.Cpu;

/// <summary>Packing of the A and B operands into the micro-kernel's panel layouts (see <see cref="GemmCore{T}"/>).</summary>
internal static unsafe partial class GemmCore<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    static void PackBPanel(void* s, int jp)
    {
        var x = (Ctx*)s;
        int nr = NR;
        int kc = x->Kc;
        int j = x->Jc + jp * nr;
        int w = Math.Min(nr, x->Jc + x->Nc - j);
        T* dst = x->Bp + (long)jp * nr * kc;
        long ldb = x->Ldb;
        if (!x->TransB)
        {
            T* src = x->B + x->Pc * ldb + j;
            if (w == nr)
            {
                uint bytes = (uint)(nr * sizeof(T));
                for (int p = 0; p < kc; p++)
                    Unsafe.CopyBlockUnaligned(dst + p * nr, src + p * ldb, bytes);
            }
            else
            {
                // A narrow last panel (or a narrow matrix): block copy of the w columns, vector clear of the padding.
                uint bytes = (uint)(w * sizeof(T)), pad = (uint)((nr - w) * sizeof(T));
                for (int p = 0; p < kc; p++)
                {
                    T* d = dst + p * nr;
                    Unsafe.CopyBlockUnaligned(d, src + p * ldb, bytes);
                    Unsafe.InitBlockUnaligned(d + w, 0, pad);
                }
            }
        }
        else
        {
            // op(B)[p, j] = B[j, p]: B stored [n, k].
            T* src = x->B + (long)j * ldb + x->Pc;
            if (w == nr && Avx.IsSupported && !ForceScalar)
            {
                PackBTransAvx(src, ldb, dst, nr, kc);
                return;
            }
            int jj = 0;
            if (typeof(T) == typeof(float) && Avx.IsSupported && !ForceScalar && kc >= 8)
            {
                // A narrow panel: whole groups of 8 columns by in-register transposes, the rest below.
                for (; jj + 8 <= w; jj += 8)
                {
                    float* sp = (float*)(src + jj * ldb), d = (float*)(dst + jj);
                    int p = 0;
                    for (; p + 8 <= kc; p += 8) Transpose8x8(sp + p, ldb, d + (long)p * nr, nr);
                    for (; p < kc; p++)
                        for (int c = 0; c < 8; c++) d[(long)p * nr + c] = sp[c * ldb + p];
                }
            }
            for (; jj < w; jj++)
            {
                T* sr = src + jj * ldb;
                T* d = dst + jj;
                for (int p = 0; p < kc; p++) d[p * nr] = sr[p];
            }
            for (; jj < nr; jj++)
            {
                T* d = dst + jj;
                for (int p = 0; p < kc; p++) d[p * nr] = T.Zero;
            }
        }
    }

    /// <summary>Packs a full transposed-B panel with in-register 8x8 (float) / 4x4 (double) transposes.</summary>
    static void PackBTransAvx(T* src, long ldb, T* dst, int nr, int kc)
    {
        if (typeof(T) == typeof(float))
        {
            float* s = (float*)src;
            float* d = (float*)dst;
            int p = 0;
            for (; p + 8 <= kc; p += 8)
            {
                for (int jj = 0; jj < nr; jj += 8)
                {
                    float* r = s + jj * ldb + p;
                    Transpose8x8(r, ldb, d + (long)p * nr + jj, nr);
                }
            }
            for (; p < kc; p++)
                for (int jj = 0; jj < nr; jj++) d[p * nr + jj] = s[jj * ldb + p];
        }
        else if (typeof(T) == typeof(double))
        {
            double* s = (double*)src;
            double* d = (double*)dst;
            int p = 0;
            for (; p + 4 <= kc; p += 4)
            {
                for (int jj = 0; jj < nr; jj += 4)
                {
                    double* r = s + jj * ldb + p;
                    var r0 = Avx.LoadVector256(r);
                    var r1 = Avx.LoadVector256(r + ldb);
                    var r2 = Avx.LoadVector256(r + 2 * ldb);
                    var r3 = Avx.LoadVector256(r + 3 * ldb);
                    var t0 = Avx.UnpackLow(r0, r1);
                    var t1 = Avx.UnpackHigh(r0, r1);
                    var t2 = Avx.UnpackLow(r2, r3);
                    var t3 = Avx.UnpackHigh(r2, r3);
                    double* o = d + (long)p * nr + jj;
                    Avx.Store(o, Avx.Permute2x128(t0, t2, 0x20));
                    Avx.Store(o + nr, Avx.Permute2x128(t1, t3, 0x20));
                    Avx.Store(o + 2 * nr, Avx.Permute2x128(t0, t2, 0x31));
                    Avx.Store(o + 3 * nr, Avx.Permute2x128(t1, t3, 0x31));
                }
            }
            for (; p < kc; p++)
                for (int jj = 0; jj < nr; jj++) d[p * nr + jj] = s[jj * ldb + p];
        }
        else
        {
            for (int p = 0; p < kc; p++)
                for (int jj = 0; jj < nr; jj++) dst[p * nr + jj] = src[jj * ldb + p];
        }
    }

    /// <summary>
    /// Packs 6 full rows of non-transposed A (MR-interleaved) with in-register transposes. Each step
    /// stores 8 (float) / 4+4 (double) values per p, spilling 2 garbage values into the slot of p+1,
    /// which the next store overwrites; the final spill lands in buffer slack or the next panel
    /// (packed afterwards).
    /// </summary>
    static void PackARowsAvx(T* src, long lda, T* dst, int kc)
    {
        int p = 0;
        if (typeof(T) == typeof(float))
        {
            float* s = (float*)src;
            float* d = (float*)dst;
            for (; p + 8 <= kc; p += 8)
            {
                var r0 = Avx.LoadVector256(s + p);
                var r1 = Avx.LoadVector256(s + lda + p);
                var r2 = Avx.LoadVector256(s + 2 * lda + p);
                var r3 = Avx.LoadVector256(s + 3 * lda + p);
                var r4 = Avx.LoadVector256(s + 4 * lda + p);
                var r5 = Avx.LoadVector256(s + 5 * lda + p);
                var t0 = Avx.UnpackLow(r0, r1);
                var t1 = Avx.UnpackHigh(r0, r1);
                var t2 = Avx.UnpackLow(r2, r3);
                var t3 = Avx.UnpackHigh(r2, r3);
                var t4 = Avx.UnpackLow(r4, r5);
                var t5 = Avx.UnpackHigh(r4, r5);
                var t6 = t4; // rows 6,7: don't care
                var t7 = t5;
                var u0 = Avx.Shuffle(t0, t2, 0x44);
                var u1 = Avx.Shuffle(t0, t2, 0xEE);
                var u2 = Avx.Shuffle(t1, t3, 0x44);
                var u3 = Avx.Shuffle(t1, t3, 0xEE);
                var u4 = Avx.Shuffle(t4, t6, 0x44);
                var u5 = Avx.Shuffle(t4, t6, 0xEE);
                var u6 = Avx.Shuffle(t5, t7, 0x44);
                var u7 = Avx.Shuffle(t5, t7, 0xEE);
                float* o = d + p * MR;
                Avx.Store(o, Avx.Permute2x128(u0, u4, 0x20));
                Avx.Store(o + MR, Avx.Permute2x128(u1, u5, 0x20));
                Avx.Store(o + 2 * MR, Avx.Permute2x128(u2, u6, 0x20));
                Avx.Store(o + 3 * MR, Avx.Permute2x128(u3, u7, 0x20));
                Avx.Store(o + 4 * MR, Avx.Permute2x128(u0, u4, 0x31));
                Avx.Store(o + 5 * MR, Avx.Permute2x128(u1, u5, 0x31));
                Avx.Store(o + 6 * MR, Avx.Permute2x128(u2, u6, 0x31));
                Avx.Store(o + 7 * MR, Avx.Permute2x128(u3, u7, 0x31));
            }
        }
        else if (typeof(T) == typeof(double))
        {
            double* s = (double*)src;
            double* d = (double*)dst;
            for (; p + 4 <= kc; p += 4)
            {
                var r0 = Avx.LoadVector256(s + p);
                var r1 = Avx.LoadVector256(s + lda + p);
                var r2 = Avx.LoadVector256(s + 2 * lda + p);
                var r3 = Avx.LoadVector256(s + 3 * lda + p);
                var r4 = Avx.LoadVector256(s + 4 * lda + p);
                var r5 = Avx.LoadVector256(s + 5 * lda + p);
                var t0 = Avx.UnpackLow(r0, r1);
                var t1 = Avx.UnpackHigh(r0, r1);
                var t2 = Avx.UnpackLow(r2, r3);
                var t3 = Avx.UnpackHigh(r2, r3);
                var t4 = Avx.UnpackLow(r4, r5);
                var t5 = Avx.UnpackHigh(r4, r5);
                double* o = d + p * MR;
                // Per p: rows 0-3 at +0, rows 4-5 (+2 garbage) at +4, in ascending p order.
                Avx.Store(o, Avx.Permute2x128(t0, t2, 0x20));
                Avx.Store(o + 4, Avx.Permute2x128(t4, t4, 0x20));
                Avx.Store(o + MR, Avx.Permute2x128(t1, t3, 0x20));
                Avx.Store(o + MR + 4, Avx.Permute2x128(t5, t5, 0x20));
                Avx.Store(o + 2 * MR, Avx.Permute2x128(t0, t2, 0x31));
                Avx.Store(o + 2 * MR + 4, Avx.Permute2x128(t4, t4, 0x31));
                Avx.Store(o + 3 * MR, Avx.Permute2x128(t1, t3, 0x31));
                Avx.Store(o + 3 * MR + 4, Avx.Permute2x128(t5, t5, 0x31));
            }
        }
        for (; p < kc; p++)
            for (int r = 0; r < MR; r++) dst[p * MR + r] = src[r * lda + p];
    }

    /// <summary>Packs 12 full rows of non-transposed float A (the AVX-512 panel height): rows 0-7 by 8×8 transposes,
    /// rows 8-11 by 4×8 transposes stored as 4-float halves; nothing is written outside the panel.</summary>
    static void PackARows12Avx(float* s, long lda, float* d, int kc)
    {
        int p = 0;
        for (; p + 8 <= kc; p += 8)
        {
            float* o = d + p * 12;
            Transpose8x8(s + p, lda, o, 12);
            float* r = s + 8 * lda + p;
            var r0 = Avx.LoadVector256(r);
            var r1 = Avx.LoadVector256(r + lda);
            var r2 = Avx.LoadVector256(r + 2 * lda);
            var r3 = Avx.LoadVector256(r + 3 * lda);
            var t0 = Avx.UnpackLow(r0, r1);
            var t1 = Avx.UnpackHigh(r0, r1);
            var t2 = Avx.UnpackLow(r2, r3);
            var t3 = Avx.UnpackHigh(r2, r3);
            var u0 = Avx.Shuffle(t0, t2, 0x44); // k = p, p+4
            var u1 = Avx.Shuffle(t0, t2, 0xEE); // k = p+1, p+5
            var u2 = Avx.Shuffle(t1, t3, 0x44); // k = p+2, p+6
            var u3 = Avx.Shuffle(t1, t3, 0xEE); // k = p+3, p+7
            o += 8;
            Sse.Store(o, u0.GetLower());
            Sse.Store(o + 12, u1.GetLower());
            Sse.Store(o + 24, u2.GetLower());
            Sse.Store(o + 36, u3.GetLower());
            Sse.Store(o + 48, u0.GetUpper());
            Sse.Store(o + 60, u1.GetUpper());
            Sse.Store(o + 72, u2.GetUpper());
            Sse.Store(o + 84, u3.GetUpper());
        }
        for (; p < kc; p++)
            for (int r = 0; r < 12; r++) d[p * 12 + r] = s[r * lda + p];
    }

    static void PackA(Ctx* x, T* dst, int i0, int mc)
    {
        int kc = x->Kc;
        long lda = x->Lda;
        for (int ir = 0; ir < mc; ir += MR)
        {
            int h = Math.Min(MR, mc - ir);
            T* d = dst + (long)ir * kc;
            if (!x->TransA)
            {
                if (h == MR && Avx.IsSupported && !ForceScalar)
                {
                    if (MR == 12) PackARows12Avx((float*)(x->A + (i0 + ir) * lda + x->Pc), lda, (float*)d, kc);
                    else PackARowsAvx(x->A + (i0 + ir) * lda + x->Pc, lda, d, kc);
                    continue;
                }
                // A partial panel (the last h < MR rows): zero it whole, then place the h rows.
                new Span<T>(d, MR * kc).Clear();
                for (int r = 0; r < h; r++)
                {
                    T* sr = x->A + (i0 + ir + r) * lda + x->Pc;
                    for (int p = 0; p < kc; p++) d[p * MR + r] = sr[p];
                }
            }
            else
            {
                // op(A)[i, p] = A[p, i]: A stored [k, m].
                T* src = x->A + x->Pc * lda + i0 + ir;
                if (h == MR)
                {
                    uint bytes = (uint)(MR * sizeof(T));
                    for (int p = 0; p < kc; p++) Unsafe.CopyBlockUnaligned(d + p * MR, src + p * lda, bytes);
                    continue;
                }
                for (int p = 0; p < kc; p++)
                {
                    T* sr = src + p * lda;
                    T* dd = d + p * MR;
                    int r = 0;
                    for (; r < h; r++) dd[r] = sr[r];
                    for (; r < MR; r++) dd[r] = T.Zero;
                }
            }
        }
    }
}
