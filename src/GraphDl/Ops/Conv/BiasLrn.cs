using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary><c>BiasAdd</c> (a bias vector added along the last, channel, axis) and its gradient <c>BiasAddGrad</c>.</summary>
    public static class BiasOps
    {
        /// <summary><c>value + bias</c> with bias [C] added along the last axis of value [..., C].</summary>
        public static readonly OpDef BiasAdd = new()
        {
            Name = "BiasAdd",
            Grad = c => [c.Dy, c.G.Add1(BiasAddGrad!, [c.Dy], new Attrs { ["data_format"] = "NHWC", ["T"] = c.Dy.DType })],
            Infer = c =>
            {
                Families.SameDType(c);
                Families.RequireFloat(c, 0);
                ConvPadding.CheckFormat(c.Attrs);
                var (v, b) = (c.Shape(0), c.Shape(1));
                if (v.HasRank && v.Rank < 2) throw new ShapeError($"value must be at least rank 2, got {v}");
                if (b.HasRank && b.Rank != 1) throw new ShapeError($"bias must be a vector, got {b}");
                if (v.HasRank && b.HasRank && v[-1] >= 0 && b[0] >= 0 && v[-1] != b[0])
                    throw new ShapeError($"bias length {b[0]} does not match the last dimension of value, {v} + {b}");
                return InferContext.One(c.DType(0), v);
            },
            Cpu = c =>
            {
                var (v, b) = (c.Input(0), c.Input(1));
                if (v.Rank < 2 || b.Rank != 1 || v.Dims[^1] != b.Size)
                    throw c.Error($"bias must be a vector matching the last dimension of value (rank >= 2), {Shape.Format(v.Dims)} + {Shape.Format(b.Dims)}");
                var y = c.Output(0, v.Dims);
                if (v.DType == DType.Float32) Add(v.AsSpan<float>(), b.AsSpan<float>(), y.AsSpan<float>());
                else Add(v.AsSpan<double>(), b.AsSpan<double>(), y.AsSpan<double>());
            },
        };

        /// <summary>Sum of out_backprop [..., C] over every axis but the last.</summary>
        public static readonly OpDef BiasAddGrad = new()
        {
            Name = "BiasAddGrad",
            Grad = c => [c.G.BroadcastTo(c.Dy, c.G.ShapeOf(c.X(0)))],
            Infer = c =>
            {
                Families.RequireFloat(c, 0);
                ConvPadding.CheckFormat(c.Attrs);
                var v = c.Shape(0);
                if (v.HasRank && v.Rank < 2) throw new ShapeError($"out_backprop must be at least rank 2, got {v}");
                return InferContext.One(c.DType(0), Shape.Of(v.HasRank ? v[-1] : -1));
            },
            Cpu = c =>
            {
                var v = c.Input(0);
                if (v.Rank < 2) throw c.Error($"out_backprop must be at least rank 2, got {Shape.Format(v.Dims)}");
                int ch = v.Dims[^1];
                var y = c.Output(0, [ch]);
                if (v.DType == DType.Float32) Sum(v.AsSpan<float>(), y.AsSpan<float>());
                else Sum(v.AsSpan<double>(), y.AsSpan<double>());
            },
        };

        static void Add<T>(ReadOnlySpan<T> v, ReadOnlySpan<T> b, Span<T> y) where T : unmanaged, INumber<T>
        {
            int c = b.Length;
            if (c == 0) return;
            if (c >= 16) { for (int o = 0; o < v.Length; o += c) TensorPrimitives.Add(v.Slice(o, c), b, y.Slice(o, c)); return; }
            // Few channels: the bias repeated to a block of at least 64 elements, added block by block.
            int l = (64 + c - 1) / c * c, at = 0;
            Span<T> tiled = stackalloc T[l];
            for (int o = 0; o < l; o += c) b.CopyTo(tiled.Slice(o, c));
            for (; at + l <= v.Length; at += l) TensorPrimitives.Add(v.Slice(at, l), tiled, y.Slice(at, l));
            int rest = v.Length - at;
            TensorPrimitives.Add(v.Slice(at, rest), tiled[..rest], y.Slice(at, rest));
        }

        static void Sum<T>(ReadOnlySpan<T> v, Span<T> y) where T : unmanaged, INumber<T>
        {
            int c = y.Length;
            y.Clear();
            if (c == 0) return;
            if (c >= 16) { for (int o = 0; o < v.Length; o += c) TensorPrimitives.Add(y, v.Slice(o, c), y); return; }
            // Few channels: sum blocks of at least 64 elements (whole rows), then fold the block's rows.
            int l = (64 + c - 1) / c * c, at = 0;
            Span<T> acc = stackalloc T[l];
            acc.Clear();
            for (; at + l <= v.Length; at += l) TensorPrimitives.Add(acc, v.Slice(at, l), acc);
            int rest = v.Length - at;
            TensorPrimitives.Add(acc[..rest], v.Slice(at, rest), acc[..rest]);
            for (int o = 0; o < l; o += c)
                for (int i = 0; i < c; i++) y[i] += acc[o + i];
        }
    }

    /// <summary>Local response normalization across channels (TF's <c>LRN</c>, used by AlexNet):
    /// <c>y = x / (bias + alpha · Σ_{|j-c| ≤ r} x_j²)^beta</c>; attrs <c>depth_radius</c> (5), <c>bias</c> (1), <c>alpha</c> (1), <c>beta</c> (0.5).</summary>
    public static class LrnOps
    {
        /// <summary>The normalization.</summary>
        public static readonly OpDef LRN = new()
        {
            Name = "LRN",
            Grad = c => [c.G.Add1(LRNGrad!, [c.Dy, c.X(0), c.Y()], ConvOps.CopyAttrs(c.Attrs, c.Dy.DType))],
            Infer = c =>
            {
                Families.RequireFloat(c, 0);
                if (c.Shape(0).HasRank && c.Shape(0).Rank != 4) throw new ShapeError($"input must be rank 4, got {c.Shape(0)}");
                return InferContext.One(c.DType(0), c.Shape(0));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                if (x.Rank != 4) throw c.Error($"input must be rank 4, got {Shape.Format(x.Dims)}");
                var y = c.Output(0, x.Dims);
                var p = Params.Of(c.Attrs);
                if (x.DType == DType.Float32) Forward(p, x.Dims[^1], x.AsSpan<float>(), y.AsSpan<float>());
                else Forward(p, x.Dims[^1], x.AsSpan<double>(), y.AsSpan<double>());
            },
        };

        /// <summary>Gradient of LRN: inputs <c>(input_grads, input_image, output_image)</c>. Not differentiable again (as in TF).</summary>
        public static readonly OpDef LRNGrad = new()
        {
            Name = "LRNGrad",
            Grad = null,
            Infer = c =>
            {
                Families.SameDType(c);
                Families.RequireFloat(c, 0);
                for (int i = 1; i < 3; i++)
                    if (!c.Shape(i).IsCompatibleWith(c.Shape(0)))
                        throw new ShapeError($"input_grads {c.Shape(0)}, input_image {c.Shape(1)} and output_image {c.Shape(2)} must have one shape");
                if (c.Shape(0).HasRank && c.Shape(0).Rank != 4) throw new ShapeError($"input_grads must be rank 4, got {c.Shape(0)}");
                return InferContext.One(c.DType(0), c.Shape(0).MergeWith(c.Shape(1)));
            },
            Cpu = c =>
            {
                var (dy, x) = (c.Input(0), c.Input(1));
                if (x.Rank != 4 || !dy.Dims.SequenceEqual(x.Dims))
                    throw c.Error($"input_grads {Shape.Format(dy.Dims)} and input_image {Shape.Format(x.Dims)} must have one rank-4 shape");
                var dx = c.Output(0, x.Dims);
                var p = Params.Of(c.Attrs);
                if (x.DType == DType.Float32) Backward(p, x.Dims[^1], dy.AsSpan<float>(), x.AsSpan<float>(), dx.AsSpan<float>());
                else Backward(p, x.Dims[^1], dy.AsSpan<double>(), x.AsSpan<double>(), dx.AsSpan<double>());
            },
        };

        readonly record struct Params(int R, double Bias, double Alpha, double Beta)
        {
            public static Params Of(Attrs a) => new(a.Int("depth_radius", 5), a.Float("bias", 1), a.Float("alpha", 1), a.Float("beta", 0.5));
        }

        static T Norm<T>(in Params p, ReadOnlySpan<T> x, int c) where T : unmanaged, IFloatingPoint<T>
        {
            T s = T.Zero;
            int lo = Math.Max(0, c - p.R), hi = Math.Min(x.Length - 1, c + p.R);
            for (int j = lo; j <= hi; j++) s += x[j] * x[j];
            return T.CreateTruncating(p.Bias) + T.CreateTruncating(p.Alpha) * s;
        }

        static void Forward<T>(Params p, int depth, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPoint<T>, IPowerFunctions<T>
        {
            T beta = T.CreateTruncating(p.Beta);
            for (int o = 0; o < x.Length; o += depth)
            {
                var xr = x.Slice(o, depth);
                for (int c = 0; c < depth; c++) y[o + c] = xr[c] / T.Pow(Norm(p, xr, c), beta);
            }
        }

        static void Backward<T>(Params p, int depth, ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> dx) where T : unmanaged, IFloatingPoint<T>, IPowerFunctions<T>
        {
            // dx_j = dy_j·N_j^-β - 2αβ·x_j·Σ_{|i-j|≤r} dy_i·x_i·N_i^(-β-1)
            T beta = T.CreateTruncating(p.Beta), k = T.CreateTruncating(2 * p.Alpha * p.Beta);
            Span<T> t = depth <= 256 ? stackalloc T[depth] : new T[depth];
            Span<T> np = depth <= 256 ? stackalloc T[depth] : new T[depth];
            for (int o = 0; o < x.Length; o += depth)
            {
                var xr = x.Slice(o, depth);
                for (int i = 0; i < depth; i++)
                {
                    T n = Norm(p, xr, i);
                    np[i] = T.Pow(n, -beta);
                    t[i] = dy[o + i] * xr[i] * np[i] / n;
                }
                for (int j = 0; j < depth; j++)
                {
                    T s = T.Zero;
                    int lo = Math.Max(0, j - p.R), hi = Math.Min(depth - 1, j + p.R);
                    for (int i = lo; i <= hi; i++) s += t[i];
                    dx[o + j] = dy[o + j] * np[j] - k * xr[j] * s;
                }
            }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for BiasAdd and LRN.</summary>
    public static class BiasLrnBuilders
    {
        /// <summary><c>tf.nn.bias_add(value, bias)</c>: bias [C] added along value's last axis.</summary>
        public static Tensor BiasAdd(this Graph g, Tensor value, Tensor bias, string? name = null) =>
            g.Add1(BiasOps.BiasAdd, [value, bias], new Attrs { ["data_format"] = "NHWC", ["T"] = value.DType }, name);

        /// <summary>TF's raw <c>BiasAddGrad(out_backprop)</c>: the sum over every axis but the last.</summary>
        public static Tensor BiasAddGrad(this Graph g, Tensor outBackprop, string? name = null) =>
            g.Add1(BiasOps.BiasAddGrad, [outBackprop], new Attrs { ["data_format"] = "NHWC", ["T"] = outBackprop.DType }, name);

        /// <summary><c>tf.nn.local_response_normalization(x, depth_radius, bias, alpha, beta)</c> across the channel axis.</summary>
        public static Tensor Lrn(this Graph g, Tensor x, int depthRadius = 5, double bias = 1, double alpha = 1, double beta = 0.5, string? name = null) =>
            g.Add1(LrnOps.LRN, [x], new Attrs { ["depth_radius"] = depthRadius, ["bias"] = bias, ["alpha"] = alpha, ["beta"] = beta, ["T"] = x.DType }, name);
    }
}
