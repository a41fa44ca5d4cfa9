using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Value clipping (TF's <c>ClipByValue</c> op). The norm clippings are compositions (see <see cref="ClipBuilders"/>).</summary>
    public static class ClipOps
    {
        /// <summary><c>min(max(t, lo), hi)</c>; <c>lo</c> and <c>hi</c> are scalars or have t's shape. The gradient passes
        /// to t where <c>lo &lt;= t &lt;= hi</c>, and to the bound that clipped elsewhere.</summary>
        public static readonly OpDef ClipByValue = new()
        {
            Name = "ClipByValue",
            Grad = c =>
            {
                var g = c.G;
                var (x, lo, hi, dy) = (c.X(0), c.X(1), c.X(2), c.Dy);
                var below = g.Less(x, lo);
                var above = g.Greater(x, hi);
                var zeros = g.ZerosLike(dy);
                return [g.Where(g.LogicalOr(below, above), zeros, dy), ReduceTo(g.Where(below, dy, zeros), lo), ReduceTo(g.Where(above, dy, zeros), hi)];
            },
            Infer = c =>
            {
                SameDType(c);
                if (!c.DType(0).IsNumeric()) throw new ShapeError($"needs a numeric dtype, got {c.DType(0).Name()}");
                var s = c.Shape(0);
                for (int i = 1; i <= 2; i++)
                {
                    var b = c.Shape(i);
                    if (b.HasRank && b.Rank != 0 && !b.IsCompatibleWith(s))
                        throw new ShapeError($"clip_value_{(i == 1 ? "min" : "max")} must be a scalar or have the shape of t, t {s} and bound {b}");
                }
                return InferContext.One(c.DType(0), s);
            },
            Cpu = c =>
            {
                var (x, lo, hi) = (c.Input(0), c.Input(1), c.Input(2));
                for (int i = 1; i <= 2; i++)
                {
                    var b = c.Input(i);
                    if (b.Rank != 0 && !b.Dims.SequenceEqual(x.Dims))
                        throw c.Error($"clip bounds must be scalars or have the shape of t, t {Shape.Format(x.Dims)} and bound {Shape.Format(b.Dims)}");
                }
                var y = c.Output(0, x.Dims);
                switch (x.DType)
                {
                    case DType.Float32: Clip<float>(x, lo, hi, y); break;
                    case DType.Float64: Clip<double>(x, lo, hi, y); break;
                    case DType.Int32: Clip<int>(x, lo, hi, y); break;
                    case DType.Int64: Clip<long>(x, lo, hi, y); break;
                    default: throw c.Error($"ClipByValue of {x.DType.Name()}");
                }
            },
        };

        static void Clip<T>(NDArray x, NDArray lo, NDArray hi, NDArray y) where T : unmanaged, INumber<T>
        {
            var sy = y.AsSpan<T>();
            if (lo.Rank == 0) TensorPrimitives.Max(x.AsSpan<T>(), lo.AsSpan<T>()[0], sy);
            else TensorPrimitives.Max(x.AsSpan<T>(), lo.AsSpan<T>(), sy);
            if (hi.Rank == 0) TensorPrimitives.Min(sy, hi.AsSpan<T>()[0], sy);
            else TensorPrimitives.Min(sy, hi.AsSpan<T>(), sy);
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for clipping (TF1's <c>tf.clip_by_value</c>, <c>clip_by_norm</c>, <c>clip_by_global_norm</c>, <c>global_norm</c>).</summary>
    public static class ClipBuilders
    {
        /// <summary><c>min(max(x, lo), hi)</c>; bounds are scalars or have x's shape.</summary>
        public static Tensor ClipByValue(this Graph g, Tensor x, Tensor clipValueMin, Tensor clipValueMax, string? name = null) =>
            g.Add1(ClipOps.ClipByValue, [x, clipValueMin, clipValueMax], new Attrs { ["T"] = x.DType }, name ?? "clip_by_value");

        /// <summary><c>min(max(x, lo), hi)</c> with constant bounds.</summary>
        public static Tensor ClipByValue(this Graph g, Tensor x, double clipValueMin, double clipValueMax, string? name = null) =>
            g.ClipByValue(x, g.Scalar(clipValueMin, x.DType, "clip_value_min"), g.Scalar(clipValueMax, x.DType, "clip_value_max"), name);

        /// <summary><c>x · clipNorm / max(‖x‖₂, clipNorm)</c>, the L2 norm taken over <paramref name="axes"/> (all when null);
        /// a zero norm leaves x unchanged and has a finite gradient.</summary>
        public static Tensor ClipByNorm(this Graph g, Tensor x, Tensor clipNorm, int[]? axes = null, string? name = null)
        {
            using var _ = g.NameScope(name ?? "clip_by_norm");
            var l2sum = g.Sum(x * x, axes, keepDims: true);
            var pred = g.Greater(l2sum, g.Scalar(0, x.DType));
            var safe = g.Where(pred, l2sum, g.OnesLike(l2sum));
            var l2norm = g.Where(pred, g.Sqrt(safe), l2sum);
            return g.Identity(x * clipNorm / g.Maximum(l2norm, clipNorm), "clipped");
        }

        /// <summary><see cref="ClipByNorm(Graph, Tensor, Tensor, int[], string)"/> with a constant clip norm.</summary>
        public static Tensor ClipByNorm(this Graph g, Tensor x, double clipNorm, int[]? axes = null, string? name = null) =>
            g.ClipByNorm(x, g.Scalar(clipNorm, x.DType, "clip_norm"), axes, name);

        /// <summary><c>sqrt(sum of ‖x‖₂² over xs)</c>; null entries are skipped.</summary>
        public static Tensor GlobalNorm(this Graph g, Tensor[] xs, string? name = null)
        {
            var present = xs.Where(x => x != null).ToArray();
            if (present.Length == 0) throw new GraphBuildException($"GlobalNorm: needs at least one tensor{CallSite.Describe()}");
            var dtype = present[0].DType;
            foreach (var x in present)
                if (x.DType != dtype)
                    throw new GraphBuildException($"GlobalNorm: tensors differ in dtype, {present[0].Name} is {dtype.Name()} and {x.Name} is {x.DType.Name()}{CallSite.Describe()}");
            using var _ = g.NameScope(name ?? "global_norm");
            var halfSquares = present.Select(x => g.L2Loss(x)).ToArray();
            return g.Sqrt(g.AddN(halfSquares) * 2, "global_norm");
        }

        /// <summary>Scales every tensor by <c>clipNorm / max(globalNorm, clipNorm)</c> (TF1's <c>tf.clip_by_global_norm</c>): returns
        /// the clipped tensors (null entries stay null) and the global norm. A non-finite norm makes every result NaN, as in TF.</summary>
        public static (Tensor[] Clipped, Tensor GlobalNorm) ClipByGlobalNorm(this Graph g, Tensor[] xs, Tensor clipNorm, Tensor? useNorm = null, string? name = null)
        {
            using var _ = g.NameScope(name ?? "clip_by_global_norm");
            var norm = useNorm ?? g.GlobalNorm(xs);
            // (norm - norm) is NaN when the norm is inf or NaN, poisoning the scale as TF does.
            var scale = clipNorm / g.Maximum(norm, clipNorm) + (norm - norm);
            var clipped = new Tensor[xs.Length];
            for (int i = 0; i < xs.Length; i++)
                clipped[i] = xs[i] == null ? null! : g.Identity(xs[i] * scale, "clipped");
            return (clipped, norm);
        }

        /// <summary><see cref="ClipByGlobalNorm(Graph, Tensor[], Tensor, Tensor, string)"/> with a constant clip norm.</summary>
        public static (Tensor[] Clipped, Tensor GlobalNorm) ClipByGlobalNorm(this Graph g, Tensor[] xs, double clipNorm, string? name = null)
        {
            var first = xs.FirstOrDefault(x => x != null) ?? throw new GraphBuildException($"ClipByGlobalNorm: needs at least one tensor{CallSite.Describe()}");
            return g.ClipByGlobalNorm(xs, g.Scalar(clipNorm, first.DType, "clip_norm"), null, name);
        }
    }
}
