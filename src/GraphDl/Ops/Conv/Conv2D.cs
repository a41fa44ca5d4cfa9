using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>2-D convolution in NHWC (TF's <c>Conv2D</c>) and its two gradient ops, each differentiable again.
    /// Attrs: <c>strides</c>, <c>padding</c> ("SAME"/"VALID"), <c>dilations</c>, <c>data_format</c> ("NHWC"), <c>T</c>.</summary>
    public static unsafe class ConvOps
    {
        /// <summary><c>y[n,oh,ow,o] = Σ x[n, oh·sh - pt + kh·dh, ow·sw - pl + kw·dw, c] · f[kh,kw,c,o]</c>; input [N,H,W,C],
        /// filter [KH,KW,C,O]. Runs as im2col tiles times the packed GEMM, one tile per worker at a time.</summary>
        public static readonly OpDef Conv2D = new()
        {
            Name = "Conv2D",
            Grad = c =>
            {
                var (g, x, f, dy) = (c.G, c.X(0), c.X(1), c.Dy);
                return [g.Add1(Conv2DBackpropInput!, [g.ShapeOf(x), f, dy], CopyAttrs(c.Attrs, x.DType)),
                        g.Add1(Conv2DBackpropFilter!, [x, g.ShapeOf(f), dy], CopyAttrs(c.Attrs, x.DType))];
            },
            Infer = c =>
            {
                Families.SameDType(c);
                Families.RequireFloat(c, 0);
                var (x, f) = (c.Shape(0), c.Shape(1));
                if (!x.HasRank || !f.HasRank)
                {
                    if (x.HasRank && x.Rank != 4) throw new ShapeError($"input must be rank 4 [batch, height, width, channels], got {x}");
                    if (f.HasRank && f.Rank != 4) throw new ShapeError($"filter must be rank 4 [height, width, in_channels, out_channels], got {f}");
                    return InferContext.One(c.DType(0), Shape.UnknownOfRank(4));
                }
                return InferContext.One(c.DType(0), new Shape(ConvGeom.Make(x.Dims, f.Dims, c.Attrs, "input").OutDims));
            },
            Cpu = c =>
            {
                var (x, f) = (c.Input(0), c.Input(1));
                var geom = RunGeom(c, x.Dims.ToArray(), f.Dims.ToArray(), "input", null);
                var y = c.Output(0, geom.OutDims);
                if (x.DType == DType.Float32)
                    fixed (float* px = x.Raw<float>(), pf = f.Raw<float>(), py = y.Raw<float>()) ConvCore<float>.Forward(geom, px, pf, py, c.Pool);
                else
                    fixed (double* px = x.Raw<double>(), pf = f.Raw<double>(), py = y.Raw<double>()) ConvCore<double>.Forward(geom, px, pf, py, c.Pool);
            },
        };

        /// <summary>Gradient of Conv2D with respect to its input: inputs <c>(input_sizes int32[4], filter, out_backprop)</c>.</summary>
        public static readonly OpDef Conv2DBackpropInput = new()
        {
            Name = "Conv2DBackpropInput",
            Grad = c =>
            {
                var (g, f, dy, dz) = (c.G, c.X(1), c.X(2), c.Dy);
                return [null,
                        g.Add1(Conv2DBackpropFilter!, [dz, g.ShapeOf(f), dy], CopyAttrs(c.Attrs, f.DType)),
                        g.Add1(Conv2D, [dz, f], CopyAttrs(c.Attrs, f.DType))];
            },
            Infer = c =>
            {
                if (c.DType(0) != DType.Int32 && c.DType(0) != DType.Int64) throw new ShapeError($"input_sizes must be int32, got {c.DType(0).Name()}");
                if (c.DType(1) != c.DType(2)) throw new ShapeError($"dtypes differ, filter {c.DType(1).Name()} {c.Shape(1)} and out_backprop {c.DType(2).Name()} {c.Shape(2)}");
                Families.RequireFloat(c, 1);
                var xs = c.AsShape(0);
                var (f, dy) = (c.Shape(1), c.Shape(2));
                if (!xs.HasRank) return InferContext.One(c.DType(1), Shape.UnknownOfRank(4));
                if (f.HasRank) CheckBackprop(ConvGeom.Make(xs.Dims, f.Dims, c.Attrs, "input_sizes"), dy, "out_backprop");
                return InferContext.One(c.DType(1), xs);
            },
            Cpu = c =>
            {
                var (f, dy) = (c.Input(1), c.Input(2));
                var xs = Sizes(c.Input(0));
                var geom = RunGeom(c, xs, f.Dims.ToArray(), "input_sizes", dy);
                var dx = c.Output(0, xs);
                if (f.DType == DType.Float32)
                    fixed (float* pf = f.Raw<float>(), pdy = dy.Raw<float>(), pdx = dx.Raw<float>()) ConvCore<float>.BackpropInput(geom, pf, pdy, pdx, c.Pool);
                else
                    fixed (double* pf = f.Raw<double>(), pdy = dy.Raw<double>(), pdx = dx.Raw<double>()) ConvCore<double>.BackpropInput(geom, pf, pdy, pdx, c.Pool);
            },
        };

        /// <summary>Gradient of Conv2D with respect to its filter: inputs <c>(input, filter_sizes int32[4], out_backprop)</c>.</summary>
        public static readonly OpDef Conv2DBackpropFilter = new()
        {
            Name = "Conv2DBackpropFilter",
            Grad = c =>
            {
                var (g, x, dy, dz) = (c.G, c.X(0), c.X(2), c.Dy);
                return [g.Add1(Conv2DBackpropInput, [g.ShapeOf(x), dz, dy], CopyAttrs(c.Attrs, x.DType)),
                        null,
                        g.Add1(Conv2D, [x, dz], CopyAttrs(c.Attrs, x.DType))];
            },
            Infer = c =>
            {
                if (c.DType(1) != DType.Int32 && c.DType(1) != DType.Int64) throw new ShapeError($"filter_sizes must be int32, got {c.DType(1).Name()}");
                if (c.DType(0) != c.DType(2)) throw new ShapeError($"dtypes differ, input {c.DType(0).Name()} {c.Shape(0)} and out_backprop {c.DType(2).Name()} {c.Shape(2)}");
                Families.RequireFloat(c, 0);
                var fs = c.AsShape(1);
                var (x, dy) = (c.Shape(0), c.Shape(2));
                if (!fs.HasRank) return InferContext.One(c.DType(0), Shape.UnknownOfRank(4));
                if (x.HasRank) CheckBackprop(ConvGeom.Make(x.Dims, fs.Dims, c.Attrs, "input"), dy, "out_backprop");
                return InferContext.One(c.DType(0), fs);
            },
            Cpu = c =>
            {
                var (x, dy) = (c.Input(0), c.Input(2));
                var fs = Sizes(c.Input(1));
                var geom = RunGeom(c, x.Dims.ToArray(), fs, "input", dy);
                var df = c.Output(0, fs);
                if (x.DType == DType.Float32)
                    fixed (float* px = x.Raw<float>(), pdy = dy.Raw<float>(), pdf = df.Raw<float>()) ConvCore<float>.BackpropFilter(geom, px, pdy, pdf, c.Pool);
                else
                    fixed (double* px = x.Raw<double>(), pdy = dy.Raw<double>(), pdf = df.Raw<double>()) ConvCore<double>.BackpropFilter(geom, px, pdy, pdf, c.Pool);
            },
        };

        internal static Attrs CopyAttrs(Attrs a, DType t)
        {
            var r = new Attrs();
            foreach (var kv in a) r[kv.Key] = kv.Value;
            r["T"] = t;
            return r;
        }

        internal static int[] Sizes(NDArray v)
        {
            if (v.Rank != 1 || v.Size != 4) throw new ShapeError($"sizes must be a 4-vector, got shape {Shape.Format(v.Dims)}");
            return v.DType == DType.Int64 ? v.ToArray<long>().Select(x => checked((int)x)).ToArray() : v.ToArray<int>();
        }

        /// <summary>The run-time geometry of input dims <paramref name="x"/> and filter dims <paramref name="f"/>, with
        /// out_backprop <paramref name="dy"/> (the gradient ops) checked against the output shape; errors name the node.
        /// Shared with the GPU kernels (GraphDl.Cuda).</summary>
        internal static ConvGeom RunGeom(KernelContext c, int[] x, int[] f, string what, NDArray? dy) => ConvPadding.AtRun(c, () =>
        {
            var gm = ConvGeom.Make(x, f, c.Attrs, what);
            if (dy != null) CheckBackprop(gm, new Shape(dy.Dims.ToArray()), "out_backprop");
            return gm;
        });

        /// <summary>out_backprop must have the forward output's shape.</summary>
        static void CheckBackprop(ConvGeom g, Shape dy, string what)
        {
            var expect = new Shape(g.OutDims);
            if (!dy.IsCompatibleWith(expect))
                throw new ShapeError($"{what} {dy} does not match the convolution's output shape {expect}");
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for convolutions (TF's <c>tf.nn.conv2d</c> family).</summary>
    public static class ConvBuilders
    {
        internal static Attrs ConvAttrs(DType t, int[]? strides, string padding, int[]? dilations) => new()
        {
            ["strides"] = Nhwc(strides, "strides"),
            ["padding"] = padding,
            ["dilations"] = Nhwc(dilations, "dilations"),
            ["data_format"] = "NHWC",
            ["use_cudnn_on_gpu"] = true,
            ["T"] = t,
        };

        /// <summary>A 1, 2 or 4-entry window attr as TF's NHWC 4-vector (<c>[1, h, w, 1]</c>).</summary>
        internal static int[] Nhwc(int[]? v, string name) => v switch
        {
            null => [1, 1, 1, 1],
            { Length: 1 } => [1, v[0], v[0], 1],
            { Length: 2 } => [1, v[0], v[1], 1],
            { Length: 4 } => (int[])v.Clone(),
            _ => throw new ArgumentException($"{name} must have 1, 2 or 4 entries, got {Shape.Format(v)}", name),
        };

        /// <summary><c>tf.nn.conv2d(x, filter, strides, padding, dilations=...)</c>: x [N,H,W,C], filter [KH,KW,C,O]; strides and
        /// dilations as 1, 2 or 4 (NHWC) entries; padding "SAME" or "VALID".</summary>
        public static Tensor Conv2D(this Graph g, Tensor x, Tensor filter, int[]? strides = null, string padding = "VALID",
            int[]? dilations = null, string? name = null) =>
            g.Add1(ConvOps.Conv2D, [x, filter], ConvAttrs(x.DType, strides, padding, dilations), name);

        /// <summary><c>tf.nn.conv2d_backprop_input</c>: the gradient of Conv2D with respect to an input of <paramref name="inputSizes"/>.</summary>
        public static Tensor Conv2DBackpropInput(this Graph g, Tensor inputSizes, Tensor filter, Tensor outBackprop, int[]? strides = null,
            string padding = "VALID", int[]? dilations = null, string? name = null) =>
            g.Add1(ConvOps.Conv2DBackpropInput, [inputSizes, filter, outBackprop], ConvAttrs(filter.DType, strides, padding, dilations), name);

        /// <summary><c>tf.nn.conv2d_backprop_filter</c>: the gradient of Conv2D with respect to a filter of <paramref name="filterSizes"/>.</summary>
        public static Tensor Conv2DBackpropFilter(this Graph g, Tensor input, Tensor filterSizes, Tensor outBackprop, int[]? strides = null,
            string padding = "VALID", int[]? dilations = null, string? name = null) =>
            g.Add1(ConvOps.Conv2DBackpropFilter, [input, filterSizes, outBackprop], ConvAttrs(input.DType, strides, padding, dilations), name);
    }
}
