using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.ArrayKernels;
using Spec = GraphDl.Ops.StridedSliceSpec;

namespace GraphDl.Ops
{
    /// <summary>Slicing and padding: Slice, StridedSlice, StridedSliceGrad, Pad, PadV2.</summary>
    public static class SliceOps
    {
        /// <summary>A box of <c>x</c>: <c>size[i]</c> elements from <c>begin[i]</c> (size -1 = to the end).</summary>
        public static readonly OpDef Slice = new()
        {
            Name = "Slice", Grad = SliceGrad,
            Infer = c =>
            {
                RequireIndex(c, 1, "begin");
                RequireIndex(c, 2, "size");
                var s = c.Shape(0);
                var b = c.Ints(1);
                var z = c.Ints(2);
                int r = s.HasRank ? s.Rank : b?.Length ?? z?.Length ?? (c.Shape(1).Rank == 1 ? c.Shape(1)[0] : -1);
                if (r < 0) return InferContext.One(c.DType(0), Shape.Unknown);
                if (b != null && b.Length != r) throw new ShapeError($"begin {Shape.Format(b)} has {b.Length} entries for {s} of rank {r}");
                if (z != null && z.Length != r) throw new ShapeError($"size {Shape.Format(z)} has {z.Length} entries for {s} of rank {r}");
                var dims = new int[r];
                for (int i = 0; i < r; i++)
                {
                    int d = s.HasRank ? s[i] : -1;
                    if (z == null) { dims[i] = -1; continue; }
                    if (z[i] < -1) throw new ShapeError($"size[{i}] = {z[i]} must be -1 or non-negative");
                    if (b != null && d >= 0 && (b[i] < 0 || b[i] > d || (z[i] >= 0 && b[i] + z[i] > d)))
                        throw new ShapeError($"slice of begin {b[i]} and size {z[i]} is out of bounds for dimension {i} of {s}");
                    dims[i] = z[i] >= 0 ? z[i] : b != null && d >= 0 ? d - b[i] : -1;
                }
                return InferContext.One(c.DType(0), new Shape(dims));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int r = x.Rank;
                var bt = c.Input(1); var zt = c.Input(2);
                if (bt.Size != r || zt.Size != r) throw c.Error($"begin and size need {r} entries for {Shape.Format(x.Dims)}, got {bt.Size} and {zt.Size}");
                Span<int> dims = stackalloc int[r];
                Span<int> xs = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                int off = 0;
                bool whole = true;
                for (int i = 0; i < r; i++)
                {
                    int b = IntAt(bt, i), z = IntAt(zt, i), d = x.Dims[i];
                    if (z == -1) z = d - b;
                    if (b < 0 || b > d || z < 0 || z > d - b)
                        throw c.Error($"slice of begin {IntAt(bt, i)} and size {IntAt(zt, i)} is out of bounds for dimension {i} of {Shape.Format(x.Dims)}");
                    dims[i] = z;
                    off += b * xs[i];
                    whole &= z == d;
                }
                if (whole) { c.Forward(0, x); return; }
                var y = c.Output(0, dims);
                ArrayKernels.Gather(x, off, xs, y, 0, dims);
            },
        };

        static Tensor?[] SliceGrad(GradContext c)
        {
            // dx = dy padded by begin before and (dims - begin - size) after each dim.
            var g = c.G;
            var x = c.X(0); var y = c.Y();
            var b = ConstantFolding.Ints(c.X(1));
            Tensor paddings;
            if (b != null && x.Shape.IsFullyDefined && y.Shape.IsFullyDefined)
            {
                var p = new int[2 * b.Length];
                for (int i = 0; i < b.Length; i++) { p[2 * i] = b[i]; p[2 * i + 1] = x.Shape[i] - b[i] - y.Shape[i]; }
                paddings = g.Const(NDArray.From(p, b.Length, 2), "paddings");
            }
            else
            {
                var b32 = c.X(1).DType == DType.Int32 ? c.X(1) : g.Cast(c.X(1), DType.Int32);
                paddings = g.Stack([b32, ShapeTensor(g, x) - b32 - ShapeTensor(g, y)], axis: 1);
            }
            var dx = g.Pad(c.Dy, paddings);
            dx.SetShape(x.Shape);
            return [dx, null, null];
        }

