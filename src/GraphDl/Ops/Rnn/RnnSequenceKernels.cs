using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Devices.Cpu;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>The fused kernels, generic over float32 and float64.</summary>
    static unsafe class Rnn
    {
        /// <summary>C = op(A)·op(B) (+ C when <paramref name="acc"/>), row-major with leading dims; handles empty sizes.</summary>
        static void Mm<T>(bool ta, bool tb, int m, int n, int k, T* a, int lda, T* b, int ldb, bool acc, T* c, int ldc, WorkerPool? pool)
            where T : unmanaged
        {
            if (m == 0 || n == 0) return;
            if (k == 0)
            {
                if (!acc) for (int i = 0; i < m; i++) new Span<T>(c + (long)i * ldc, n).Clear();
                return;
            }
            if (typeof(T) == typeof(float))
                Gemm.Sgemm(ta, tb, m, n, k, 1f, (float*)a, lda, (float*)b, ldb, acc ? 1f : 0f, (float*)c, ldc, pool);
            else
                Gemm.Dgemm(ta, tb, m, n, k, 1.0, (double*)a, lda, (double*)b, ldb, acc ? 1.0 : 0.0, (double*)c, ldc, pool);
        }

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


        /// <summary>Validated lengths: <paramref name="lens"/>[b] = steps example b runs.</summary>
        static int[] Lengths(KernelContext c, NDArray seq, int batch, int time)
        {
            var lens = ArrayPool<int>.Shared.Rent(Math.Max(batch, 1));
            if (seq.Size == 0) { Array.Fill(lens, time, 0, batch); return lens; }
            if (seq.Rank != 1 || seq.Size != batch)
            {
                ArrayPool<int>.Shared.Return(lens);
                throw c.Error($"seq_len has shape {Shape.Format(seq.Dims)}, needs [{batch}] (or [0] for full length)");
            }
            for (int b = 0; b < batch; b++)
            {
                long l = seq.data is long[] la ? la[b] : ((int[])seq.data)[b];
                if (l < 0 || l > time)
                {
                    ArrayPool<int>.Shared.Return(lens);
                    throw c.Error($"seq_len[{b}] = {l} is not in [0, {time}]");
                }
                lens[b] = (int)l;
            }
            return lens;
        }

        /// <summary>Checks x [B,T,I], a state [B,H] and a kernel [I+H, gates·H]; returns (B, T, I, H).</summary>
        static (int B, int T, int I, int H) Dims(KernelContext c, int stateAt, int kernelAt, int gates)
        {
            var x = c.Input(0); var h0 = c.Input(stateAt); var w = c.Input(kernelAt); var b = c.Input(kernelAt + 1);
            if (x.Rank != 3) throw c.Error($"x must be [batch, time, features], got {Shape.Format(x.Dims)}");
            int B = x.Dims[0], T = x.Dims[1], I = x.Dims[2];
            if (h0.Rank != 2 || h0.Dims[0] != B) throw c.Error($"initial state {Shape.Format(h0.Dims)} does not fit x {Shape.Format(x.Dims)}");
            int H = h0.Dims[1];
            if (w.Rank != 2 || w.Dims[0] != I + H || w.Dims[1] != gates * H)
                throw c.Error($"kernel {Shape.Format(w.Dims)} does not fit x {Shape.Format(x.Dims)} and state {Shape.Format(h0.Dims)} (needs [{I + H}, {gates * H}])");
            if (b.Rank != 1 || b.Dims[0] != gates * H) throw c.Error($"bias {Shape.Format(b.Dims)} needs [{gates * H}]");
            return (B, T, I, H);
        }

        /// <summary>dst rows [rows, n] (leading dim ld) = bias.</summary>
        static void FillBias<T>(T* dst, int rows, int n, int ld, T* bias) where T : unmanaged
        {
            var src = new ReadOnlySpan<T>(bias, n);
            for (int r = 0; r < rows; r++) src.CopyTo(new Span<T>(dst + (long)r * ld, n));
        }

        /// <summary>db[j] = Σ_r src[r, j] (leading dim ld), rows added in order.</summary>
        static void ColumnSums<T>(T* src, int rows, int n, int ld, T* db) where T : unmanaged, INumber<T>
        {
            var acc = new Span<T>(db, n);
            acc.Clear();
            for (int r = 0; r < rows; r++) System.Numerics.Tensors.TensorPrimitives.Add(acc, new ReadOnlySpan<T>(src + (long)r * ld, n), acc);
        }

        static void Copy<T>(NDArray from, NDArray to) where T : unmanaged => from.AsSpan<T>().CopyTo(to.AsSpan<T>());

        // ---------------------------------------------------------------- basic RNN

        internal static void RnnForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var (B, T_, I, H) = Dims(c, 2, 3, 1);
            var lens = Lengths(c, c.Input(1), B, T_);
            try
            {
                var y = c.Output(0, [B, T_, H]);
                var hT = c.Output(1, [B, H]);
                Copy<T>(c.Input(2), hT);
                fixed (T* px = c.Input(0).Raw<T>(), pw = c.Input(3).Raw<T>(), pb = c.Input(4).Raw<T>(), py = y.Raw<T>(), ph = hT.Raw<T>())
                {
                    FillBias(py, B * T_, H, H, pb);
                    Mm(false, false, B * T_, H, I, px, I, pw, H, true, py, H, c.Pool);
                    for (int t = 0; t < T_; t++)
                    {
                        Mm(false, false, B, H, H, ph, H, pw + I * H, H, true, py + t * H, T_ * H, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            T* row = py + ((long)b * T_ + t) * H;
                            if (t < lens[b])
                            {
                                GateMath.Tanh(new ReadOnlySpan<T>(row, H), new Span<T>(row, H));
                                new ReadOnlySpan<T>(row, H).CopyTo(new Span<T>(ph + (long)b * H, H));
                            }
                            else new Span<T>(row, H).Clear();
                        }
                    }
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); }
        }

        internal static void RnnBackward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 kernel, 4 bias, 5 y, 6 dy, 7 dh_final
            var (B, T_, I, H) = Dims(c, 2, 3, 1);
            var lens = Lengths(c, c.Input(1), B, T_);
            var scratch = ArrayPool<T>.Shared.Rent(Math.Max(B * T_ * H, 1));
            try
            {
                var dx = c.Output(0, [B, T_, I]);
                var dh = c.Output(1, [B, H]);
                var dw = c.Output(2, [I + H, H]);
                var db = c.Output(3, [H]);
                Copy<T>(c.Input(7), dh);
                fixed (T* px = c.Input(0).Raw<T>(), ph0 = c.Input(2).Raw<T>(), pw = c.Input(3).Raw<T>(), py = c.Input(5).Raw<T>(),
                       pdy = c.Input(6).Raw<T>(), pdx = dx.Raw<T>(), pdh = dh.Raw<T>(), pdw = dw.Raw<T>(), pdb = db.Raw<T>(), pa = scratch)
                {
                    int ld = T_ * H;
                    for (int t = T_ - 1; t >= 0; t--)
                    {
                        for (int b = 0; b < B; b++)
                        {
                            long off = ((long)b * T_ + t) * H;
                            T* da = pa + off;
                            if (t < lens[b])
                            {
                                T* yr = py + off; T* dyr = pdy + off; T* dhr = pdh + (long)b * H;
                                for (int k = 0; k < H; k++)
                                {
                                    T dht = dhr[k] + dyr[k];
                                    da[k] = dht * (T.One - yr[k] * yr[k]);
                                    dhr[k] = T.Zero;
                                }
                            }
                            else new Span<T>(da, H).Clear();
                        }
                        Mm(false, true, B, H, H, pa + t * H, ld, pw + I * H, H, true, pdh, H, c.Pool);
                        T* hp = t == 0 ? ph0 : py + (t - 1) * H;
                        Mm(true, false, H, H, B, hp, t == 0 ? H : ld, pa + t * H, ld, t != T_ - 1, pdw + I * H, H, c.Pool);
                    }
                    if (T_ == 0) new Span<T>(pdw + I * H, H * H).Clear();
                    Mm(false, true, B * T_, I, H, pa, H, pw, H, false, pdx, I, c.Pool);
                    Mm(true, false, I, H, B * T_, px, I, pa, H, false, pdw, H, c.Pool);
                    ColumnSums(pa, B * T_, H, H, pdb);
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(scratch); }
        }

        // ---------------------------------------------------------------- GRU

        internal static void GruForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 wg, 4 bg, 5 wc, 6 bc
            var (B, T_, I, H) = Dims(c, 2, 3, 2);
            var wc = c.Input(5); var bc = c.Input(6);
            if (wc.Rank != 2 || wc.Dims[0] != I + H || wc.Dims[1] != H) throw c.Error($"candidate kernel {Shape.Format(wc.Dims)} needs [{I + H}, {H}]");
            if (bc.Rank != 1 || bc.Dims[0] != H) throw c.Error($"candidate bias {Shape.Format(bc.Dims)} needs [{H}]");
            var lens = Lengths(c, c.Input(1), B, T_);
            var rh = ArrayPool<T>.Shared.Rent(Math.Max(B * H, 1));
            try
            {
                var y = c.Output(0, [B, T_, H]);
                var hT = c.Output(1, [B, H]);
                var act = c.Output(2, [B, T_, 3 * H]);
                Copy<T>(c.Input(2), hT);
                fixed (T* px = c.Input(0).Raw<T>(), pwg = c.Input(3).Raw<T>(), pbg = c.Input(4).Raw<T>(), pwc = wc.Raw<T>(), pbc = bc.Raw<T>(),
                       py = y.Raw<T>(), ph = hT.Raw<T>(), pa = act.Raw<T>(), prh = rh)
                {
                    int G = 3 * H, ld = T_ * G;
                    FillBias(pa, B * T_, 2 * H, G, pbg);
                    FillBias(pa + 2 * H, B * T_, H, G, pbc);
                    Mm(false, false, B * T_, 2 * H, I, px, I, pwg, 2 * H, true, pa, G, c.Pool);
                    Mm(false, false, B * T_, H, I, px, I, pwc, H, true, pa + 2 * H, G, c.Pool);
                    for (int t = 0; t < T_; t++)
                    {
                        Mm(false, false, B, 2 * H, H, ph, H, pwg + I * 2 * H, 2 * H, true, pa + t * G, ld, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            T* row = pa + ((long)b * T_ + t) * G; T* r = prh + (long)b * H; T* hs = ph + (long)b * H;
                            if (t < lens[b])
                            {
                                GateMath.Sigmoid(new ReadOnlySpan<T>(row, 2 * H), new Span<T>(row, 2 * H));
                                TensorPrimitives.Multiply(new ReadOnlySpan<T>(row, H), new ReadOnlySpan<T>(hs, H), new Span<T>(r, H));
                            }
                            else new Span<T>(r, H).Clear();
                        }
                        Mm(false, false, B, H, H, prh, H, pwc + I * H, H, true, pa + t * G + 2 * H, ld, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            T* row = pa + ((long)b * T_ + t) * G; T* yr = py + ((long)b * T_ + t) * H; T* hs = ph + (long)b * H;
                            if (t < lens[b])
                            {
                                GateMath.Tanh(new ReadOnlySpan<T>(row + 2 * H, H), new Span<T>(row + 2 * H, H));
                                for (int k = 0; k < H; k++)
                                {
                                    T cc = row[2 * H + k], u = row[H + k];
                                    hs[k] = yr[k] = u * hs[k] + (T.One - u) * cc;
                                }
                            }
                            else
                            {
                                new Span<T>(row, G).Clear();
                                new Span<T>(yr, H).Clear();
                            }
                        }
                    }
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(rh); }
        }

        internal static void GruBackward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 wg, 4 bg, 5 wc, 6 bc, 7 y, 8 act, 9 dy, 10 dh_final
            var (B, T_, I, H) = Dims(c, 2, 3, 2);
            var lens = Lengths(c, c.Input(1), B, T_);
            int G = 3 * H, ld = T_ * G, ldy = T_ * H;
            var scratch = ArrayPool<T>.Shared.Rent(Math.Max(B * T_ * G + 2 * B * H, 1));
            try
            {
                var dx = c.Output(0, [B, T_, I]);
                var dh = c.Output(1, [B, H]);
                var dwg = c.Output(2, [I + H, 2 * H]);
                var dbg = c.Output(3, [2 * H]);
                var dwc = c.Output(4, [I + H, H]);
                var dbc = c.Output(5, [H]);
                Copy<T>(c.Input(10), dh);
                fixed (T* px = c.Input(0).Raw<T>(), ph0 = c.Input(2).Raw<T>(), pwg = c.Input(3).Raw<T>(), pwc = c.Input(5).Raw<T>(),
                       py = c.Input(7).Raw<T>(), pact = c.Input(8).Raw<T>(), pdy = c.Input(9).Raw<T>(),
                       pdx = dx.Raw<T>(), pdh = dh.Raw<T>(), pdwg = dwg.Raw<T>(), pdbg = dbg.Raw<T>(), pdwc = dwc.Raw<T>(), pdbc = dbc.Raw<T>(),
                       pa = scratch)
                {
                    T* prh = pa + (long)B * T_ * G, pdrh = prh + (long)B * H;
                    for (int t = T_ - 1; t >= 0; t--)
                    {
                        for (int b = 0; b < B; b++)
                        {
                            long off = ((long)b * T_ + t) * G;
                            T* da = pa + off; T* rh = prh + (long)b * H;
                            if (t < lens[b])
                            {
                                T* ar = pact + off; T* dyr = pdy + ((long)b * T_ + t) * H; T* dhr = pdh + (long)b * H;
                                T* hp = t == 0 ? ph0 + (long)b * H : py + ((long)b * T_ + t - 1) * H;
                                for (int k = 0; k < H; k++)
                                {
                                    T r = ar[k], u = ar[H + k], cc = ar[2 * H + k];
                                    T dht = dhr[k] + dyr[k];
                                    da[H + k] = dht * (hp[k] - cc) * u * (T.One - u);
                                    da[2 * H + k] = dht * (T.One - u) * (T.One - cc * cc);
                                    dhr[k] = dht;
                                    rh[k] = r * hp[k];
                                }
                            }
                            else
                            {
                                new Span<T>(da, G).Clear();
                                new Span<T>(rh, H).Clear();
                            }
                        }
                        Mm(false, true, B, H, H, pa + t * G + 2 * H, ld, pwc + I * H, H, false, pdrh, H, c.Pool);
                        Mm(true, false, H, H, B, prh, H, pa + t * G + 2 * H, ld, t != T_ - 1, pdwc + I * H, H, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            if (t >= lens[b]) continue;
                            long off = ((long)b * T_ + t) * G;
                            T* da = pa + off; T* ar = pact + off; T* dhr = pdh + (long)b * H; T* drh = pdrh + (long)b * H;
                            T* hp = t == 0 ? ph0 + (long)b * H : py + ((long)b * T_ + t - 1) * H;
                            for (int k = 0; k < H; k++)
                            {
                                T r = ar[k], u = ar[H + k];
                                da[k] = drh[k] * hp[k] * r * (T.One - r);
                                dhr[k] = dhr[k] * u + drh[k] * r;
                            }
                        }
                        Mm(false, true, B, H, 2 * H, pa + t * G, ld, pwg + I * 2 * H, 2 * H, true, pdh, H, c.Pool);
                        T* hprev = t == 0 ? ph0 : py + (t - 1) * H;
                        Mm(true, false, H, 2 * H, B, hprev, t == 0 ? H : ldy, pa + t * G, ld, t != T_ - 1, pdwg + I * 2 * H, 2 * H, c.Pool);
                    }
                    if (T_ == 0)
                    {
                        new Span<T>(pdwg + I * 2 * H, H * 2 * H).Clear();
                        new Span<T>(pdwc + I * H, H * H).Clear();
                    }
                    Mm(false, true, B * T_, I, 2 * H, pa, G, pwg, 2 * H, false, pdx, I, c.Pool);
                    Mm(false, true, B * T_, I, H, pa + 2 * H, G, pwc, H, true, pdx, I, c.Pool);
                    Mm(true, false, I, 2 * H, B * T_, px, I, pa, G, false, pdwg, 2 * H, c.Pool);
                    Mm(true, false, I, H, B * T_, px, I, pa + 2 * H, G, false, pdwc, H, c.Pool);
                    ColumnSums(pa, B * T_, 2 * H, G, pdbg);
                    ColumnSums(pa + 2 * H, B * T_, H, G, pdbc);
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(scratch); }
        }

        // ---------------------------------------------------------------- LSTM

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

        internal static void LstmForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias
            var (B, T_, I, H) = Dims(c, 2, 4, 4);
            var c0 = c.Input(3);
            if (!c0.Dims.SequenceEqual(c.Input(2).Dims)) throw c.Error($"c0 {Shape.Format(c0.Dims)} and h0 {Shape.Format(c.Input(2).Dims)} differ");
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
