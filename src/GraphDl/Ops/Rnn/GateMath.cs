using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace GraphDl.Ops
{
    /// <summary>
    /// Sigmoid and tanh for the fused RNN kernels' gates. Float64 uses <see cref="TensorPrimitives"/> (as the element-wise
    /// ops do). Float32 uses a single-precision exponential (Cephes' expf: n·ln 2 split in two constants, a degree-5
    /// polynomial, 2ⁿ from the exponent bits; about 1 ulp), because TensorPrimitives evaluates a float exponential in double
    /// precision, which made the gates a tenth of an LSTM training step. tanh(x) = 2·σ(2x) − 1, whose absolute error stays
    /// near 1e-7. Every element goes through the same arithmetic whatever its position in the span (vector lanes and the
    /// scalar tail agree), so results do not depend on how work is split.
    /// </summary>
    internal static class GateMath
    {
        const float Log2E = 1.44269504088896341f, C1 = 0.693359375f, C2 = -2.12194440e-4f;
        const float P0 = 1.9875691500e-4f, P1 = 1.3981999507e-3f, P2 = 8.3334519073e-3f, P3 = 4.1665795894e-2f, P4 = 1.6666665459e-1f, P5 = 5.0000001201e-1f;
        const float Hi = 88.3762626647949f, Lo = -87.3365478515625f;

        /// <summary>y = σ(x).</summary>
        public static void Sigmoid<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) SigmoidF(Cast<T, float>(x), CastW<T, float>(y), 1f);
            else TensorPrimitives.Sigmoid(x, y);
        }

        /// <summary>y = tanh(x).</summary>
        public static void Tanh<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)) SigmoidF(Cast<T, float>(x), CastW<T, float>(y), 2f);
            else TensorPrimitives.Tanh(x, y);
        }

        static ReadOnlySpan<TTo> Cast<TFrom, TTo>(ReadOnlySpan<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
            System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);

        static Span<TTo> CastW<TFrom, TTo>(Span<TFrom> s) where TFrom : unmanaged where TTo : unmanaged =>
            System.Runtime.InteropServices.MemoryMarshal.Cast<TFrom, TTo>(s);

        /// <summary>scale 1: y = σ(x); scale 2: y = 2σ(2x) − 1 = tanh(x).</summary>
        static void SigmoidF(ReadOnlySpan<float> x, Span<float> y, float scale)
        {
            if (y.Length < x.Length) throw new ArgumentException("destination too short", nameof(y));
            int i = 0, n = x.Length;
            ref float xr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float yr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
            if (Vector512.IsHardwareAccelerated)
                for (; i <= n - Vector512<float>.Count; i += Vector512<float>.Count)
                    Vector512.StoreUnsafe(Sig(Vector512.LoadUnsafe(ref xr, (nuint)i), scale), ref yr, (nuint)i);
            else if (Vector256.IsHardwareAccelerated)
                for (; i <= n - Vector256<float>.Count; i += Vector256<float>.Count)
                    Vector256.StoreUnsafe(Sig(Vector256.LoadUnsafe(ref xr, (nuint)i), scale), ref yr, (nuint)i);
            for (; i < n; i++) y[i] = Sig(x[i], scale);
        }

        /// <summary>y = softplus(x) = max(x, 0) + log1p(e^-|x|) in float32, in one pass: the exponential above and Cephes'
        /// single-precision logarithm (about 1 ulp) of w = 1 + u, with log1p(u) = log(w)·u/(w − 1) correcting the rounding
        /// of w (exactly u where w rounds to 1). The tail runs through the same vector code on a padded copy, so every
        /// element gets the same arithmetic. Returns false where there is no 256/512-bit SIMD (the caller's generic path).</summary>
        public static bool SoftplusF(ReadOnlySpan<float> x, Span<float> y)
        {
            if (y.Length < x.Length) throw new ArgumentException("destination too short", nameof(y));
            int i = 0, n = x.Length;
            ref float xr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(x);
            ref float yr = ref System.Runtime.InteropServices.MemoryMarshal.GetReference(y);
            if (Vector512.IsHardwareAccelerated)
            {
                for (; i <= n - 16; i += 16)
                    Vector512.StoreUnsafe(Softplus(Vector512.LoadUnsafe(ref xr, (nuint)i)), ref yr, (nuint)i);
                if (i < n)
                {
                    Span<float> t = stackalloc float[16];
                    t.Clear();
                    x[i..].CopyTo(t);
                    Softplus(Vector512.Create((ReadOnlySpan<float>)t)).CopyTo(t);
                    t[..(n - i)].CopyTo(y[i..]);
                }
                return true;
            }
            if (Vector256.IsHardwareAccelerated)
            {
                for (; i <= n - 8; i += 8)
                    Vector256.StoreUnsafe(Softplus(Vector256.LoadUnsafe(ref xr, (nuint)i)), ref yr, (nuint)i);
                if (i < n)
                {
                    Span<float> t = stackalloc float[8];
                    t.Clear();
                    x[i..].CopyTo(t);
                    Softplus(Vector256.Create((ReadOnlySpan<float>)t)).CopyTo(t);
                    t[..(n - i)].CopyTo(y[i..]);
                }
                return true;
            }
            return false;
        }

        const float Sqrt2 = 1.41421356237f;
        const float L0 = 7.0376836292e-2f, L1 = -1.1514610310e-1f, L2 = 1.1676998740e-1f, L3 = -1.2420140846e-1f, L4 = 1.4249322787e-1f,
            L5 = -1.6668057665e-1f, L6 = 2.0000714765e-1f, L7 = -2.4999993993e-1f, L8 = 3.3333331174e-1f;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Softplus(Vector512<float> x)
        {
            // u = e^-|x| in (0, 1], flushed to 0 below the normal range (then log1p(u) = u = 0).
            var v = Vector512.Max(-Vector512.Abs(x), Vector512.Create(Lo));
            var k = Vector512.Round(v * Log2E);
            var r = v - k * C1 - k * C2;
            var p = ((((r * P0 + Vector512.Create(P1)) * r + Vector512.Create(P2)) * r + Vector512.Create(P3)) * r + Vector512.Create(P4)) * r + Vector512.Create(P5);
            p = p * (r * r) + r + Vector512<float>.One;
            var u = p * ((Vector512.ConvertToInt32(k) + Vector512.Create(127)) << 23).AsSingle();
            u = Vector512.ConditionalSelect(Vector512.LessThan(-Vector512.Abs(x), Vector512.Create(Lo)), Vector512<float>.Zero, u); // e^-|x| below the normal range: 0
            // log(w), w = 1 + u in [1, 2]: w = 2^e·m with m in [√½, √2): e = 0, z = w − 1, or e = 1, z = w/2 − 1.
            var w = Vector512<float>.One + u;
            var d = w - Vector512<float>.One;
            var big = Vector512.GreaterThanOrEqual(w, Vector512.Create(Sqrt2));
            var z = Vector512.ConditionalSelect(big, w * 0.5f - Vector512<float>.One, d);
            var e = Vector512.ConditionalSelect(big, Vector512<float>.One, Vector512<float>.Zero);
            var zz = z * z;
            var q = ((((((((z * L0 + Vector512.Create(L1)) * z + Vector512.Create(L2)) * z + Vector512.Create(L3)) * z + Vector512.Create(L4)) * z
                + Vector512.Create(L5)) * z + Vector512.Create(L6)) * z + Vector512.Create(L7)) * z + Vector512.Create(L8)) * z * zz;
            q += e * C2;
            q -= zz * 0.5f;
            var log = z + q + e * C1;
            var l1p = Vector512.ConditionalSelect(Vector512.Equals(d, Vector512<float>.Zero), u, log * u / d);
            var y = Vector512.Max(x, Vector512<float>.Zero) + l1p;
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x); // NaN stays NaN
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<float> Softplus(Vector256<float> x)
        {
            var v = Vector256.Max(-Vector256.Abs(x), Vector256.Create(Lo));
            var k = Vector256.Round(v * Log2E);
            var r = v - k * C1 - k * C2;
            var p = ((((r * P0 + Vector256.Create(P1)) * r + Vector256.Create(P2)) * r + Vector256.Create(P3)) * r + Vector256.Create(P4)) * r + Vector256.Create(P5);
            p = p * (r * r) + r + Vector256<float>.One;
            var u = p * ((Vector256.ConvertToInt32(k) + Vector256.Create(127)) << 23).AsSingle();
            u = Vector256.ConditionalSelect(Vector256.LessThan(-Vector256.Abs(x), Vector256.Create(Lo)), Vector256<float>.Zero, u); // e^-|x| below the normal range: 0
            var w = Vector256<float>.One + u;
            var d = w - Vector256<float>.One;
            var big = Vector256.GreaterThanOrEqual(w, Vector256.Create(Sqrt2));
            var z = Vector256.ConditionalSelect(big, w * 0.5f - Vector256<float>.One, d);
            var e = Vector256.ConditionalSelect(big, Vector256<float>.One, Vector256<float>.Zero);
            var zz = z * z;
            var q = ((((((((z * L0 + Vector256.Create(L1)) * z + Vector256.Create(L2)) * z + Vector256.Create(L3)) * z + Vector256.Create(L4)) * z
                + Vector256.Create(L5)) * z + Vector256.Create(L6)) * z + Vector256.Create(L7)) * z + Vector256.Create(L8)) * z * zz;
            q += e * C2;
            q -= zz * 0.5f;
            var log = z + q + e * C1;
            var l1p = Vector256.ConditionalSelect(Vector256.Equals(d, Vector256<float>.Zero), u, log * u / d);
            var y = Vector256.Max(x, Vector256<float>.Zero) + l1p;
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x);
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector512<float> Sig(Vector512<float> x, float scale)
        {
            // e = exp(-scale·x), clamped to the float range.
            var v = Vector512.Min(Vector512.Max(x * -scale, Vector512.Create(Lo)), Vector512.Create(Hi));
            var k = Vector512.Round(v * Log2E);
            var r = v - k * C1 - k * C2;
            var p = ((((r * P0 + Vector512.Create(P1)) * r + Vector512.Create(P2)) * r + Vector512.Create(P3)) * r + Vector512.Create(P4)) * r + Vector512.Create(P5);
            p = p * (r * r) + r + Vector512<float>.One;
            var two = (Vector512.ConvertToInt32(k) + Vector512.Create(127)) << 23;
            var e = p * two.AsSingle();
            var s = Vector512<float>.One / (Vector512<float>.One + e);
            var y = scale == 1f ? s : s * 2f - Vector512<float>.One;
            return Vector512.ConditionalSelect(Vector512.Equals(x, x), y, x); // NaN stays NaN
        }

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        static Vector256<float> Sig(Vector256<float> x, float scale)
        {
            var v = Vector256.Min(Vector256.Max(x * -scale, Vector256.Create(Lo)), Vector256.Create(Hi));
            var k = Vector256.Round(v * Log2E);
            var r = v - k * C1 - k * C2;
            var p = ((((r * P0 + Vector256.Create(P1)) * r + Vector256.Create(P2)) * r + Vector256.Create(P3)) * r + Vector256.Create(P4)) * r + Vector256.Create(P5);
            p = p * (r * r) + r + Vector256<float>.One;
            var two = (Vector256.ConvertToInt32(k) + Vector256.Create(127)) << 23;
            var e = p * two.AsSingle();
            var s = Vector256<float>.One / (Vector256<float>.One + e);
            var y = scale == 1f ? s : s * 2f - Vector256<float>.One;
            return Vector256.ConditionalSelect(Vector256.Equals(x, x), y, x); // NaN stays NaN
        }

        /// <summary>One LSTM row update in float32, in one pass: pre-activations <paramref name="s"/> [i | j | f | o] (uw each)
        /// plus the input projections at <paramref name="a"/> (gate g at a + g·H) plus the bias (gate g at bias + g·H), the
        /// gates written back to a, the cell state
        /// <paramref name="c"/> updated in place and copied to <paramref name="cs"/>, the output to <paramref name="hn"/> and
        /// <paramref name="y"/>. Same arithmetic as the span-by-span path.</summary>
        public static unsafe void LstmRowF(float* s, float* a, float* bias, int h, int uw, float fb, float* c, float* cs, float* hn, float* y, bool clip, float cl)
        {
            int k = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; k <= uw - 16; k += 16)
                {
                    var i = Sig(Vector512.Load(s + k) + Vector512.Load(a + k) + Vector512.Load(bias + k), 1f);
                    var j = Sig(Vector512.Load(s + uw + k) + Vector512.Load(a + h + k) + Vector512.Load(bias + h + k), 2f);
                    var f = Sig(Vector512.Load(s + 2 * uw + k) + Vector512.Load(a + 2 * h + k) + Vector512.Load(bias + 2 * h + k) + Vector512.Create(fb), 1f);
                    var o = Sig(Vector512.Load(s + 3 * uw + k) + Vector512.Load(a + 3 * h + k) + Vector512.Load(bias + 3 * h + k), 1f);
                    i.Store(a + k); j.Store(a + h + k); f.Store(a + 2 * h + k); o.Store(a + 3 * h + k);
                    var cc = f * Vector512.Load(c + k) + i * j;
                    if (clip) cc = Vector512.Min(Vector512.Max(cc, Vector512.Create(-cl)), Vector512.Create(cl));
                    cc.Store(c + k); cc.Store(cs + k);
                    var hh = o * Sig(cc, 2f);
                    hh.Store(hn + k); hh.Store(y + k);
                }
            else if (Vector256.IsHardwareAccelerated)
                for (; k <= uw - 8; k += 8)
                {
                    var i = Sig(Vector256.Load(s + k) + Vector256.Load(a + k) + Vector256.Load(bias + k), 1f);
                    var j = Sig(Vector256.Load(s + uw + k) + Vector256.Load(a + h + k) + Vector256.Load(bias + h + k), 2f);
                    var f = Sig(Vector256.Load(s + 2 * uw + k) + Vector256.Load(a + 2 * h + k) + Vector256.Load(bias + 2 * h + k) + Vector256.Create(fb), 1f);
                    var o = Sig(Vector256.Load(s + 3 * uw + k) + Vector256.Load(a + 3 * h + k) + Vector256.Load(bias + 3 * h + k), 1f);
                    i.Store(a + k); j.Store(a + h + k); f.Store(a + 2 * h + k); o.Store(a + 3 * h + k);
                    var cc = f * Vector256.Load(c + k) + i * j;
                    if (clip) cc = Vector256.Min(Vector256.Max(cc, Vector256.Create(-cl)), Vector256.Create(cl));
                    cc.Store(c + k); cc.Store(cs + k);
                    var hh = o * Sig(cc, 2f);
                    hh.Store(hn + k); hh.Store(y + k);
                }
            for (; k < uw; k++)
            {
                float i = Sig(s[k] + a[k] + bias[k], 1f), j = Sig(s[uw + k] + a[h + k] + bias[h + k], 2f);
                float f = Sig(s[2 * uw + k] + a[2 * h + k] + bias[2 * h + k] + fb, 1f), o = Sig(s[3 * uw + k] + a[3 * h + k] + bias[3 * h + k], 1f);
                a[k] = i; a[h + k] = j; a[2 * h + k] = f; a[3 * h + k] = o;
                float cc = f * c[k] + i * j;
                if (clip) cc = MathF.Min(MathF.Max(cc, -cl), cl);
                c[k] = cs[k] = cc;
                y[k] = hn[k] = o * Sig(cc, 2f);
            }
        }

        /// <summary>One LSTM row of the backward step in float32 without cell clipping, in one pass: from the gates at
        /// <paramref name="ar"/> (gate g at ar + g·H), the cell state <paramref name="cs"/> and the previous one
        /// <paramref name="cp"/>, the incoming dy, dh and dc; writes the gate gradients to <paramref name="da"/>, dc ← dct·f and
        /// dh ← 0 (the recurrent product adds the next one). Same arithmetic as the generic path.</summary>
        public static unsafe void LstmBackRowF(float* ar, float* cs, float* cp, float* dy, float* dh, float* dc, float* da, int h, int uw)
        {
            int k = 0;
            if (Vector512.IsHardwareAccelerated)
                for (; k <= uw - 16; k += 16)
                {
                    var i = Vector512.Load(ar + k); var j = Vector512.Load(ar + h + k);
                    var f = Vector512.Load(ar + 2 * h + k); var o = Vector512.Load(ar + 3 * h + k);
                    var th = Sig(Vector512.Load(cs + k), 2f);
                    var one = Vector512<float>.One;
                    var dht = Vector512.Load(dh + k) + Vector512.Load(dy + k);
                    var dct = Vector512.Load(dc + k) + dht * o * (one - th * th);
                    (dct * j * i * (one - i)).Store(da + k);
                    (dct * i * (one - j * j)).Store(da + h + k);
                    (dct * Vector512.Load(cp + k) * f * (one - f)).Store(da + 2 * h + k);
                    (dht * th * o * (one - o)).Store(da + 3 * h + k);
                    (dct * f).Store(dc + k);
                    Vector512<float>.Zero.Store(dh + k);
                }
            else if (Vector256.IsHardwareAccelerated)
                for (; k <= uw - 8; k += 8)
                {
                    var i = Vector256.Load(ar + k); var j = Vector256.Load(ar + h + k);
                    var f = Vector256.Load(ar + 2 * h + k); var o = Vector256.Load(ar + 3 * h + k);
                    var th = Sig(Vector256.Load(cs + k), 2f);
                    var one = Vector256<float>.One;
                    var dht = Vector256.Load(dh + k) + Vector256.Load(dy + k);
                    var dct = Vector256.Load(dc + k) + dht * o * (one - th * th);
                    (dct * j * i * (one - i)).Store(da + k);
                    (dct * i * (one - j * j)).Store(da + h + k);
                    (dct * Vector256.Load(cp + k) * f * (one - f)).Store(da + 2 * h + k);
                    (dht * th * o * (one - o)).Store(da + 3 * h + k);
                    (dct * f).Store(dc + k);
                    Vector256<float>.Zero.Store(dh + k);
                }
            for (; k < uw; k++)
            {
                float i = ar[k], j = ar[h + k], f = ar[2 * h + k], o = ar[3 * h + k];
                float th = Sig(cs[k], 2f);
                float dht = dh[k] + dy[k];
                float dct = dc[k] + dht * o * (1f - th * th);
                da[k] = dct * j * i * (1f - i);
                da[h + k] = dct * i * (1f - j * j);
                da[2 * h + k] = dct * cp[k] * f * (1f - f);
                da[3 * h + k] = dht * th * o * (1f - o);
                dc[k] = dct * f;
                dh[k] = 0f;
            }
        }

        static float Sig(float x, float scale)
        {
            if (float.IsNaN(x)) return x;
            float v = MathF.Min(MathF.Max(x * -scale, Lo), Hi);
            float k = MathF.Round(v * Log2E);
            float r = v - k * C1 - k * C2;
            float p = ((((P0 * r + P1) * r + P2) * r + P3) * r + P4) * r + P5;
            p = p * (r * r) + r + 1f;
            float e = p * BitConverter.Int32BitsToSingle(((int)k + 127) << 23);
            float s = 1f / (1f + e);
            return scale == 1f ? s : s * 2f - 1f;
        }
    }
}
