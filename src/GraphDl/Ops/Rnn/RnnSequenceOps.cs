using System.Buffers;
using System.Numerics;
using GraphDl.Devices.Cpu;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Fused recurrent layers: one op runs a whole basic-RNN, GRU or LSTM layer over every time step (as TF1's
    /// block LSTM and cuDNN's RNN do), one op runs its whole backward pass through time. All tensors are batch-major:
    /// <c>x [batch, time, in]</c>, outputs <c>[batch, time, units]</c>. <c>seq_len</c> is int32 or int64 <c>[batch]</c>, or an
    /// empty vector for "every example runs all steps"; past an example's length its outputs are zero and its state is
    /// carried unchanged (TF1's dynamic_rnn). Weights use the cells' TF1 layouts (<c>[in + units, gates·units]</c>, input rows
    /// first). Per step the recurrent product is one GEMM (<see cref="Gemm"/>, on the session's pool); the input products of
    /// all steps are one GEMM. The gradient ops are not differentiable (no second derivatives through a fused layer).</summary>
    public static class RnnSequenceOps
    {
        /// <summary>Basic tanh RNN layer. Inputs <c>x, seq_len, h0, kernel [in+H, H], bias [H]</c>; outputs
        /// <c>y [B,T,H], h_final [B,H]</c>.</summary>
        public static readonly OpDef RnnSequence = new()
        {
            Name = "GraphDlRnnSequence",
            Infer = c => InferForward(c, 1, 1, 3, [Seq, State], 0),
            Grad = c => FusedGrad(c, RnnSequenceGrad!, inputs: [0, 1, 2, 3, 4], outs: [0], dys: 2, map: [0, -1, 1, 2, 3]),
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.RnnForward<float>(c); else Rnn.RnnForward<double>(c); },
        };

        /// <summary>Backward pass of <see cref="RnnSequence"/>. Inputs <c>x, seq_len, h0, kernel, bias, y, dy, dh_final</c>;
        /// outputs <c>dx, dh0, dkernel, dbias</c>.</summary>
        public static readonly OpDef RnnSequenceGrad = new()
        {
            Name = "GraphDlRnnSequenceGrad",
            Infer = c => GradSpecs(c, [0, 2, 3, 4]),
            Grad = null,
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.RnnBackward<float>(c); else Rnn.RnnBackward<double>(c); },
        };

        /// <summary>GRU layer (TF1 GRUCell). Inputs <c>x, seq_len, h0, gates/kernel [in+H, 2H], gates/bias [2H],
        /// candidate/kernel [in+H, H], candidate/bias [H]</c>; outputs <c>y, h_final, act [B,T,3H]</c> (r, u, c saved for the
        /// backward pass).</summary>
        public static readonly OpDef GruSequence = new()
        {
            Name = "GraphDlGruSequence",
            Infer = c =>
            {
                var specs = InferForward(c, 2, 1, 3, [Seq, State, Saved3], 0);
                CheckWeights(c, 5, 6, 1, specs[1].Shape[1]);
                return specs;
            },
            Grad = c => FusedGrad(c, GruSequenceGrad!, inputs: [0, 1, 2, 3, 4, 5, 6], outs: [0, 2], dys: 2, map: [0, -1, 1, 2, 3, 4, 5]),
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.GruForward<float>(c); else Rnn.GruForward<double>(c); },
        };

        /// <summary>Backward pass of <see cref="GruSequence"/>. Inputs <c>x, seq_len, h0, wg, bg, wc, bc, y, act, dy,
        /// dh_final</c>; outputs <c>dx, dh0, dwg, dbg, dwc, dbc</c>.</summary>
        public static readonly OpDef GruSequenceGrad = new()
        {
            Name = "GraphDlGruSequenceGrad",
            Infer = c => GradSpecs(c, [0, 2, 3, 4, 5, 6]),
            Grad = null,
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.GruBackward<float>(c); else Rnn.GruBackward<double>(c); },
        };

        /// <summary>LSTM layer (TF1 LSTMCell, gates i, j, f, o). Inputs <c>x, seq_len, h0, c0, kernel [in+H, 4H], bias [4H]</c>;
        /// attrs <c>forget_bias</c>, <c>cell_clip</c> (≤ 0: none); outputs <c>y, h_final, c_final, act [B,T,4H]</c> (activated
        /// gates) and <c>cs [B,T,H]</c> (cell states), the last two saved for the backward pass.</summary>
        public static readonly OpDef LstmSequence = new()
        {
            Name = "GraphDlLstmSequence",
            Infer = c => InferForward(c, 4, 2, 4, [Seq, State, State, Saved4, Seq], 1),
            Grad = c => FusedGrad(c, LstmSequenceGrad!, inputs: [0, 1, 2, 3, 4, 5], outs: [0, 3, 4], dys: 3, map: [0, -1, 1, 2, 3, 4]),
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.LstmForward<float>(c); else Rnn.LstmForward<double>(c); },
        };

        /// <summary>Backward pass of <see cref="LstmSequence"/>. Inputs <c>x, seq_len, h0, c0, kernel, bias, y, act, cs, dy,
        /// dh_final, dc_final</c>; outputs <c>dx, dh0, dc0, dkernel, dbias</c>.</summary>
        public static readonly OpDef LstmSequenceGrad = new()
        {
            Name = "GraphDlLstmSequenceGrad",
            Infer = c => GradSpecs(c, [0, 2, 3, 4, 5]),
            Grad = null,
            Cpu = c => { if (c.Input(0).DType == DType.Float32) Rnn.LstmBackward<float>(c); else Rnn.LstmBackward<double>(c); },
        };

        const int Seq = 0, State = 1, Saved3 = 3, Saved4 = 4;

        /// <summary>Shapes of a forward op: x [B,T,I], h0 (and c0) [B,H], kernel [I+H, gates·H], bias [gates·H].</summary>
        static OutputSpec[] InferForward(InferContext c, int gates, int states, int kernelAt, int[] kinds, int _)
        {
            var t = c.DType(0);
            if (!t.IsFloating()) throw new ShapeError($"x must be float32 or float64, got {t.Name()}");
            for (int i = 2; i < c.Inputs.Length; i++)
                if (c.DType(i) != t) throw new ShapeError($"input {i} is {c.DType(i).Name()}, x is {t.Name()}");
            if (c.DType(1) != DType.Int32 && c.DType(1) != DType.Int64) throw new ShapeError($"seq_len must be int32 or int64, got {c.DType(1).Name()}");
            var x = c.Shape(0);
            if (x.HasRank && x.Rank != 3) throw new ShapeError($"x must be [batch, time, features], got {x}");
            var w = c.Shape(kernelAt);
            if (w.HasRank && w.Rank != 2) throw new ShapeError($"kernel must be rank 2, got {w}");
            int h = -1;
            for (int s = 0; s < states; s++)
            {
                var hs = c.Shape(2 + s);
                if (hs.HasRank && hs.Rank != 2) throw new ShapeError($"initial state must be [batch, units], got {hs}");
                if (hs.HasRank && hs[1] >= 0) h = hs[1];
            }
            if (w.HasRank && w[1] >= 0)
            {
                if (w[1] % gates != 0) throw new ShapeError($"kernel {w} has {w[1]} columns, not a multiple of {gates} gates");
                if (h >= 0 && w[1] != gates * h) throw new ShapeError($"kernel {w} does not fit {gates} gates of {h} units (state {c.Shape(2)})");
                h = w[1] / gates;
            }
            int b = x.HasRank ? x[0] : -1, tt = x.HasRank ? x[1] : -1, inDim = x.HasRank ? x[2] : -1;
            if (w.HasRank && w[0] >= 0 && inDim >= 0 && h >= 0 && w[0] != inDim + h)
                throw new ShapeError($"kernel {w} needs {inDim} + {h} rows for x {x} and {h} units");
            var bias = c.Shape(kernelAt + 1);
            if (bias.HasRank && (bias.Rank != 1 || (h >= 0 && bias[0] >= 0 && bias[0] != gates * h)))
                throw new ShapeError($"bias must be [{gates * h}], got {bias}");
            var len = c.Shape(1);
            if (len.HasRank && len.Rank != 1) throw new ShapeError($"seq_len must be a vector, got {len}");
            return kinds.Select(k => new OutputSpec(t, k switch
            {
                Seq => Shape.Of(b, tt, h),
                State => Shape.Of(b, h),
                _ => Shape.Of(b, tt, h < 0 ? -1 : k * h),
            })).ToArray();
        }

        static void CheckWeights(InferContext c, int kernelAt, int biasAt, int gates, int h)
        {
            var w = c.Shape(kernelAt);
            if (w.HasRank && (w.Rank != 2 || (h >= 0 && w[1] >= 0 && w[1] != gates * h)))
                throw new ShapeError($"candidate kernel must be [in + {h}, {gates * h}], got {w}");
            var b = c.Shape(biasAt);
            if (b.HasRank && (b.Rank != 1 || (h >= 0 && b[0] >= 0 && b[0] != gates * h)))
                throw new ShapeError($"candidate bias must be [{gates * h}], got {b}");
        }

        static Attrs CopyAttrs(Attrs a)
        {
            var copy = new Attrs();
            foreach (var (k, v) in a) copy[k] = v;
            return copy;
        }

        /// <summary>A gradient op's outputs have the shapes of the forward inputs listed.</summary>
        static OutputSpec[] GradSpecs(InferContext c, int[] like) => like.Select(i => new OutputSpec(c.DType(0), c.Shape(i))).ToArray();

        /// <summary>Wires the gradient op: forward inputs, the outputs it needs, then one incoming gradient per differentiable
        /// output (zeros where none flows); <paramref name="map"/> gives, per forward input, the gradient op's output (-1 none).</summary>
        static Tensor?[] FusedGrad(GradContext c, OpDef grad, int[] inputs, int[] outs, int dys, int[] map)
        {
            var g = c.G;
            var args = new List<Tensor>();
            foreach (int i in inputs) args.Add(c.X(i));
            foreach (int o in outs) args.Add(c.Y(o));
            for (int o = 0; o < dys; o++) args.Add(c.Dys[o] ?? g.ZerosLike(c.Y(o)));
            var op = g.AddOp(grad, args.ToArray(), CopyAttrs(c.Attrs), c.Op.Name.Split('/')[^1] + "Grad");
            return map.Select(m => m < 0 ? null : op.Outputs[m]).ToArray();
        }
    }

    /// <summary>The fused kernels, generic over float32 and float64.</summary>
    static unsafe class Rnn
    {
        /// <summary>C = op(A)·op(B) (+ C when <paramref name="acc"/>), row-major with leading dims; handles empty sizes.</summary>
        static void Mm<T>(bool ta, bool tb, int m, int n, int k, T* a, int lda, T* b, int ldb, bool acc, T* c, int ldc, WorkerPool pool)
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

        static T Sigmoid<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x));

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

        /// <summary>db[j] = Σ_r src[r, j] (leading dim ld).</summary>
        static void ColumnSums<T>(T* src, int rows, int n, int ld, T* db) where T : unmanaged, INumber<T>
        {
            var acc = new Span<T>(db, n);
            acc.Clear();
            for (int r = 0; r < rows; r++)
            {
                var row = new ReadOnlySpan<T>(src + (long)r * ld, n);
                for (int j = 0; j < n; j++) acc[j] += row[j];
            }
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
                                T* hs = ph + (long)b * H;
                                for (int k = 0; k < H; k++) hs[k] = row[k] = T.Tanh(row[k]);
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
                                for (int k = 0; k < 2 * H; k++)
                                {
                                    row[k] = Sigmoid(row[k]);
                                    if (k < H) r[k] = row[k] * hs[k];
                                }
                            else new Span<T>(r, H).Clear();
                        }
                        Mm(false, false, B, H, H, prh, H, pwc + I * H, H, true, pa + t * G + 2 * H, ld, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            T* row = pa + ((long)b * T_ + t) * G; T* yr = py + ((long)b * T_ + t) * H; T* hs = ph + (long)b * H;
                            if (t < lens[b])
                                for (int k = 0; k < H; k++)
                                {
                                    T cc = row[2 * H + k] = T.Tanh(row[2 * H + k]);
                                    T u = row[H + k];
                                    hs[k] = yr[k] = u * hs[k] + (T.One - u) * cc;
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

        internal static void LstmForward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias
            var (B, T_, I, H) = Dims(c, 2, 4, 4);
            var c0 = c.Input(3);
            if (!c0.Dims.SequenceEqual(c.Input(2).Dims)) throw c.Error($"c0 {Shape.Format(c0.Dims)} and h0 {Shape.Format(c.Input(2).Dims)} differ");
            T fb = T.CreateChecked(c.Attrs.Float("forget_bias", 1.0));
            double clipD = c.Attrs.Float("cell_clip", 0);
            bool clip = clipD > 0;
            T cl = T.CreateChecked(clipD);
            var lens = Lengths(c, c.Input(1), B, T_);
            try
            {
                var y = c.Output(0, [B, T_, H]);
                var hT = c.Output(1, [B, H]);
                var cT = c.Output(2, [B, H]);
                var act = c.Output(3, [B, T_, 4 * H]);
                var cs = c.Output(4, [B, T_, H]);
                Copy<T>(c.Input(2), hT);
                Copy<T>(c0, cT);
                fixed (T* px = c.Input(0).Raw<T>(), pw = c.Input(4).Raw<T>(), pb = c.Input(5).Raw<T>(),
                       py = y.Raw<T>(), ph = hT.Raw<T>(), pc = cT.Raw<T>(), pa = act.Raw<T>(), pcs = cs.Raw<T>())
                {
                    int G = 4 * H, ld = T_ * G;
                    FillBias(pa, B * T_, G, G, pb);
                    Mm(false, false, B * T_, G, I, px, I, pw, G, true, pa, G, c.Pool);
                    for (int t = 0; t < T_; t++)
                    {
                        Mm(false, false, B, G, H, ph, H, pw + I * G, G, true, pa + t * G, ld, c.Pool);
                        for (int b = 0; b < B; b++)
                        {
                            long so = ((long)b * T_ + t) * H;
                            T* row = pa + ((long)b * T_ + t) * G; T* yr = py + so; T* csr = pcs + so;
                            T* hs = ph + (long)b * H; T* cst = pc + (long)b * H;
                            if (t < lens[b])
                                for (int k = 0; k < H; k++)
                                {
                                    T i = Sigmoid(row[k]), j = T.Tanh(row[H + k]), f = Sigmoid(row[2 * H + k] + fb), o = Sigmoid(row[3 * H + k]);
                                    T cc = f * cst[k] + i * j;
                                    if (clip) cc = T.Clamp(cc, -cl, cl);
                                    T hh = o * T.Tanh(cc);
                                    row[k] = i; row[H + k] = j; row[2 * H + k] = f; row[3 * H + k] = o;
                                    csr[k] = cst[k] = cc;
                                    yr[k] = hs[k] = hh;
                                }
                            else
                            {
                                new Span<T>(row, G).Clear();
                                new Span<T>(yr, H).Clear();
                                new ReadOnlySpan<T>(cst, H).CopyTo(new Span<T>(csr, H));
                            }
                        }
                    }
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); }
        }

        internal static void LstmBackward<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            // inputs: 0 x, 1 seq_len, 2 h0, 3 c0, 4 kernel, 5 bias, 6 y, 7 act, 8 cs, 9 dy, 10 dh_final, 11 dc_final
            var (B, T_, I, H) = Dims(c, 2, 4, 4);
            double clipD = c.Attrs.Float("cell_clip", 0);
            bool clip = clipD > 0;
            T cl = T.CreateChecked(clipD);
            var lens = Lengths(c, c.Input(1), B, T_);
            int G = 4 * H, ld = T_ * G, ldy = T_ * H;
            var scratch = ArrayPool<T>.Shared.Rent(Math.Max(B * T_ * G, 1));
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
                {
                    for (int t = T_ - 1; t >= 0; t--)
                    {
                        for (int b = 0; b < B; b++)
                        {
                            long off = ((long)b * T_ + t) * G;
                            T* da = pa + off;
                            if (t < lens[b])
                            {
                                long so = ((long)b * T_ + t) * H;
                                T* ar = pact + off; T* dyr = pdy + so; T* csr = pcs + so;
                                T* dhr = pdh + (long)b * H; T* dcr = pdc + (long)b * H;
                                T* cp = t == 0 ? pc0 + (long)b * H : pcs + so - H;
                                for (int k = 0; k < H; k++)
                                {
                                    T i = ar[k], j = ar[H + k], f = ar[2 * H + k], o = ar[3 * H + k];
                                    T cc = csr[k], tc = T.Tanh(cc);
                                    T dht = dhr[k] + dyr[k];
                                    T dct = dcr[k] + dht * o * (T.One - tc * tc);
                                    if (clip && T.Abs(cc) >= cl) dct = T.Zero;
                                    da[k] = dct * j * i * (T.One - i);
                                    da[H + k] = dct * i * (T.One - j * j);
                                    da[2 * H + k] = dct * cp[k] * f * (T.One - f);
                                    da[3 * H + k] = dht * tc * o * (T.One - o);
                                    dcr[k] = dct * f;
                                    dhr[k] = T.Zero;
                                }
                            }
                            else new Span<T>(da, G).Clear();
                        }
                        Mm(false, true, B, H, G, pa + t * G, ld, pw + I * G, G, true, pdh, H, c.Pool);
                        T* hprev = t == 0 ? ph0 : py + (t - 1) * H;
                        Mm(true, false, H, G, B, hprev, t == 0 ? H : ldy, pa + t * G, ld, t != T_ - 1, pdw + I * G, G, c.Pool);
                    }
                    if (T_ == 0) new Span<T>(pdw + I * G, H * G).Clear();
                    Mm(false, true, B * T_, I, G, pa, G, pw, G, false, pdx, I, c.Pool);
                    Mm(true, false, I, G, B * T_, px, I, pa, G, false, pdw, G, c.Pool);
                    ColumnSums(pa, B * T_, G, G, pdb);
                }
            }
            finally { ArrayPool<int>.Shared.Return(lens); ArrayPool<T>.Shared.Return(scratch); }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for the fused sequence ops (<see cref="RnnSequenceOps"/>).</summary>
    public static class RnnSequenceBuilders
    {
        /// <summary>An empty int32 vector: "every example runs all steps".</summary>
        static Tensor Lengths(Graph g, Tensor? seqLen) => seqLen ?? g.Const(NDArray.From(Array.Empty<int>(), 0), "full_length");

        /// <summary>A whole tanh RNN layer: <c>(y [B,T,H], h_final)</c>.</summary>
        public static (Tensor Y, Tensor H) RnnSequence(this Graph g, Tensor x, Tensor? seqLen, Tensor h0, Tensor kernel, Tensor bias, string? name = null)
        {
            var op = g.AddOp(RnnSequenceOps.RnnSequence, [x, Lengths(g, seqLen), h0, kernel, bias], new Attrs { ["T"] = x.DType }, name ?? "RnnSequence");
            return (op.Outputs[0], op.Outputs[1]);
        }

        /// <summary>A whole GRU layer: <c>(y [B,T,H], h_final)</c>.</summary>
        public static (Tensor Y, Tensor H) GruSequence(this Graph g, Tensor x, Tensor? seqLen, Tensor h0, Tensor gateKernel, Tensor gateBias,
            Tensor candidateKernel, Tensor candidateBias, string? name = null)
        {
            var op = g.AddOp(RnnSequenceOps.GruSequence, [x, Lengths(g, seqLen), h0, gateKernel, gateBias, candidateKernel, candidateBias],
                new Attrs { ["T"] = x.DType }, name ?? "GruSequence");
            return (op.Outputs[0], op.Outputs[1]);
        }

        /// <summary>A whole LSTM layer (gates i, j, f, o): <c>(y [B,T,H], h_final, c_final)</c>.</summary>
        public static (Tensor Y, Tensor H, Tensor C) LstmSequence(this Graph g, Tensor x, Tensor? seqLen, Tensor h0, Tensor c0, Tensor kernel,
            Tensor bias, double forgetBias = 1.0, double? cellClip = null, string? name = null)
        {
            var op = g.AddOp(RnnSequenceOps.LstmSequence, [x, Lengths(g, seqLen), h0, c0, kernel, bias],
                new Attrs { ["T"] = x.DType, ["forget_bias"] = forgetBias, ["cell_clip"] = cellClip ?? 0.0 }, name ?? "LstmSequence");
            return (op.Outputs[0], op.Outputs[1], op.Outputs[2]);
        }
    }
}
