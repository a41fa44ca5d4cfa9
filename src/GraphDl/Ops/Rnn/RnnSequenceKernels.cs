using System.Buffers;
using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Devices.Cpu;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>The fused kernels, generic over float32 and float64 (the LSTM in RnnLstmKernels.cs).</summary>
    static unsafe partial class Rnn
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

        /// <summary>Validated lengths: <c>lens[b]</c> = steps example b runs (rented from <see cref="ArrayPool{T}.Shared"/>;
        /// the caller returns it). The GPU kernels share it.</summary>
        internal static int[] Lengths(KernelContext c, NDArray seq, int batch, int time)
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
        internal static (int B, int T, int I, int H) Dims(KernelContext c, int stateAt, int kernelAt, int gates)
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

        /// <summary>Checks the GRU's candidate kernel (input 5, [I+H, H]) and bias (input 6, [H]).</summary>
        internal static void CheckCandidate(KernelContext c, int I, int H)
        {
            var wc = c.Input(5); var bc = c.Input(6);
            if (wc.Rank != 2 || wc.Dims[0] != I + H || wc.Dims[1] != H) throw c.Error($"candidate kernel {Shape.Format(wc.Dims)} needs [{I + H}, {H}]");
            if (bc.Rank != 1 || bc.Dims[0] != H) throw c.Error($"candidate bias {Shape.Format(bc.Dims)} needs [{H}]");
        }

        internal static void GruForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 wg, 4 bg, 5 wc, 6 bc
            var (B, T_, I, H) = Dims(c, 2, 3, 2);
            CheckCandidate(c, I, H);
            var wc = c.Input(5); var bc = c.Input(6);
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
    }
}