        /// <summary>TF's strided slice (numpy-style basic indexing) with begin/end/ellipsis/new-axis/shrink masks.</summary>
        public static readonly OpDef StridedSlice = new()
        {
            Name = "StridedSlice",
            Grad = c =>
            {
                var dx = c.G.StridedSliceGrad(ShapeTensor(c.G, c.X(0)), c.X(1), c.X(2), c.X(3), c.Dy, Spec.Masks.From(c.Attrs));
                dx.SetShape(c.X(0).Shape);
                return [dx, null, null, null];
            },
            Infer = c =>
            {
                for (int i = 1; i <= 3; i++) RequireIndex(c, i, i == 1 ? "begin" : i == 2 ? "end" : "strides");
                return InferContext.One(c.DType(0), InferSliced(c.Shape(0), c.Ints(1), c.Ints(2), c.Ints(3), Spec.Masks.From(c.Attrs)));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int r = x.Rank, n = c.Input(3).Size;
                Span<int> start = stackalloc int[r]; Span<int> step = stackalloc int[r]; Span<int> size = stackalloc int[r];
                Span<int> final = stackalloc int[r + n];
                int fr = ResolveAtRunTime(c, x.Dims, 1, start, step, size, final);
                Span<int> xs = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                int off = 0;
                bool whole = true;
                for (int i = 0; i < r; i++)
                {
                    if (size[i] > 0) off += start[i] * xs[i];
                    whole &= size[i] == x.Dims[i] && (step[i] == 1 || size[i] <= 1) && (start[i] == 0 || size[i] == 0);
                    xs[i] *= step[i];
                }
                if (whole) { c.View(0, x, final[..fr]); return; }
                var y = c.Output(0, final[..fr]);
                ArrayKernels.Gather(x, off, xs, y, 0, size);
            },
        };

        /// <summary>Resolves the spec held in inputs <c>first..first+2</c> against <paramref name="dims"/>; returns the output rank.</summary>
        static int ResolveAtRunTime(KernelContext c, ReadOnlySpan<int> dims, int first, Span<int> start, Span<int> step, Span<int> size, Span<int> final)
        {
            var bt = c.Input(first); var et = c.Input(first + 1); var st = c.Input(first + 2);
            Span<int> b = stackalloc int[bt.Size]; Span<int> e = stackalloc int[et.Size]; Span<int> s = stackalloc int[st.Size];
            ReadInts(bt, b); ReadInts(et, e); ReadInts(st, s);
            var err = Spec.Resolve(dims, b, true, e, true, s, Spec.Masks.From(c.Attrs), start, step, size, final, out int fr);
            if (err != null) throw c.Error($"{err} (slicing {Shape.Format(dims)} with begin {Shape.Format(b)}, end {Shape.Format(e)}, strides {Shape.Format(s)})");
            return fr;
        }

        static Shape InferSliced(Shape s, int[]? b, int[]? e, int[]? st, Spec.Masks m)
        {
            if (!s.HasRank || st == null) return Shape.Unknown;
            int r = s.Rank, n = st.Length;
            var start = new int[r]; var step = new int[r]; var size = new int[r]; var final = new int[r + n];
            var err = Spec.Resolve(s.Dims, b ?? [], b != null, e ?? [], e != null, st, m, start, step, size, final, out int fr);
            if (err != null)
                throw new ShapeError($"{err} (slicing {s} with begin {Fmt(b)}, end {Fmt(e)}, strides {Shape.Format(st)})");
            return new Shape(final[..fr]);
        }

        static string Fmt(int[]? v) => v == null ? "<unknown>" : Shape.Format(v);

        /// <summary>The gradient of StridedSlice: zeros of <c>shape</c> with <c>dy</c> written at the sliced positions.
        /// Inputs are (shape, begin, end, strides, dy).</summary>
        public static readonly OpDef StridedSliceGrad = new()
        {
            Name = "StridedSliceGrad",
            Grad = c => [null, null, null, null, c.G.StridedSlice(c.Dy, c.X(1), c.X(2), c.X(3), Spec.Masks.From(c.Attrs))],
            Infer = c =>
            {
                for (int i = 0; i <= 3; i++) RequireIndex(c, i, i == 0 ? "shape" : i == 1 ? "begin" : i == 2 ? "end" : "strides");
                var dims = c.Ints(0);
                if (dims == null) return InferContext.One(c.DType(4), c.Shape(0).Rank == 1 && c.Shape(0)[0] >= 0 ? Shape.UnknownOfRank(c.Shape(0)[0]) : Shape.Unknown);
                var s = new Shape(dims);
                var sliced = InferSliced(s, c.Ints(1), c.Ints(2), c.Ints(3), Spec.Masks.From(c.Attrs));
                if (!sliced.IsCompatibleWith(c.Shape(4))) throw new ShapeError($"dy has shape {c.Shape(4)}, slicing {s} gives {sliced}");
                return InferContext.One(c.DType(4), s);
            },
            Cpu = c =>
            {
                var shape = c.Input(0);
                int r = shape.Size, n = c.Input(3).Size;
                Span<int> dims = stackalloc int[r];
                ReadInts(shape, dims);
                Span<int> start = stackalloc int[r]; Span<int> step = stackalloc int[r]; Span<int> size = stackalloc int[r];
                Span<int> final = stackalloc int[r + n];
                int fr = ResolveAtRunTime(c, dims, 1, start, step, size, final);
                var dy = c.Input(4);
                if (!dy.Dims.SequenceEqual(final[..fr])) throw c.Error($"dy has shape {Shape.Format(dy.Dims)}, slicing {Shape.Format(dims)} gives {Shape.Format(final[..fr])}");
                var y = c.Output(0, dims);
                FillZero(y);
                Span<int> ys = stackalloc int[r];
                ContiguousStrides(dims, ys);
                Span<int> ds = stackalloc int[r];
                ContiguousStrides(size, ds);
                int off = 0;
                for (int i = 0; i < r; i++) { if (size[i] > 0) off += start[i] * ys[i]; ys[i] *= step[i]; }
                StridedCopy(dy, 0, ds, y, off, ys, size);
            },
        };

