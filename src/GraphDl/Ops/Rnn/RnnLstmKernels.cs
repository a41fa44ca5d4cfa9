using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Devices.Cpu;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>The fused LSTM layer: forward and backward over all time steps, each step split into fixed unit blocks.</summary>
    static unsafe partial class Rnn
    {
        static long PackedSize<T>(int k, int n) where T : unmanaged =>
            typeof(T) == typeof(float) ? GemmCore<float>.PackedBSize(k, n) : GemmCore<double>.PackedBSize(k, n);

        /// <summary>Packs op(B) [k, n] once for <see cref="MmPacked"/> (a recurrent kernel used at every step).</summary>
        static void PackB<T>(bool tb, int k, int n, T* b, int ldb, T* dst) where T : unmanaged
        {
            if (typeof(T) == typeof(float)) GemmCore<float>.PackB(tb, k, n, (float*)b, ldb, (float*)dst);
            else GemmCore<double>.PackB(tb, k, n, (double*)b, ldb, (double*)dst);
        }

        /// <summary>C = A·op(B)[:, col0 : col0+n] (+ C when <paramref name="acc"/>) on the calling thread, B packed by <see cref="PackB"/>.</summary>
        static void MmPacked<T>(int m, int n, int k, T* a, int lda, T* packed, int packedN, int col0, bool acc, T* c, int ldc) where T : unmanaged
        {
            if (typeof(T) == typeof(float))
                GemmCore<float>.RunPackedB(false, m, n, k, 1f, (float*)a, lda, (float*)packed, packedN, col0, acc ? 1f : 0f, (float*)c, ldc);
            else
                GemmCore<double>.RunPackedB(false, m, n, k, 1.0, (double*)a, lda, (double*)packed, packedN, col0, acc ? 1.0 : 0.0, (double*)c, ldc);
        }


        /// <summary>Hidden units per parallel item of the LSTM step loops. Fixed (not derived from the thread count) so the
        /// arithmetic of every element, and hence the result, is the same for any number of threads.</summary>
        const int Unit = 64;


        static int UnitItems(int h) => (h + Unit - 1) / Unit;

        /// <summary>One forward time step for the hidden units <c>[p·Unit, p·Unit+uw)</c>: the recurrent product for those
        /// units' four gate columns (one GEMM on the unit-blocked kernel copy), then the gates, cell and output, vectorized.</summary>
        struct LstmForwardStep<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
        {
            public int B, Steps, H, t;
            public T* Packed, Act, Bias, Y, Cs, HPrev, HNext, C, Scratch;
            public int* Lens;
            public T Fb, Cl;
            public bool Clip;

            public void Run(int p)
            {
                int u0 = p * Unit, uw = Math.Min(Unit, H - u0), w4 = 4 * uw, G = 4 * H;
                T* s = Scratch + (long)B * 4 * u0;
                MmPacked(B, w4, H, HPrev, H, Packed, G, 4 * u0, false, s, w4);
                for (int b = 0; b < B; b++)
                {
                    long so = ((long)b * Steps + t) * H + u0;
                    T* row = Act + ((long)b * Steps + t) * G + u0;
                    T* cst = C + (long)b * H + u0, hp = HPrev + (long)b * H + u0, hn = HNext + (long)b * H + u0;
                    if (t < Lens[b] && typeof(T) == typeof(float))
                        GateMath.LstmRowF((float*)(s + (long)b * w4), (float*)row, (float*)(Bias + u0), H, uw, float.CreateTruncating(Fb), (float*)cst,
                            (float*)(Cs + so), (float*)hn, (float*)(Y + so), Clip, float.CreateTruncating(Cl));
                    else if (t < Lens[b])
                    {
                        T* sr = s + (long)b * w4;
                        Span<T> si = new(sr, uw), sj = new(sr + uw, uw), sf = new(sr + 2 * uw, uw), sg = new(sr + 3 * uw, uw);
                        Span<T> gi = new(row, uw), gj = new(row + H, uw), gf = new(row + 2 * H, uw), go = new(row + 3 * H, uw);
                        Span<T> cc = new(cst, uw), hh = new(hn, uw);
                        TensorPrimitives.Add(si, gi, si);
                        TensorPrimitives.Add(sj, gj, sj);
                        TensorPrimitives.Add(sf, gf, sf);
                        TensorPrimitives.Add(sg, go, sg);
                        TensorPrimitives.Add(si, new ReadOnlySpan<T>(Bias + u0, uw), si);
                        TensorPrimitives.Add(sj, new ReadOnlySpan<T>(Bias + H + u0, uw), sj);
                        TensorPrimitives.Add(sf, new ReadOnlySpan<T>(Bias + 2 * H + u0, uw), sf);
                        TensorPrimitives.Add(sg, new ReadOnlySpan<T>(Bias + 3 * H + u0, uw), sg);
                        TensorPrimitives.Add(sf, Fb, sf);
                        GateMath.Sigmoid(si, gi);
                        GateMath.Tanh(sj, gj);
                        GateMath.Sigmoid(sf, gf);
                        GateMath.Sigmoid(sg, go);
                        TensorPrimitives.Multiply(gi, gj, si);
                        TensorPrimitives.MultiplyAdd(gf, cc, si, cc);
                        if (Clip)
                        {
                            TensorPrimitives.Max(cc, -Cl, cc);
                            TensorPrimitives.Min(cc, Cl, cc);
                        }
                        GateMath.Tanh(cc, si);
                        TensorPrimitives.Multiply(go, si, hh);
                        cc.CopyTo(new Span<T>(Cs + so, uw));
                        hh.CopyTo(new Span<T>(Y + so, uw));
                    }
                    else
                    {
                        for (int g = 0; g < 4; g++) new Span<T>(row + g * H, uw).Clear();
                        new Span<T>(Y + so, uw).Clear();
                        new ReadOnlySpan<T>(cst, uw).CopyTo(new Span<T>(Cs + so, uw));
                        new ReadOnlySpan<T>(hp, uw).CopyTo(new Span<T>(hn, uw));
                    }
                }
            }
        }

        /// <summary>One backward time step for the hidden units <c>[p·Unit, p·Unit+uw)</c>: adds step t+1's gate gradients
        /// times the recurrent kernel into those units' dh, then the gate gradients of step t for those units.</summary>
        struct LstmBackwardStep<T> : IParallelBody where T : unmanaged, IFloatingPointIeee754<T>
        {
            public int B, Steps, I, H, t;
            public T* PackedT, Da, Act, Cs, C0, Dy, Dh, Dc, Tmp;
            public int* Lens;
            public T Cl;
            public bool Clip;

            public void Run(int p)
            {
                int u0 = p * Unit, uw = Math.Min(Unit, H - u0), G = 4 * H;
                long ld = (long)Steps * G;
                if (t < Steps - 1)
                    MmPacked(B, uw, G, Da + (t + 1) * G, (int)ld, PackedT, H, u0, true, Dh + u0, H);
                T* tc = Tmp + (long)p * Unit;
                for (int b = 0; b < B; b++)
                {
                    T* da = Da + ((long)b * Steps + t) * G + u0;
                    if (t >= Lens[b])
                    {
                        for (int g = 0; g < 4; g++) new Span<T>(da + g * H, uw).Clear();
                        continue;
                    }
                    long so = ((long)b * Steps + t) * H + u0;
                    T* ar = Act + ((long)b * Steps + t) * G + u0;
                    T* csr = Cs + so, dyr = Dy + so, dhr = Dh + (long)b * H + u0, dcr = Dc + (long)b * H + u0;
                    T* cp = t == 0 ? C0 + (long)b * H + u0 : csr - H;
                    if (typeof(T) == typeof(float) && !Clip)
                    {
                        GateMath.LstmBackRowF((float*)ar, (float*)csr, (float*)cp, (float*)dyr, (float*)dhr, (float*)dcr, (float*)da, H, uw);
                        continue;
                    }
                    GateMath.Tanh(new ReadOnlySpan<T>(csr, uw), new Span<T>(tc, uw));
                    int k = 0;
                    if (!Clip && Vector.IsHardwareAccelerated)
                    {
                        var one = Vector<T>.One;
                        for (; k <= uw - Vector<T>.Count; k += Vector<T>.Count)
                        {
                            var i = Vector.Load(ar + k); var j = Vector.Load(ar + H + k);
                            var f = Vector.Load(ar + 2 * H + k); var o = Vector.Load(ar + 3 * H + k);
                            var th = Vector.Load(tc + k);
                            var dht = Vector.Load(dhr + k) + Vector.Load(dyr + k);
                            var dct = Vector.Load(dcr + k) + dht * o * (one - th * th);
                            Vector.Store(dct * j * i * (one - i), da + k);
                            Vector.Store(dct * i * (one - j * j), da + H + k);
                            Vector.Store(dct * Vector.Load(cp + k) * f * (one - f), da + 2 * H + k);
                            Vector.Store(dht * th * o * (one - o), da + 3 * H + k);
                            Vector.Store(dct * f, dcr + k);
                            Vector.Store(Vector<T>.Zero, dhr + k);
                        }
                    }
                    for (; k < uw; k++)
                    {
                        T i = ar[k], j = ar[H + k], f = ar[2 * H + k], o = ar[3 * H + k];
                        T th = tc[k];
                        T dht = dhr[k] + dyr[k];
                        T dct = dcr[k] + dht * o * (T.One - th * th);
                        if (Clip && T.Abs(csr[k]) >= Cl) dct = T.Zero;
                        da[k] = dct * j * i * (T.One - i);
                        da[H + k] = dct * i * (T.One - j * j);
                        da[2 * H + k] = dct * cp[k] * f * (T.One - f);
                        da[3 * H + k] = dht * th * o * (T.One - o);
                        dcr[k] = dct * f;
                        dhr[k] = T.Zero;
                    }
                }
            }
        }

        /// <summary>Checks that c0 (input 3) has h0's (input 2) dims.</summary>
        internal static void CheckC0(KernelContext c)
        {
            var c0 = c.Input(3);
            if (!c0.Dims.SequenceEqual(c.Input(2).Dims)) throw c.Error($"c0 {Shape.Format(c0.Dims)} and h0 {Shape.Format(c.Input(2).Dims)} differ");
        }

        internal static void LstmForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias
            var (B, T_, I, H) = Dims(c, 2, 4, 4);
            CheckC0(c);
            var c0 = c.Input(3);
            T fb = T.CreateChecked(c.Attrs.Float("forget_bias", 1.0));
            double clipD = c.Attrs.Float("cell_clip", 0);
            var lens = Lengths(c, c.Input(1), B, T_);
            int G = 4 * H;
            // Unit-blocked copy of the recurrent kernel [H, G] + step scratch [B, G] + two h buffers [B, H].
            long packedLen = PackedSize<T>(H, G);
            var scratch = ArrayPool<T>.Shared.Rent((int)Math.Max(H * G + B * G + 2 * B * H + packedLen, 1));
            try
            {
                var y = c.Output(0, [B, T_, H]);
                var hT = c.Output(1, [B, H]);
                var cT = c.Output(2, [B, H]);
                var act = c.Output(3, [B, T_, G]);
                var cs = c.Output(4, [B, T_, H]);
                Copy<T>(c0, cT);
                fixed (T* px = c.Input(0).Raw<T>(), pw = c.Input(4).Raw<T>(), pb = c.Input(5).Raw<T>(), ph0 = c.Input(2).Raw<T>(),
                       py = y.Raw<T>(), ph = hT.Raw<T>(), pc = cT.Raw<T>(), pa = act.Raw<T>(), pcs = cs.Raw<T>(), psc = scratch)
                fixed (int* pl = lens)
                {
                    // Input projections of all steps in one product; the bias joins in the step's row update.
                    Mm(false, false, B * T_, G, I, px, I, pw, G, false, pa, G, c.Pool);
                    T* wp = psc, s = wp + (long)H * G, h1 = s + (long)B * G, h2 = h1 + (long)B * H;
                    // Unit block p's columns [4·u0, 4·u0 + 4·uw): gate g's units at 4·u0 + g·uw.
                    for (int r = 0; r < H; r++)
                    {
                        T* src = pw + (long)(I + r) * G, dst = wp + (long)r * G;
                        for (int u0 = 0; u0 < H; u0 += Unit)
                        {
                            int uw = Math.Min(Unit, H - u0);
                            for (int g = 0; g < 4; g++)
                                new ReadOnlySpan<T>(src + g * H + u0, uw).CopyTo(new Span<T>(dst + 4 * u0 + g * uw, uw));
                        }
                    }
                    T* packed = h2 + (long)B * H;
                    PackB(false, H, G, wp, G, packed);
                    new ReadOnlySpan<T>(ph0, B * H).CopyTo(new Span<T>(h1, B * H));
                    var step = new LstmForwardStep<T>
                    {
                        B = B, Steps = T_, H = H, Packed = packed, Act = pa, Bias = pb, Y = py, Cs = pcs, C = pc, Scratch = s, Lens = pl,
                        Fb = fb, Cl = T.CreateChecked(clipD), Clip = clipD > 0,
                    };
                    for (int t = 0; t < T_; t++)
                    {
                        step.t = t;
                        step.HPrev = (t & 1) == 0 ? h1 : h2;
                        step.HNext = (t & 1) == 0 ? h2 : h1;
                        c.Pool.For(UnitItems(H), ref step);
                    }
                    new ReadOnlySpan<T>((T_ & 1) == 0 ? h1 : h2, B * H).CopyTo(new Span<T>(ph, B * H));
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(scratch); }
        }

        internal static void LstmBackward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias, 6 y, 7 act, 8 cs, 9 dy, 10 dh_final, 11 dc_final
            var (B, T_, I, H) = Dims(c, 2, 4, 4);
            double clipD = c.Attrs.Float("cell_clip", 0);
            var lens = Lengths(c, c.Input(1), B, T_);
            int G = 4 * H;
            // Gate gradients [B, T, G] + the previous hidden state of every step [B, T, H] + per-unit-block tanh(c).
            long packedLen = PackedSize<T>(G, H);
            var scratch = ArrayPool<T>.Shared.Rent((int)Math.Max(B * T_ * G + B * T_ * (I + H) + UnitItems(H) * Unit + packedLen, 1));
            try
            {
                var dx = c.Output(0, [B, T_, I]);
                var dh = c.Output(1, [B, H]);
                var dc = c.Output(2, [B, H]);
                var dw = c.Output(3, [I + H, G]);
                var db = c.Output(4, [G]);
                Copy<T>(c.Input(10), dh);
                Copy<T>(c.Input(11), dc);
                fixed (T* px = c.Input(0).Raw<T>(), ph0 = c.Input(2).Raw<T>(), pc0 = c.Input(3).Raw<T>(), pw = c.Input(4).Raw<T>(),
                       py = c.Input(6).Raw<T>(), pact = c.Input(7).Raw<T>(), pcs = c.Input(8).Raw<T>(), pdy = c.Input(9).Raw<T>(),
                       pdx = dx.Raw<T>(), pdh = dh.Raw<T>(), pdc = dc.Raw<T>(), pdw = dw.Raw<T>(), pdb = db.Raw<T>(), pa = scratch)
                fixed (int* pl = lens)
                {
                    T* z = pa + (long)B * T_ * G, tmp = z + (long)B * T_ * (I + H), packedT = tmp + UnitItems(H) * Unit;
                    // The recurrent kernel transposed (dh = da · W_hᵀ), packed once for all steps.
                    PackB(true, G, H, pw + (long)I * G, G, packedT);
                    var step = new LstmBackwardStep<T>
                    {
                        B = B, Steps = T_, I = I, H = H, PackedT = packedT, Da = pa, Act = pact, Cs = pcs, C0 = pc0, Dy = pdy, Dh = pdh, Dc = pdc,
                        Tmp = tmp, Lens = pl, Cl = T.CreateChecked(clipD), Clip = clipD > 0,
                    };
                    for (int t = T_ - 1; t >= 0; t--)
                    {
                        step.t = t;
                        c.Pool.For(UnitItems(H), ref step);
                    }
                    if (T_ > 0)
                    {
                        // dh0 gets step 0's gate gradients through the recurrent kernel.
                        Mm(false, true, B, H, G, pa, T_ * G, pw + (long)I * G, G, true, pdh, H, c.Pool);
                        // Row (b, t) of z is [x(b, t) | the state step t read]: h0 for t = 0, else y[b, t-1] (rows past an
                        // example's length have zero gate gradients, so what they hold does not matter). One product then
                        // gives the whole kernel gradient.
                        int zw = I + H;
                        for (int b = 0; b < B; b++)
                            for (int t = 0; t < T_; t++)
                            {
                                T* dst = z + ((long)b * T_ + t) * zw;
                                new ReadOnlySpan<T>(px + ((long)b * T_ + t) * I, I).CopyTo(new Span<T>(dst, I));
                                T* hs = t == 0 ? ph0 + (long)b * H : py + ((long)b * T_ + t - 1) * H;
                                new ReadOnlySpan<T>(hs, H).CopyTo(new Span<T>(dst + I, H));
                            }
                    }
                    Mm(true, false, I + H, G, B * T_, z, I + H, pa, G, false, pdw, G, c.Pool);
                    Mm(false, true, B * T_, I, G, pa, G, pw, G, false, pdx, I, c.Pool);
                    ColumnSums(pa, B * T_, G, G, pdb);
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(scratch); }
        }
    }
}
