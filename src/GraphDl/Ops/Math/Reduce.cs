using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Reductions over axes (Sum, Mean, Max, Min, Prod), arg-reductions and their shape rules.</summary>
    public static class Reduce
    {
        interface IReducer<T> where T : unmanaged, INumber<T>
        {
            static abstract T Identity { get; }
            static abstract T Combine(T a, T b);
            static abstract T Row(ReadOnlySpan<T> x);
            static abstract void Accumulate(Span<T> acc, ReadOnlySpan<T> row);
        }

        readonly struct SumR<T> : IReducer<T> where T : unmanaged, INumber<T>
        {
            public static T Identity => T.Zero;
            public static T Combine(T a, T b) => a + b;
            public static T Row(ReadOnlySpan<T> x) => TensorPrimitives.Sum(x);
            public static void Accumulate(Span<T> acc, ReadOnlySpan<T> row) => TensorPrimitives.Add(acc, row, acc);
        }

        readonly struct ProdR<T> : IReducer<T> where T : unmanaged, INumber<T>
        {
            public static T Identity => T.One;
            public static T Combine(T a, T b) => a * b;
            public static T Row(ReadOnlySpan<T> x) { var p = T.One; foreach (var v in x) p *= v; return p; }
            public static void Accumulate(Span<T> acc, ReadOnlySpan<T> row) => TensorPrimitives.Multiply(acc, row, acc);
        }

        readonly struct MaxR<T> : IReducer<T> where T : unmanaged, INumber<T>
        {
            public static T Identity => typeof(T) == typeof(float) ? (T)(object)float.NegativeInfinity
                : typeof(T) == typeof(double) ? (T)(object)double.NegativeInfinity : typeof(T) == typeof(int) ? (T)(object)int.MinValue : (T)(object)long.MinValue;
            public static T Combine(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : a > b ? a : b;
            public static T Row(ReadOnlySpan<T> x) { var m = Identity; foreach (var v in x) m = Combine(m, v); return m; }
            public static void Accumulate(Span<T> acc, ReadOnlySpan<T> row) { for (int i = 0; i < acc.Length; i++) acc[i] = Combine(acc[i], row[i]); }
        }

        readonly struct MinR<T> : IReducer<T> where T : unmanaged, INumber<T>
        {
            public static T Identity => typeof(T) == typeof(float) ? (T)(object)float.PositiveInfinity
                : typeof(T) == typeof(double) ? (T)(object)double.PositiveInfinity : typeof(T) == typeof(int) ? (T)(object)int.MaxValue : (T)(object)long.MaxValue;
            public static T Combine(T a, T b) => T.IsNaN(a) || T.IsNaN(b) ? a + b : a < b ? a : b;
            public static T Row(ReadOnlySpan<T> x) { var m = Identity; foreach (var v in x) m = Combine(m, v); return m; }
            public static void Accumulate(Span<T> acc, ReadOnlySpan<T> row) { for (int i = 0; i < acc.Length; i++) acc[i] = Combine(acc[i], row[i]); }
        }

        /// <summary>Reduces <paramref name="x"/> over the axes flagged in <paramref name="reduced"/> into <paramref name="y"/>
        /// (whose size is the product of the kept dims).</summary>
        static void Run<TR, T>(ReadOnlySpan<T> x, ReadOnlySpan<int> dims, ReadOnlySpan<bool> reduced, Span<T> y)
            where TR : IReducer<T> where T : unmanaged, INumber<T>
        {
            // Merge neighbouring dims with the same flag: blocks alternate kept / reduced.
            Span<int> size = stackalloc int[dims.Length + 1];
            Span<bool> red = stackalloc bool[dims.Length + 1];
            int n = 0;
            for (int i = 0; i < dims.Length; i++)
            {
                if (dims[i] == 1) continue;
                if (n > 0 && red[n - 1] == reduced[i]) size[n - 1] *= dims[i];
                else { size[n] = dims[i]; red[n] = reduced[i]; n++; }
            }
            if (y.Length == 0) return;
            if (x.Length == 0) { y.Fill(TR.Identity); return; }
            if (n == 0 || (n == 1 && !red[0])) { x.CopyTo(y); return; }
            if (n == 1) { y[0] = TR.Row(x); return; }
            if (n == 2 && !red[0])
            {
                int r = size[1];
                for (int k = 0; k < y.Length; k++) y[k] = TR.Row(x.Slice(k * r, r));
                return;
            }
            if (n == 2 || (n == 3 && !red[0]))
            {
                int outer = n == 3 ? size[0] : 1, rows = size[n - 2], cols = size[n - 1];
                for (int o = 0; o < outer; o++)
                {
                    var acc = y.Slice(o * cols, cols);
                    var block = x.Slice(o * rows * cols, rows * cols);
                    block[..cols].CopyTo(acc);
                    for (int r = 1; r < rows; r++) TR.Accumulate(acc, block.Slice(r * cols, cols));
                }
                return;
            }
            // General case: walk x in order, mapping each element to its output position.
            y.Fill(TR.Identity);
            Span<int> idx = stackalloc int[dims.Length];
            for (int i = 0; i < x.Length; i++)
            {
                int rem = i, o = 0, mul = 1;
                for (int d = dims.Length - 1; d >= 0; d--) { idx[d] = rem % dims[d]; rem /= dims[d]; }
                for (int d = dims.Length - 1; d >= 0; d--)
                    if (!reduced[d]) { o += idx[d] * mul; mul *= dims[d]; }
                y[o] = TR.Combine(y[o], x[i]);
            }
        }

        /// <summary>Normalizes axes (negative from the end; none = all) and flags them; throws on out-of-range.</summary>
        internal static bool[] Flags(int rank, int[]? axes)
        {
            var f = new bool[rank];
            FlagsInto(rank, axes, axes == null, f);
            return f;
        }

        internal static void FlagsInto(int rank, ReadOnlySpan<int> axes, bool all, Span<bool> f)
        {
            f.Fill(all);
            foreach (var a0 in axes)
            {
                int a = a0 < 0 ? a0 + rank : a0;
                if (a < 0 || a >= rank) throw new ShapeError($"axis {a0} is out of range for rank {rank}");
                f[a] = true;
            }
        }

        static OutputSpec[] InferReduce(InferContext c, DType? outType = null)
        {
            var s = c.Shape(0);
            var axes = c.Ints(1);
            bool keep = c.Attrs.Bool("keep_dims");
            if (!s.HasRank) return InferContext.One(outType ?? c.DType(0), Shape.Unknown);
            if (axes == null) return InferContext.One(outType ?? c.DType(0), keep ? Shape.UnknownOfRank(s.Rank) : Shape.Unknown);
            var f = Flags(s.Rank, axes);
            var dims = new List<int>();
            for (int i = 0; i < s.Rank; i++)
                if (!f[i]) dims.Add(s[i]); else if (keep) dims.Add(1);
            return InferContext.One(outType ?? c.DType(0), new Shape(dims.ToArray()));
        }

        delegate void Kernel(KernelContext c, NDArray x, ReadOnlySpan<bool> flags, NDArray y);

        static OpDef Def(string name, GradFn? grad, Kernel k, bool numericOnly = true) => new()
        {
            Name = name, Grad = grad,
            Infer = c =>
            {
                if (numericOnly && !c.DType(0).IsNumeric()) throw new ShapeError($"needs a numeric dtype, got {c.DType(0).Name()}");
                return InferReduce(c);
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var axes = c.Input(1);
                Span<bool> flags = stackalloc bool[x.Rank];
                try { FlagsInto(x.Rank, axes.AsSpan<int>(), axes.Size == 0 && c.Attrs.Bool("_all"), flags); }
                catch (ShapeError e) { throw c.Error(e.Message); }
                Span<int> dims = stackalloc int[x.Rank];
                int n = 0;
                bool keep = c.Attrs.Bool("keep_dims");
                for (int i = 0; i < x.Rank; i++) if (!flags[i]) dims[n++] = x.Dims[i]; else if (keep) dims[n++] = 1;
                var y = c.Output(0, dims[..n]);
                k(c, x, flags, y);
            },
        };

        static void Dispatch<TRf, TRd>(NDArray x, ReadOnlySpan<bool> flags, NDArray y)
            where TRf : IReducer<float> where TRd : IReducer<double>
        {
            if (x.DType == DType.Float32) Run<TRf, float>(x.AsSpan<float>(), x.Dims, flags, y.AsSpan<float>());
            else if (x.DType == DType.Float64) Run<TRd, double>(x.AsSpan<double>(), x.Dims, flags, y.AsSpan<double>());
            else throw new SessionRunException($"reduction of {x.DType.Name()} is not supported here");
        }

        static void DispatchInt<TRi, TRl>(NDArray x, ReadOnlySpan<bool> flags, NDArray y)
            where TRi : IReducer<int> where TRl : IReducer<long>
        {
            if (x.DType == DType.Int32) Run<TRi, int>(x.AsSpan<int>(), x.Dims, flags, y.AsSpan<int>());
            else Run<TRl, long>(x.AsSpan<long>(), x.Dims, flags, y.AsSpan<long>());
        }

        /// <summary>Sum over axes.</summary>
        public static readonly OpDef Sum = Def("Sum", c => [SumGrad(c, c.Dy), null], (c, x, f, y) =>
        {
            if (x.DType.IsFloating()) Dispatch<SumR<float>, SumR<double>>(x, f, y);
            else DispatchInt<SumR<int>, SumR<long>>(x, f, y);
        });

        /// <summary>Mean over axes.</summary>
        public static readonly OpDef Mean = Def("Mean", c =>
        {
            var g = c.G;
            var count = g.Cast(g.Size(c.X(0)), c.Dy.DType) / g.Cast(g.Size(c.Y()), c.Dy.DType);
            // Divided before it is broadcast (the same quotient in every element as dividing after): the mean of a loss
            // divides one scalar, on the host where the count is (Plan.PlaceAll), instead of a whole batch on a GPU.
            return [SumGrad(c, c.Dy / count), null];
        }, (c, x, f, y) =>
        {
            if (!x.DType.IsFloating()) throw c.Error($"Mean of {x.DType.Name()} is not supported");
            Dispatch<SumR<float>, SumR<double>>(x, f, y);
            int count = y.Size == 0 ? 1 : x.Size / y.Size;
            if (x.DType == DType.Float32) TensorPrimitives.Multiply(y.AsSpan<float>(), 1f / count, y.AsSpan<float>());
            else TensorPrimitives.Multiply(y.AsSpan<double>(), 1.0 / count, y.AsSpan<double>());
        });

        /// <summary>Max over axes; the gradient is shared among tied maxima.</summary>
        public static readonly OpDef Max = Def("Max", c => [ExtremumGrad(c), null], (c, x, f, y) =>
        {
            if (x.DType.IsFloating()) Dispatch<MaxR<float>, MaxR<double>>(x, f, y);
            else DispatchInt<MaxR<int>, MaxR<long>>(x, f, y);
        });

        /// <summary>Min over axes; the gradient is shared among tied minima.</summary>
        public static readonly OpDef Min = Def("Min", c => [ExtremumGrad(c), null], (c, x, f, y) =>
        {
            if (x.DType.IsFloating()) Dispatch<MinR<float>, MinR<double>>(x, f, y);
            else DispatchInt<MinR<int>, MinR<long>>(x, f, y);
        });

        /// <summary>Product over axes. NOTE: the gradient <c>dy·y/x</c> is undefined where x is 0.</summary>
        public static readonly OpDef Prod = Def("Prod", c => [SumGrad(c, c.Dy * c.Y()) / c.X(0), null], (c, x, f, y) =>
        {
            if (x.DType.IsFloating()) Dispatch<ProdR<float>, ProdR<double>>(x, f, y);
            else DispatchInt<ProdR<int>, ProdR<long>>(x, f, y);
        });

        /// <summary>Broadcasts a reduction's gradient back over the reduced axes.</summary>
        static Tensor SumGrad(GradContext c, Tensor dy)
        {
            var g = c.G;
            var x = c.X(0);
            var kept = g.Reshape(dy, g.ReducedShape(g.ShapeOf(x), c.X(1)));
            return g.BroadcastTo(kept, g.ShapeOf(x));
        }

        static Tensor ExtremumGrad(GradContext c)
        {
            var g = c.G;
            var x = c.X(0);
            var keepShape = g.ReducedShape(g.ShapeOf(x), c.X(1));
            var yk = g.Reshape(c.Y(), keepShape);
            var hits = g.Cast(g.Equal(x, yk), x.DType);
            var count = g.Sum(hits, c.X(1), keepDims: true);
            return hits * g.Reshape(c.Dy, keepShape) / count;
        }

        /// <summary>The input shape with reduced axes set to 1 (TF's <c>reduced_shape</c>).</summary>
        public static readonly OpDef ReducedShape = new()
        {
            Name = "ReducedShape", Grad = null,
            Infer = c => InferContext.One(DType.Int32, c.Shape(0)),
            Cpu = c =>
            {
                var s = c.Input(0).AsSpan<int>();
                var y = c.Output(0, [s.Length]).AsSpan<int>();
                s.CopyTo(y);
                var axes = c.Input(1).AsSpan<int>();
                if (axes.Length == 0 && c.Node.Inputs[1].Op.Attrs.Bool("_all")) y.Fill(1);
                foreach (var ax in axes)
                {
                    int a = ax < 0 ? ax + s.Length : ax;
                    if ((uint)a >= (uint)s.Length) throw c.Error($"axis {ax} is out of range for rank {s.Length}");
                    y[a] = 1;
                }
            },
        };

        /// <summary>Sums <paramref name="x"/> into the smaller broadcast-compatible <paramref name="y"/>.</summary>
        internal static void SumTo(NDArray x, NDArray y)
        {
            Span<bool> flags = stackalloc bool[x.Rank];
            int shift = x.Rank - y.Rank;
            for (int i = 0; i < x.Rank; i++) flags[i] = i < shift || (y.Dims[i - shift] == 1 && x.Dims[i] != 1);
            if (x.DType == DType.Float32) Run<SumR<float>, float>(x.AsSpan<float>(), x.Dims, flags, y.AsSpan<float>());
            else if (x.DType == DType.Float64) Run<SumR<double>, double>(x.AsSpan<double>(), x.Dims, flags, y.AsSpan<double>());
            else if (x.DType == DType.Int32) Run<SumR<int>, int>(x.AsSpan<int>(), x.Dims, flags, y.AsSpan<int>());
            else Run<SumR<long>, long>(x.AsSpan<long>(), x.Dims, flags, y.AsSpan<long>());
        }

        static OpDef Arg(string name, bool max) => new()
        {
            Name = name, Grad = null,
            Infer = c =>
            {
                var s = c.Shape(0);
                var ax = c.Ints(1);
                if (!s.HasRank || ax == null) return InferContext.One(c.Attrs.DType("output_type"), Shape.Unknown);
                int a = ax[0] < 0 ? ax[0] + s.Rank : ax[0];
                if (a < 0 || a >= s.Rank) throw new ShapeError($"axis {ax[0]} is out of range for {s}");
                return InferContext.One(c.Attrs.DType("output_type"), new Shape(s.Dims.Where((_, i) => i != a).ToArray()));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int a = c.Input(1).AsSpan<int>()[0];
                if (a < 0) a += x.Rank;
                int outer = 1, inner = 1, n = x.Dims[a];
                for (int i = 0; i < a; i++) outer *= x.Dims[i];
                for (int i = a + 1; i < x.Rank; i++) inner *= x.Dims[i];
                if (n == 0) throw c.Error("cannot take the arg-extremum of an empty axis");
                Span<int> dims = stackalloc int[x.Rank - 1];
                for (int i = 0, j = 0; i < x.Rank; i++) if (i != a) dims[j++] = x.Dims[i];
                var y = c.Output(0, dims);
                var yl = y.DType == DType.Int64 ? y.AsSpan<long>() : default;
                var yi = y.DType == DType.Int32 ? y.AsSpan<int>() : default;
                for (int o = 0; o < outer; o++)
                    for (int k = 0; k < inner; k++)
                    {
                        int best = 0;
                        double bv = x.GetDouble(o * n * inner + k);
                        for (int j = 1; j < n; j++)
                        {
                            double v = x.GetDouble((o * n + j) * inner + k);
                            if (max ? v > bv : v < bv) { bv = v; best = j; }
                        }
                        if (y.DType == DType.Int64) yl[o * inner + k] = best; else yi[o * inner + k] = best;
                    }
            },
        };

        /// <summary>Index of the maximum along an axis (first on ties).</summary>
        public static readonly OpDef ArgMax = Arg("ArgMax", true);
        /// <summary>Index of the minimum along an axis (first on ties).</summary>
        public static readonly OpDef ArgMin = Arg("ArgMin", false);
    }
}