        /// <summary>Pads with zeros; <c>paddings</c> is [rank, 2] (before, after).</summary>
        public static readonly OpDef Pad = PadDef("Pad");

        /// <summary>Pads with a scalar <c>constant_values</c>.</summary>
        public static readonly OpDef PadV2 = PadDef("PadV2");

        static OpDef PadDef(string name) => new()
        {
            Name = name,
            Grad = c =>
            {
                var g = c.G;
                var x = c.X(0);
                var p = ConstantFolding.Ints(c.X(1));
                var begin = p != null ? g.Const(NDArray.From(Enumerable.Range(0, p.Length / 2).Select(i => p[2 * i]).ToArray()), "begin")
                    : g.Reshape(g.Slice(c.X(1), [0, 0], [-1, 1]), [-1]);
                var dx = g.Slice(c.Dy, begin, ShapeTensor(g, x));
                dx.SetShape(x.Shape);
                // The padding value fills every position that is not x.
                return c.Op.Inputs.Length == 2 ? [dx, null] : [dx, null, g.Sum(c.Dy) - g.Sum(dx)];
            },
            Infer = c =>
            {
                RequireIndex(c, 1, "paddings");
                var s = c.Shape(0);
                if (c.Inputs.Length == 3)
                {
                    if (c.DType(2) != c.DType(0)) throw new ShapeError($"constant_values is {c.DType(2).Name()}, input is {c.DType(0).Name()}");
                    if (c.Shape(2).HasRank && c.Shape(2).Rank != 0) throw new ShapeError($"constant_values must be a scalar, got {c.Shape(2)}");
                }
                var ps = c.Shape(1);
                if (ps.HasRank && (ps.Rank != 2 || (ps[1] >= 0 && ps[1] != 2) || (s.HasRank && ps[0] >= 0 && ps[0] != s.Rank)))
                    throw new ShapeError($"paddings must have shape [{(s.HasRank ? s.Rank : "rank")},2], got {ps} for input {s}");
                var p = c.Ints(1);
                int r = s.HasRank ? s.Rank : ps.HasRank ? ps[0] : -1;
                if (r < 0) return InferContext.One(c.DType(0), Shape.Unknown);
                if (p == null) return InferContext.One(c.DType(0), Shape.UnknownOfRank(r));
                if (p.Any(v => v < 0)) throw new ShapeError($"paddings {Shape.Format(p)} must be non-negative");
                return InferContext.One(c.DType(0), new Shape(Enumerable.Range(0, r).Select(i => s[i] < 0 ? -1 : s[i] + p[2 * i] + p[2 * i + 1]).ToArray()));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var pt = c.Input(1);
                int r = x.Rank;
                if (pt.Rank != 2 || pt.Dims[0] != r || pt.Dims[1] != 2)
                    throw c.Error($"paddings must have shape [{r},2] for {Shape.Format(x.Dims)}, got {Shape.Format(pt.Dims)}");
                Span<int> dims = stackalloc int[r];
                int off = 0;
                bool none = true;
                Span<int> ys = stackalloc int[r];
                for (int i = 0; i < r; i++)
                {
                    int before = IntAt(pt, 2 * i), after = IntAt(pt, 2 * i + 1);
                    if (before < 0 || after < 0) throw c.Error($"paddings for dimension {i} must be non-negative, got [{before},{after}]");
                    dims[i] = x.Dims[i] + before + after;
                    none &= before == 0 && after == 0;
                }
                if (none) { c.Forward(0, x); return; }
                var y = c.Output(0, dims);
                if (c.InputCount == 3) FillWith(y, c.Input(2)); else FillZero(y);
                ContiguousStrides(dims, ys);
                for (int i = 0; i < r; i++) off += IntAt(pt, 2 * i) * ys[i];
                Span<int> xs = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                StridedCopy(x, 0, xs, y, off, ys, x.Dims);
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for slicing and padding.</summary>
    public static class SliceBuilders
    {
        /// <summary><paramref name="size"/>[i] elements of dim i from <paramref name="begin"/>[i]; size -1 = to the end (TF's <c>tf.slice</c>).</summary>
        public static Tensor Slice(this Graph g, Tensor x, int[] begin, int[] size, string? name = null) =>
            g.Slice(x, g.Const(NDArray.From(begin), "begin"), g.Const(NDArray.From(size), "size"), name);

        /// <summary>Slice with begin and size tensors.</summary>
        public static Tensor Slice(this Graph g, Tensor x, Tensor begin, Tensor size, string? name = null) =>
            g.Add1(SliceOps.Slice, [x, begin, size], new Attrs { ["T"] = x.DType, ["Index"] = begin.DType }, name);

        /// <summary>Numpy-style slicing <c>x[begin:end:strides]</c> with TF's masks (bit i refers to entry i of the spec):
        /// begin/end mask ignore that bound, ellipsis expands to the remaining dims, new-axis inserts a 1, shrink drops the dim.</summary>
        public static Tensor StridedSlice(this Graph g, Tensor x, int[] begin, int[] end, int[]? strides = null, int beginMask = 0, int endMask = 0,
            int ellipsisMask = 0, int newAxisMask = 0, int shrinkAxisMask = 0, string? name = null) =>
            g.StridedSlice(x, g.Const(NDArray.From(begin), "begin"), g.Const(NDArray.From(end), "end"),
                g.Const(NDArray.From(strides ?? Enumerable.Repeat(1, begin.Length).ToArray()), "strides"),
                new StridedSliceSpec.Masks(beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask), name);

        /// <summary>Strided slice with begin/end/strides tensors.</summary>
        public static Tensor StridedSlice(this Graph g, Tensor x, Tensor begin, Tensor end, Tensor strides, int beginMask = 0, int endMask = 0,
            int ellipsisMask = 0, int newAxisMask = 0, int shrinkAxisMask = 0, string? name = null) =>
            g.StridedSlice(x, begin, end, strides, new StridedSliceSpec.Masks(beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask), name);

        internal static Tensor StridedSlice(this Graph g, Tensor x, Tensor begin, Tensor end, Tensor strides, StridedSliceSpec.Masks m, string? name = null)
        {
            var a = new Attrs { ["T"] = x.DType, ["Index"] = begin.DType };
            m.To(a);
            return g.Add1(SliceOps.StridedSlice, [x, begin, end, strides], a, name);
        }

        internal static Tensor StridedSliceGrad(this Graph g, Tensor shape, Tensor begin, Tensor end, Tensor strides, Tensor dy, StridedSliceSpec.Masks m, string? name = null)
        {
            var a = new Attrs { ["T"] = dy.DType, ["Index"] = begin.DType };
            m.To(a);
            return g.Add1(SliceOps.StridedSliceGrad, [shape, begin, end, strides, dy], a, name);
        }

        /// <summary>The gradient of a strided slice: <paramref name="dy"/> scattered into zeros of <paramref name="shape"/>.</summary>
        public static Tensor StridedSliceGrad(this Graph g, Tensor shape, Tensor begin, Tensor end, Tensor strides, Tensor dy, int beginMask = 0, int endMask = 0,
            int ellipsisMask = 0, int newAxisMask = 0, int shrinkAxisMask = 0, string? name = null) =>
            g.StridedSliceGrad(shape, begin, end, strides, dy, new StridedSliceSpec.Masks(beginMask, endMask, ellipsisMask, newAxisMask, shrinkAxisMask), name);

        /// <summary>Pads with <paramref name="constantValue"/>; <paramref name="paddings"/> is [rank, 2] (before, after) (TF's <c>tf.pad</c>, constant mode).</summary>
        public static Tensor Pad(this Graph g, Tensor x, int[,] paddings, double constantValue = 0, string? name = null) =>
            constantValue == 0 ? g.Pad(x, g.Const(NDArray.FromMultiDim(paddings), "paddings"), name)
                : g.Pad(x, g.Const(NDArray.FromMultiDim(paddings), "paddings"), g.Scalar(constantValue, x.DType, "constant_values"), name);

        /// <summary>Zero padding by a [rank, 2] paddings tensor.</summary>
        public static Tensor Pad(this Graph g, Tensor x, Tensor paddings, string? name = null) =>
            g.Add1(SliceOps.Pad, [x, paddings], new Attrs { ["T"] = x.DType, ["Tpaddings"] = paddings.DType }, name);

        /// <summary>Padding by a [rank, 2] paddings tensor with a scalar fill value (op PadV2).</summary>
        public static Tensor Pad(this Graph g, Tensor x, Tensor paddings, Tensor constantValues, string? name = null) =>
            g.Add1(SliceOps.PadV2, [x, paddings, constantValues], new Attrs { ["T"] = x.DType, ["Tpaddings"] = paddings.DType }, name);
    }
}
