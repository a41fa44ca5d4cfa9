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
