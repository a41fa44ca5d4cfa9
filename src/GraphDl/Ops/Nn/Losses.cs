using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Fused losses: softmax cross-entropy (dense and sparse labels) and L2Loss.</summary>
    /// <remarks>The cross-entropy ops have two outputs, the per-row loss and its gradient ("backprop",
    /// <c>softmax - labels</c>). The gradient rule also differentiates the backprop output, so second derivatives work.</remarks>
    public static class LossOps
    {
        /// <summary>Inputs <c>(logits, labels)</c> of the same shape <c>[..., classes]</c>; outputs the loss <c>[...]</c>
        /// and backprop, the loss's gradient <c>sum(labels)·softmax(logits) - labels</c> (TF's <c>softmax - labels</c> when each
        /// row of labels is a distribution, as it should be).</summary>
        public static readonly OpDef SoftmaxCrossEntropyWithLogits = new()
        {
            Name = "SoftmaxCrossEntropyWithLogits",
            Grad = c =>
            {
                var g = c.G;
                var (logits, gl, gg) = (c.X(0), c.Dys[0], c.Dys[1]);
                Tensor? dLogits = null, dLabels = null;
                if (gl != null)
                {
                    var glx = ExpandLast(g, gl, logits);
                    dLogits = glx * c.Y(1);
                    dLabels = glx * -g.LogSoftmax(logits);
                }
                if (gg != null)
                {
                    // backprop = sum(labels)·softmax - labels: d/dlogits = sum(labels)·J_softmax·gg,
                    // d/dlabels = sum(gg·softmax) - gg.
                    var labels = c.X(1);
                    var p = g.Softmax(logits);
                    var sumL = g.Sum(labels, [-1], keepDims: true);
                    dLogits = Add(dLogits, sumL * SoftmaxJvp(g, p, gg));
                    dLabels = Add(dLabels, g.Sum(gg * p, [-1], keepDims: true) - gg);
                }
                return [dLogits, dLabels];
            },
            Infer = c =>
            {
                SameDType(c);
                RequireFloat(c, 0);
                if (!c.Shape(0).IsCompatibleWith(c.Shape(1)))
                    throw new ShapeError($"logits and labels must have the same shape, logits {c.Shape(0)} and labels {c.Shape(1)}");
                var s = c.Shape(0).MergeWith(c.Shape(1));
                if (s.HasRank && s.Rank < 1) throw new ShapeError($"logits must have rank >= 1, got {s}");
                return [new(c.DType(0), Batch(s)), new(c.DType(0), s)];
            },
            Cpu = c =>
            {
                var (x, l) = (c.Input(0), c.Input(1));
                if (x.Rank < 1 || !x.Dims.SequenceEqual(l.Dims))
                    throw c.Error($"logits and labels must have the same shape of rank >= 1, logits {Shape.Format(x.Dims)} and labels {Shape.Format(l.Dims)}");
                var loss = c.Output(0, x.Dims[..^1]);
                var bp = c.Output(1, x.Dims);
                int n = x.Dims[^1];
                if (x.DType == DType.Float32) Dense(x.AsSpan<float>(), l.AsSpan<float>(), loss.AsSpan<float>(), bp.AsSpan<float>(), n);
                else Dense(x.AsSpan<double>(), l.AsSpan<double>(), loss.AsSpan<double>(), bp.AsSpan<double>(), n);
            },
        };

        /// <summary>Inputs <c>(logits [..., classes], labels [...])</c> with int32/int64 class indices; outputs the loss
        /// <c>[...]</c> and backprop <c>softmax(logits) - onehot(labels)</c>. An out-of-range label is a run-time error.</summary>
        public static readonly OpDef SparseSoftmaxCrossEntropyWithLogits = new()
        {
            Name = "SparseSoftmaxCrossEntropyWithLogits",
            Grad = c =>
            {
                var g = c.G;
                var (logits, gl, gg) = (c.X(0), c.Dys[0], c.Dys[1]);
                Tensor? dLogits = gl == null ? null : ExpandLast(g, gl, logits) * c.Y(1);
                if (gg != null) dLogits = Add(dLogits, SoftmaxJvp(g, g.Softmax(logits), gg));
                return [dLogits, null];
            },
            Infer = c =>
            {
                RequireFloat(c, 0);
                if (c.DType(1) is not (DType.Int32 or DType.Int64))
                    throw new ShapeError($"labels must be int32 or int64, got {c.DType(1).Name()}");
                var (s, ls) = (c.Shape(0), c.Shape(1));
                if (s.HasRank && s.Rank < 1) throw new ShapeError($"logits must have rank >= 1, got {s}");
                if (s.HasRank && !Batch(s).IsCompatibleWith(ls))
                    throw new ShapeError($"labels must have the shape of logits without the last dimension, logits {s} and labels {ls}");
                var batch = s.HasRank ? Batch(s).MergeWith(ls) : ls;
                return [new(c.DType(0), batch), new(c.DType(0), s)];
            },
            Cpu = c =>
            {
                var (x, l) = (c.Input(0), c.Input(1));
                if (x.Rank < 1 || !x.Dims[..^1].SequenceEqual(l.Dims))
                    throw c.Error($"labels must have the shape of logits without the last dimension, logits {Shape.Format(x.Dims)} and labels {Shape.Format(l.Dims)}");
                var loss = c.Output(0, l.Dims);
                var bp = c.Output(1, x.Dims);
                int n = x.Dims[^1];
                long bad = x.DType == DType.Float32
                    ? Sparse(x.AsSpan<float>(), l, loss.AsSpan<float>(), bp.AsSpan<float>(), n)
                    : Sparse(x.AsSpan<double>(), l, loss.AsSpan<double>(), bp.AsSpan<double>(), n);
                if (bad >= 0)
                {
                    long label = l.DType == DType.Int32 ? l.AsSpan<int>()[(int)bad] : l.AsSpan<long>()[(int)bad];
                    throw c.Error($"Received a label value of {label} which is outside the valid range of [0, {n}) " +
                                  $"(at index {bad} of labels {Shape.Format(l.Dims)}; logits {Shape.Format(x.Dims)} have {n} classes)");
                }
            },
        };

        /// <summary><c>sum(x²) / 2</c> as a scalar (TF's <c>L2Loss</c>).</summary>
        public static readonly OpDef L2Loss = new()
        {
            Name = "L2Loss",
            Grad = c => [c.X(0) * c.Dy],
            Infer = c =>
            {
                RequireFloat(c, 0);
                return InferContext.One(c.DType(0), Shape.Scalar);
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var y = c.Output(0, []);
                if (x.DType == DType.Float32) y.AsSpan<float>()[0] = TensorPrimitives.SumOfSquares<float>(x.AsSpan<float>()) / 2;
                else y.AsSpan<double>()[0] = TensorPrimitives.SumOfSquares<double>(x.AsSpan<double>()) / 2;
            },
        };

        static Shape Batch(Shape s) => s.HasRank ? new Shape(s.Dims[..^1]) : Shape.Unknown;

        static Tensor Add(Tensor? a, Tensor b) => a == null ? b : a + b;

        /// <summary><c>gl</c> of shape <c>[...]</c> reshaped to <c>[..., 1]</c> to scale rows of <paramref name="logits"/>.</summary>
        static Tensor ExpandLast(Graph g, Tensor gl, Tensor logits) =>
            g.Reshape(gl, g.ReducedShape(g.ShapeOf(logits), g.Const(NDArray.From(new[] { -1 }), "last_axis")));

        /// <summary>The softmax Jacobian applied to <paramref name="v"/>: <c>(v - sum(v·p)) · p</c>, p = softmax(logits).</summary>
        static Tensor SoftmaxJvp(Graph g, Tensor p, Tensor v) => (v - g.Sum(v * p, [-1], keepDims: true)) * p;

        static void Dense<T>(ReadOnlySpan<T> x, ReadOnlySpan<T> l, Span<T> loss, Span<T> bp, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (n == 0) { loss.Clear(); return; }
            for (int r = 0; r < loss.Length; r++)
            {
                var xs = x.Slice(r * n, n); var ls = l.Slice(r * n, n); var bs = bp.Slice(r * n, n);
                T m = TensorPrimitives.Max(xs);
                TensorPrimitives.Subtract(xs, m, bs);
                // loss = sum(labels · (lse - (x - m))), lse = log(sum(exp(x - m)))
                T dot = TensorPrimitives.Dot<T>(ls, bs), sumL = TensorPrimitives.Sum<T>(ls);
                TensorPrimitives.Exp(bs, bs);
                T s = TensorPrimitives.Sum<T>(bs);
                loss[r] = T.Log(s) * sumL - dot;
                // The exact gradient, sum(labels)·softmax - labels: softmax - labels when labels are a distribution.
                TensorPrimitives.Multiply(bs, sumL / s, bs);
                TensorPrimitives.Subtract(bs, ls, bs);
            }
        }

        /// <summary>Returns the flat index of the first out-of-range label, or -1.</summary>
        static long Sparse<T>(ReadOnlySpan<T> x, NDArray labels, Span<T> loss, Span<T> bp, int n) where T : unmanaged, IFloatingPointIeee754<T>
        {
            for (int r = 0; r < loss.Length; r++)
            {
                long k = labels.DType == DType.Int32 ? labels.AsSpan<int>()[r] : labels.AsSpan<long>()[r];
                if ((ulong)k >= (ulong)n) return r;
                var xs = x.Slice(r * n, n); var bs = bp.Slice(r * n, n);
                T m = TensorPrimitives.Max(xs);
                TensorPrimitives.Subtract(xs, m, bs);
                T sk = bs[(int)k];
                TensorPrimitives.Exp(bs, bs);
                T s = TensorPrimitives.Sum<T>(bs);
                loss[r] = T.Log(s) - sk;
                TensorPrimitives.Divide(bs, s, bs);
                bs[(int)k] -= T.One;
            }
            return -1;
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for losses (TF1's <c>tf.nn.*_cross_entropy_with_logits</c>, <c>tf.nn.l2_loss</c>, <c>tf.losses.*</c>).</summary>
    public static class LossBuilders
    {
        /// <summary>The collection the <c>tf.losses</c>-style builders add their result to (TF1's <c>GraphKeys.LOSSES</c>).</summary>
        public const string LossesCollection = "losses";

        /// <summary>Per-row cross-entropy between <paramref name="labels"/> (a distribution per row) and
        /// <c>softmax(logits)</c> over the last axis; shape <c>logits.shape[:-1]</c>. The gradient flows to both inputs.</summary>
        public static Tensor SoftmaxCrossEntropyWithLogits(this Graph g, Tensor labels, Tensor logits, string? name = null) =>
            g.AddOp(LossOps.SoftmaxCrossEntropyWithLogits, [logits, labels], new Attrs { ["T"] = logits.DType }, name ?? "SoftmaxCrossEntropyWithLogits").Outputs[0];

        /// <summary>Per-row cross-entropy for integer class labels (int32/int64, shape <c>logits.shape[:-1]</c>).
        /// A label outside <c>[0, classes)</c> fails the run with a message naming it.</summary>
        public static Tensor SparseSoftmaxCrossEntropyWithLogits(this Graph g, Tensor labels, Tensor logits, string? name = null) =>
            g.AddOp(LossOps.SparseSoftmaxCrossEntropyWithLogits, [logits, labels],
                new Attrs { ["T"] = logits.DType, ["Tlabels"] = labels.DType }, name ?? "SparseSoftmaxCrossEntropyWithLogits").Outputs[0];

        /// <summary>Elementwise logistic loss <c>max(x, 0) - x·z + log(1 + e^-|x|)</c> (x = logits, z = labels), stable for large |x|.</summary>
        public static Tensor SigmoidCrossEntropyWithLogits(this Graph g, Tensor labels, Tensor logits, string? name = null)
        {
            if (!labels.Shape.IsCompatibleWith(logits.Shape) || labels.DType != logits.DType)
                throw new GraphBuildException($"SigmoidCrossEntropyWithLogits: logits and labels must have the same shape and dtype, " +
                    $"logits {logits.DType.Name()} {logits.Shape} and labels {labels.DType.Name()} {labels.Shape}{CallSite.Describe()}");
            using var _ = g.NameScope(name ?? "logistic_loss");
            // TF's arrangement: (relu(x) - x·z) + log1p(e^-|x|), with the selects written so that the gradient at x = 0 is
            // sigmoid(0) - z; log1p(e^u) is Softplus(u), whose kernel stays accurate when e^u is tiny.
            var cond = g.GreaterEqual(logits, g.Scalar(0, logits.DType));
            var reluLogits = g.Where(cond, logits, g.ZerosLike(logits));
            var negAbsLogits = g.Where(cond, -logits, logits);
            return g.Add(reluLogits - logits * labels, g.Softplus(negAbsLogits), "value");
        }

        /// <summary><c>sum(x²) / 2</c>.</summary>
        public static Tensor L2Loss(this Graph g, Tensor x, string? name = null) => g.Add1(LossOps.L2Loss, [x], new Attrs { ["T"] = x.DType }, name);

        /// <summary>Mean over all elements of <c>(predictions - labels)²</c> (TF1's <c>tf.losses.mean_squared_error</c> with its
        /// default reduction); added to <see cref="LossesCollection"/>.</summary>
        public static Tensor MeanSquaredError(this Graph g, Tensor labels, Tensor predictions, string? name = null)
        {
            if (!labels.Shape.IsCompatibleWith(predictions.Shape))
                throw new GraphBuildException($"MeanSquaredError: predictions {predictions.Shape} and labels {labels.Shape} must have the same shape{CallSite.Describe()}");
            using var _ = g.NameScope(name ?? "mean_squared_error");
            return Register(g, g.Mean(g.SquaredDifference(predictions, labels), name: "value"));
        }

        /// <summary>Mean over the batch of <see cref="SoftmaxCrossEntropyWithLogits"/> (TF1's <c>tf.losses.softmax_cross_entropy</c>).</summary>
        public static Tensor SoftmaxCrossEntropyLoss(this Graph g, Tensor onehotLabels, Tensor logits, string? name = null)
        {
            using var _ = g.NameScope(name ?? "softmax_cross_entropy_loss");
            return Register(g, g.Mean(g.SoftmaxCrossEntropyWithLogits(onehotLabels, logits), name: "value"));
        }

        /// <summary>Mean over the batch of <see cref="SparseSoftmaxCrossEntropyWithLogits"/> (TF1's <c>tf.losses.sparse_softmax_cross_entropy</c>).</summary>
        public static Tensor SparseSoftmaxCrossEntropyLoss(this Graph g, Tensor labels, Tensor logits, string? name = null)
        {
            using var _ = g.NameScope(name ?? "sparse_softmax_cross_entropy_loss");
            return Register(g, g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(labels, logits), name: "value"));
        }

        /// <summary>Mean over all elements of <see cref="SigmoidCrossEntropyWithLogits"/> (TF1's <c>tf.losses.sigmoid_cross_entropy</c>).</summary>
        public static Tensor SigmoidCrossEntropyLoss(this Graph g, Tensor multiClassLabels, Tensor logits, string? name = null)
        {
            using var _ = g.NameScope(name ?? "sigmoid_cross_entropy_loss");
            return Register(g, g.Mean(g.SigmoidCrossEntropyWithLogits(multiClassLabels, logits), name: "value"));
        }

        static Tensor Register(Graph g, Tensor loss)
        {
            g.AddToCollection(LossesCollection, loss);
            return loss;
        }
    }
}