namespace GraphDl
{
    /// <summary>Builders for reductions.</summary>
    public static class ReduceBuilders
    {
        static Tensor Axes(Graph g, int[]? axes, Tensor x)
        {
            if (axes != null) return g.Const(NDArray.From(axes), "reduction_indices");
            if (x.Shape.HasRank) return g.Const(NDArray.From(Enumerable.Range(0, x.Shape.Rank).ToArray()), "Const");
            var all = g.AddOp(StateOps.Const, [], new Attrs { ["value"] = NDArray.From(Array.Empty<int>()), ["dtype"] = DType.Int32, ["_all"] = true }, "Const");
            return all.Outputs[0];
        }

        static Tensor R(Graph g, Ops.OpDef def, Tensor x, Tensor axes, bool keepDims, string? name) =>
            g.Add1(def, [x, axes], new Attrs { ["keep_dims"] = keepDims, ["_all"] = axes.Op.Attrs.Bool("_all") }, name);

        /// <summary>Sum over <paramref name="axes"/> (all when null).</summary>
        public static Tensor Sum(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null) => R(g, Reduce.Sum, x, Axes(g, axes, x), keepDims, name);
        /// <summary>Sum over axes given as a tensor.</summary>
        public static Tensor Sum(this Graph g, Tensor x, Tensor axes, bool keepDims = false, string? name = null) => R(g, Reduce.Sum, x, axes, keepDims, name);
        /// <summary>Mean over <paramref name="axes"/> (all when null).</summary>
        public static Tensor Mean(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null) => R(g, Reduce.Mean, x, Axes(g, axes, x), keepDims, name);
        /// <summary>Max over <paramref name="axes"/> (all when null).</summary>
        public static Tensor ReduceMax(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null) => R(g, Reduce.Max, x, Axes(g, axes, x), keepDims, name);
        /// <summary>Min over <paramref name="axes"/> (all when null).</summary>
        public static Tensor ReduceMin(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null) => R(g, Reduce.Min, x, Axes(g, axes, x), keepDims, name);
        /// <summary>Product over <paramref name="axes"/> (all when null).</summary>
        public static Tensor Prod(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null) => R(g, Reduce.Prod, x, Axes(g, axes, x), keepDims, name);
        /// <summary><c>log(sum(exp(x)))</c> over axes, computed stably.</summary>
        public static Tensor LogSumExp(this Graph g, Tensor x, int[]? axes = null, bool keepDims = false, string? name = null)
        {
            using var _ = g.NameScope(name ?? "ReduceLogSumExp");
            var m = g.StopGradient(g.ReduceMax(x, axes, keepDims: true));
            var mOut = keepDims ? m : g.StopGradient(g.ReduceMax(x, axes, keepDims: false));
            return g.Log(g.Sum(g.Exp(x - m), axes, keepDims)) + mOut;
        }
        /// <summary>Index of the max along <paramref name="axis"/> (int64).</summary>
        public static Tensor ArgMax(this Graph g, Tensor x, int axis, DType outputType = DType.Int64, string? name = null) =>
            g.Add1(Reduce.ArgMax, [x, g.Scalar(axis, DType.Int32, "dimension")], new Attrs { ["output_type"] = outputType }, name);
        /// <summary>Index of the min along <paramref name="axis"/> (int64).</summary>
        public static Tensor ArgMin(this Graph g, Tensor x, int axis, DType outputType = DType.Int64, string? name = null) =>
            g.Add1(Reduce.ArgMin, [x, g.Scalar(axis, DType.Int32, "dimension")], new Attrs { ["output_type"] = outputType }, name);
        /// <summary>The shape of <paramref name="shape"/>'s tensor with the axes set to 1.</summary>
        public static Tensor ReducedShape(this Graph g, Tensor shape, Tensor axes, string? name = null) => g.Add1(Reduce.ReducedShape, [shape, axes], null, name);
    }
}
