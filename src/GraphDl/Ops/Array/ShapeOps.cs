using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Shape plumbing: Shape, Size, Reshape, BroadcastTo, SumToShape, Fill, ZerosLike, OnesLike.</summary>
    public static class ShapeOps
    {
        /// <summary>The dims of a tensor as an int32 vector.</summary>
        public static readonly OpDef Shape = new()
        {
            Name = "Shape", Grad = null, DimsOnly = true,
            Infer = c => InferContext.One(DType.Int32, GraphDl.Shape.Of(c.Shape(0).Rank)),
            Cpu = c =>
            {
                var x = c.Input(0);
                var y = c.Output(0, [x.Rank]);
                x.Dims.CopyTo(y.AsSpan<int>());
            },
        };

        /// <summary>The element count as an int32 scalar.</summary>
        public static readonly OpDef Size = new()
        {
            Name = "Size", Grad = null, DimsOnly = true,
            Infer = _ => InferContext.One(DType.Int32, GraphDl.Shape.Scalar),
            Cpu = c => c.Output(0, []).AsSpan<int>()[0] = c.Input(0).Size,
        };

        /// <summary>Same values, new dims; one dim may be -1 (inferred).</summary>
        public static readonly OpDef Reshape = new()
        {
            Name = "Reshape", Aliases = true,
            Grad = c => [c.G.Reshape(c.Dy, c.G.ShapeOf(c.X(0))), null],
            Infer = c =>
            {
                var target = c.Ints(1);
                if (target == null) return InferContext.One(c.DType(0), c.Shape(1).IsFullyDefined ? GraphDl.Shape.UnknownOfRank(c.Shape(1)[0]) : GraphDl.Shape.Unknown);
                long n = c.Shape(0).NumElements;
                var dims = (int[])target.Clone();
                int unknown = Array.IndexOf(dims, -1);
                long known = dims.Where(d => d >= 0).Aggregate(1L, (a, d) => a * d);
                if (dims.Count(d => d == -1) > 1 || dims.Any(d => d < -1)) throw new ShapeError($"bad target shape {GraphDl.Shape.Format(target)}");
                if (n >= 0)
                {
                    if (unknown >= 0)
                    {
                        if (known == 0 || n % known != 0) throw new ShapeError($"cannot reshape {c.Shape(0)} ({n} values) into {GraphDl.Shape.Format(target)}");
                        dims[unknown] = (int)(n / known);
                    }
                    else if (known != n) throw new ShapeError($"cannot reshape {c.Shape(0)} ({n} values) into {GraphDl.Shape.Format(target)}");
                }
                return InferContext.One(c.DType(0), new Shape(dims));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var t = c.Input(1).AsSpan<int>();
                Span<int> dims = stackalloc int[t.Length];
                t.CopyTo(dims);
                ResolveReshape(c, x.Size, x.Dims, dims);
                c.View(0, x, dims);
            },
        };

        internal static void ResolveReshape(KernelContext c, int n, ReadOnlySpan<int> from, Span<int> dims)
        {
            long known = 1; int unknown = -1;
            for (int i = 0; i < dims.Length; i++)
                if (dims[i] == -1) unknown = i; else known *= dims[i];
            if (unknown >= 0 && known > 0 && n % known == 0) dims[unknown] = (int)(n / known);
            else if (unknown >= 0 || known != n)
                throw c.Error($"cannot reshape {GraphDl.Shape.Format(from)} ({n} values) into {GraphDl.Shape.Format(dims)}");
        }

        /// <summary>Broadcasts to a target shape (NumPy rules).</summary>
        public static readonly OpDef BroadcastTo = new()
        {
            Name = "BroadcastTo", Aliases = true,
            Grad = c => [c.G.SumToShape(c.Dy, c.G.ShapeOf(c.X(0))), null],
            Infer = c =>
            {
                var target = c.AsShape(1);
                var s = Broadcast.Shapes(c.Shape(0), target);
                return InferContext.One(c.DType(0), target.IsFullyDefined ? target : s);
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var t = c.Input(1).AsSpan<int>();
                Span<int> dims = stackalloc int[Math.Max(t.Length, x.Rank)];
                if (!Broadcast.Dims(x.Dims, t, dims) || dims.Length != t.Length || !dims.SequenceEqual(t))
                    throw c.Error($"cannot broadcast {GraphDl.Shape.Format(x.Dims)} to {GraphDl.Shape.Format(t)}");
                if (x.Dims.SequenceEqual(dims)) { c.Forward(0, x); return; }
                var y = c.Output(0, dims);
                Expand(x, y);
            },
        };

        /// <summary>Copies <paramref name="x"/> broadcast into <paramref name="y"/>.</summary>
        internal static void Expand(NDArray x, NDArray y)
        {
            switch (x.DType)
            {
                case DType.Float32: Expand<float>(x, y); break;
                case DType.Float64: Expand<double>(x, y); break;
                case DType.Int32: Expand<int>(x, y); break;
                case DType.Int64: Expand<long>(x, y); break;
                case DType.Bool: Expand<bool>(x, y); break;
                default: Expand<byte>(x, y); break;
            }
        }

        static void Expand<T>(NDArray x, NDArray y)
        {
            var sx = x.AsSpan<T>(); var sy = y.AsSpan<T>();
            if (sx.Length == 1) { sy.Fill(sx[0]); return; }
            // Row broadcast ([d] -> [n,d]) is the common case: copy whole rows.
            if (y.Size % x.Size == 0 && y.Dims[^x.Rank..].SequenceEqual(x.Dims))
            {
                for (int o = 0; o < sy.Length; o += sx.Length) sx.CopyTo(sy.Slice(o, sx.Length));
                return;
            }
            // General case in blocks: the trailing dims where x and y agree are copied as one contiguous block, or, where x's
            // trailing dims are all 1, one value is filled over them; only the outer index is decoded per block.
            var yd = y.Dims;
            var xd = x.Dims;
            int shift = yd.Length - xd.Length;
            int split = yd.Length, block = 1;
            while (split > shift && xd[split - 1 - shift] == yd[split - 1]) block *= yd[--split];
            bool fill = false;
            if (block == 1)
            {
                while (split > 0 && (split - 1 < shift || xd[split - 1 - shift] == 1)) block *= yd[--split];
                fill = true;
            }
            int outer = sy.Length / Math.Max(block, 1);
            Span<int> idx = stackalloc int[yd.Length];
            for (int o = 0; o < outer; o++)
            {
                int rem = o;
                for (int d = split - 1; d >= 0; d--) { idx[d] = rem % yd[d]; rem /= yd[d]; }
                for (int d = split; d < yd.Length; d++) idx[d] = 0;
                int src = CompareOps.Offset(xd, idx);
                if (fill) sy.Slice(o * block, block).Fill(sx[src]);
                else sx.Slice(src, block).CopyTo(sy.Slice(o * block, block));
            }
        }

        /// <summary>Sums a broadcast gradient back to a target shape (the inverse of BroadcastTo).</summary>
        public static readonly OpDef SumToShape = new()
        {
            Name = "SumToShape", Aliases = true,
            Grad = c => [c.G.BroadcastTo(c.Dy, c.G.ShapeOf(c.X(0))), null],
            Infer = c =>
            {
                return InferContext.One(c.DType(0), c.AsShape(1));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var t = c.Input(1).AsSpan<int>();
                if (x.Dims.SequenceEqual(t)) { c.Forward(0, x); return; }
                Span<int> check = stackalloc int[x.Rank];
                if (t.Length > x.Rank || !Broadcast.Dims(x.Dims, t, check) || !check.SequenceEqual(x.Dims))
                    throw c.Error($"cannot sum {GraphDl.Shape.Format(x.Dims)} down to {GraphDl.Shape.Format(t)}");
                var y = c.Output(0, t);
                Reduce.SumTo(x, y);
            },
        };

        /// <summary>A tensor of the given dims filled with a scalar value.</summary>
        public static readonly OpDef Fill = new()
        {
            Name = "Fill", Grad = c => [null, c.G.Sum(c.Dy)],
            Infer = c =>
            {
                return InferContext.One(c.DType(1), c.AsShape(0));
            },
            Cpu = c =>
            {
                var v = c.Input(1);
                var y = c.Output(0, c.Input(0).AsSpan<int>(), v.DType);
                FillWith(y, v);
            },
        };

        static void FillWith(NDArray y, NDArray v)
        {
            switch (y.DType)
            {
                case DType.Float32: y.AsSpan<float>().Fill(v.AsSpan<float>()[0]); break;
                case DType.Float64: y.AsSpan<double>().Fill(v.AsSpan<double>()[0]); break;
                case DType.Int32: y.AsSpan<int>().Fill(v.AsSpan<int>()[0]); break;
                case DType.Int64: y.AsSpan<long>().Fill(v.AsSpan<long>()[0]); break;
                case DType.Bool: y.AsSpan<bool>().Fill(v.AsSpan<bool>()[0]); break;
                default: y.AsSpan<byte>().Fill(v.AsSpan<byte>()[0]); break;
            }
        }

        /// <summary>Zeros of the input's shape and dtype.</summary>
        public static readonly OpDef ZerosLike = Like("ZerosLike", 0);

        /// <summary>Ones of the input's shape and dtype.</summary>
        public static readonly OpDef OnesLike = Like("OnesLike", 1);

        static OpDef Like(string name, int value) => new()
        {
            Name = name, Grad = c => [null],
            Infer = c => InferContext.One(c.DType(0), c.Shape(0)),
            Cpu = c =>
            {
                var x = c.Input(0);
                var y = c.Output(0, x.Dims);
                switch (y.DType)
                {
                    case DType.Float32: y.AsSpan<float>().Fill(value); break;
                    case DType.Float64: y.AsSpan<double>().Fill(value); break;
                    case DType.Int32: y.AsSpan<int>().Fill(value); break;
                    case DType.Int64: y.AsSpan<long>().Fill(value); break;
                    case DType.Bool: y.AsSpan<bool>().Fill(value != 0); break;
                    default: y.AsSpan<byte>().Fill((byte)value); break;
                }
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for shape plumbing.</summary>
    public static class ShapeBuilders
    {
        /// <summary>The dims of <paramref name="x"/> as an int32 vector (TF's <c>tf.shape</c>).</summary>
        public static Tensor ShapeOf(this Graph g, Tensor x, string? name = null) => g.Add1(ShapeOps.Shape, [x], new Attrs { ["out_type"] = DType.Int32 }, name ?? "Shape");
        /// <summary>Number of elements as an int32 scalar.</summary>
        public static Tensor Size(this Graph g, Tensor x, string? name = null) => g.Add1(ShapeOps.Size, [x], null, name);
        /// <summary>Reshapes; one dim may be -1.</summary>
        public static Tensor Reshape(this Graph g, Tensor x, Tensor shape, string? name = null) => g.Add1(ShapeOps.Reshape, [x, shape], null, name);
        /// <summary>Reshapes to constant dims; one may be -1.</summary>
        public static Tensor Reshape(this Graph g, Tensor x, int[] shape, string? name = null) => g.Reshape(x, g.Const(NDArray.From(shape), "shape"), name);
        /// <summary>Broadcasts to a shape.</summary>
        public static Tensor BroadcastTo(this Graph g, Tensor x, Tensor shape, string? name = null) => g.Add1(ShapeOps.BroadcastTo, [x, shape], null, name);
        /// <summary>Sums (a broadcast gradient) down to a shape.</summary>
        public static Tensor SumToShape(this Graph g, Tensor x, Tensor shape, string? name = null) => g.Add1(ShapeOps.SumToShape, [x, shape], null, name);
        /// <summary>A tensor of dims <paramref name="shape"/> filled with <paramref name="value"/>.</summary>
        public static Tensor Fill(this Graph g, Tensor shape, Tensor value, string? name = null) => g.Add1(ShapeOps.Fill, [shape, value], null, name);
        /// <summary>Zeros like <paramref name="x"/>.</summary>
        public static Tensor ZerosLike(this Graph g, Tensor x, string? name = null) => g.Add1(ShapeOps.ZerosLike, [x], null, name);
        /// <summary>Ones like <paramref name="x"/>.</summary>
        public static Tensor OnesLike(this Graph g, Tensor x, string? name = null) => g.Add1(ShapeOps.OnesLike, [x], null, name);
        /// <summary>Zeros of constant dims.</summary>
        public static Tensor Zeros(this Graph g, Shape shape, DType dtype = DType.Float32, string? name = null) =>
            g.Fill(g.Const(NDArray.From(shape.Dims), "shape"), g.Scalar(0, dtype), name ?? "zeros");
        /// <summary>Ones of constant dims.</summary>
        public static Tensor Ones(this Graph g, Shape shape, DType dtype = DType.Float32, string? name = null) =>
            g.Fill(g.Const(NDArray.From(shape.Dims), "shape"), g.Scalar(1, dtype), name ?? "ones");
    }
}
