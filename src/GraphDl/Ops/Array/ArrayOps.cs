using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.ArrayKernels;

namespace GraphDl.Ops
{
    /// <summary>Layout ops: Transpose, InvertPermutation, ExpandDims, Squeeze, Rank, Tile.</summary>
    public static class ArrayOps
    {
        /// <summary>Permutes dims: <c>y.shape[i] = x.shape[perm[i]]</c>.</summary>
        public static readonly OpDef Transpose = new()
        {
            Name = "Transpose",
            Grad = c => [c.G.Transpose(c.Dy, InversePerm(c.G, c.X(1))), null],
            Infer = c =>
            {
                RequireIndex(c, 1, "perm");
                var s = c.Shape(0);
                var perm = c.Ints(1);
                if (perm == null)
                {
                    int r = s.HasRank ? s.Rank : c.Shape(1).Rank == 1 ? c.Shape(1)[0] : -1;
                    return InferContext.One(c.DType(0), r >= 0 ? Shape.UnknownOfRank(r) : Shape.Unknown);
                }
                if (s.HasRank && perm.Length != s.Rank) throw new ShapeError($"perm {Shape.Format(perm)} has {perm.Length} entries for {s} of rank {s.Rank}");
                if (!IsPermutation(perm)) throw new ShapeError($"perm {Shape.Format(perm)} is not a permutation of 0..{perm.Length - 1}");
                return InferContext.One(c.DType(0), s.HasRank ? new Shape(perm.Select(p => s[p]).ToArray()) : Shape.UnknownOfRank(perm.Length));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var p = c.Input(1);
                int r = x.Rank;
                if (p.Size != r) throw c.Error($"perm has {p.Size} entries for {Shape.Format(x.Dims)} of rank {r}");
                Span<int> perm = stackalloc int[r];
                ReadInts(p, perm);
                Span<bool> seen = stackalloc bool[r];
                bool identity = true;
                for (int i = 0; i < r; i++)
                {
                    if ((uint)perm[i] >= (uint)r || seen[perm[i]]) throw c.Error($"perm {Shape.Format(perm)} is not a permutation of 0..{r - 1}");
                    seen[perm[i]] = true;
                    identity &= perm[i] == i;
                }
                if (identity) { c.Forward(0, x); return; }
                Span<int> xs = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                Span<int> dims = stackalloc int[r];
                Span<int> ss = stackalloc int[r];
                for (int i = 0; i < r; i++) { dims[i] = x.Dims[perm[i]]; ss[i] = xs[perm[i]]; }
                var y = c.Output(0, dims);
                ArrayKernels.Gather(x, 0, ss, y, 0, dims);
            },
        };

        static bool IsPermutation(int[] perm) => perm.OrderBy(v => v).SequenceEqual(Enumerable.Range(0, perm.Length));

        static Tensor InversePerm(Graph g, Tensor perm)
        {
            var p = ConstantFolding.Ints(perm);
            if (p == null) return g.InvertPermutation(perm);
            var inv = new int[p.Length];
            for (int i = 0; i < p.Length; i++) inv[p[i]] = i;
            return g.Const(NDArray.From(inv), "perm");
        }

        /// <summary>The inverse of a permutation vector: <c>y[x[i]] = i</c>.</summary>
        public static readonly OpDef InvertPermutation = new()
        {
            Name = "InvertPermutation", Grad = null,
            Infer = c =>
            {
                RequireIndex(c, 0, "x");
                if (c.Shape(0).HasRank && c.Shape(0).Rank != 1) throw new ShapeError($"needs a vector, got {c.Shape(0)}");
                return InferContext.One(c.DType(0), c.Shape(0).HasRank ? c.Shape(0) : Shape.UnknownOfRank(1));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int n = x.Size;
                var y = c.Output(0, [n]);
                // y starts at -1 everywhere, so a second write to the same slot shows a repeated value.
                for (int i = 0; i < n; i++) SetInt(y, i, -1);
                for (int i = 0; i < n; i++)
                {
                    int p = IntAt(x, i);
                    if ((uint)p >= (uint)n || IntAt(y, p) >= 0) throw c.Error($"x[{i}] = {p} makes x not a permutation of 0..{n - 1}");
                    SetInt(y, p, i);
                }
            },
        };

        static void SetInt(NDArray a, int i, int v)
        {
            if (a.data is int[] ai) ai[i] = v; else ((long[])a.data)[i] = v;
        }

        /// <summary>Inserts a dim of size 1 at <c>axis</c> (in [-rank-1, rank]).</summary>
        public static readonly OpDef ExpandDims = new()
        {
            Name = "ExpandDims", Aliases = true,
            Grad = c => [c.G.Reshape(c.Dy, ShapeTensor(c.G, c.X(0))), null],
            Infer = c =>
            {
                RequireIndex(c, 1, "dim");
                var s = c.Shape(0);
                var ax = c.Ints(1);
                if (!s.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                if (ax == null) return InferContext.One(c.DType(0), Shape.UnknownOfRank(s.Rank + 1));
                if (ax.Length != 1) throw new ShapeError($"dim must hold one value, got {Shape.Format(ax)}");
                int a = NormAxis(ax[0], s, inserting: true);
                var dims = s.Dims.ToList();
                dims.Insert(a, 1);
                return InferContext.One(c.DType(0), new Shape(dims.ToArray()));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                if (c.Input(1).Size != 1) throw c.Error($"dim must hold one value, got {c.Input(1).Size}");
                int a = NormAxis(c, IntAt(c.Input(1), 0), x.Dims, inserting: true);
                Span<int> dims = stackalloc int[x.Rank + 1];
                for (int i = 0, j = 0; i < dims.Length; i++) dims[i] = i == a ? 1 : x.Dims[j++];
                c.View(0, x, dims);
            },
        };

        /// <summary>Removes dims of size 1: those listed in the <c>squeeze_dims</c> attr, or all when it is empty.</summary>
        public static readonly OpDef Squeeze = new()
        {
            Name = "Squeeze", Aliases = true,
            Grad = c => [c.G.Reshape(c.Dy, ShapeTensor(c.G, c.X(0)))],
            Infer = c =>
            {
                var s = c.Shape(0);
                var sq = c.Attrs.Ints("squeeze_dims");
                if (!s.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                var drop = new bool[s.Rank];
                foreach (var a0 in sq)
                {
                    int a = NormAxis(a0, s);
                    if (s[a] > 1 || s[a] == 0) throw new ShapeError($"cannot squeeze dimension {a0} of {s}: its size is {s[a]}, not 1");
                    drop[a] = true;
                }
                if (sq.Length == 0)
                {
                    if (s.Dims.Any(d => d < 0)) return InferContext.One(c.DType(0), Shape.Unknown);
                    for (int i = 0; i < s.Rank; i++) drop[i] = s[i] == 1;
                }
                return InferContext.One(c.DType(0), new Shape(s.Dims.Where((_, i) => !drop[i]).ToArray()));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var sq = c.Attrs.Ints("squeeze_dims");
                Span<bool> drop = stackalloc bool[x.Rank];
                foreach (var a0 in sq)
                {
                    int a = NormAxis(c, a0, x.Dims);
                    if (x.Dims[a] != 1) throw c.Error($"cannot squeeze dimension {a0} of {Shape.Format(x.Dims)}: its size is {x.Dims[a]}, not 1");
                    drop[a] = true;
                }
                if (sq.Length == 0) for (int i = 0; i < x.Rank; i++) drop[i] = x.Dims[i] == 1;
                Span<int> dims = stackalloc int[x.Rank];
                int n = 0;
                for (int i = 0; i < x.Rank; i++) if (!drop[i]) dims[n++] = x.Dims[i];
                c.View(0, x, dims[..n]);
            },
        };

        /// <summary>The rank as an int32 scalar.</summary>
        public static readonly OpDef Rank = new()
        {
            Name = "Rank", Grad = null, DimsOnly = true,
            Infer = _ => InferContext.One(DType.Int32, Shape.Scalar),
            Cpu = c => c.Output(0, []).AsSpan<int>()[0] = c.Input(0).Rank,
        };

        /// <summary>Repeats the input <c>multiples[i]</c> times along each dim i.</summary>
        public static readonly OpDef Tile = new()
        {
            Name = "Tile",
            Grad = c =>
            {
                // Reshape dy to [m0, d0, m1, d1, ...] and sum over the m axes.
                var g = c.G;
                var x = c.X(0);
                var m = c.X(1).DType == DType.Int32 ? c.X(1) : g.Cast(c.X(1), DType.Int32);
                var split = g.Reshape(g.Stack([m, ShapeTensor(g, x)], axis: 1), [-1]);
                int r = x.Shape.HasRank ? x.Shape.Rank : c.X(1).Shape[0];
                var axes = r >= 0 ? g.Const(NDArray.From(Enumerable.Range(0, r).Select(i => 2 * i).ToArray()), "axes")
                    : g.Range(g.Scalar(0, DType.Int32), g.Size(split), g.Scalar(2, DType.Int32));
                var dx = g.Sum(g.Reshape(c.Dy, split), axes);
                if (x.Shape.HasRank && !dx.Shape.IsFullyDefined) dx.SetShape(x.Shape);
                return [dx, null];
            },
            Infer = c =>
            {
                RequireIndex(c, 1, "multiples");
                var s = c.Shape(0);
                var m = c.Ints(1);
                if (m == null)
                {
                    int r = s.HasRank ? s.Rank : c.Shape(1).Rank == 1 ? c.Shape(1)[0] : -1;
                    return InferContext.One(c.DType(0), r >= 0 ? Shape.UnknownOfRank(r) : Shape.Unknown);
                }
                if (s.HasRank && m.Length != s.Rank) throw new ShapeError($"multiples {Shape.Format(m)} has {m.Length} entries for {s} of rank {s.Rank}");
                if (m.Any(v => v < 0)) throw new ShapeError($"multiples {Shape.Format(m)} must be non-negative");
                if (!s.HasRank) return InferContext.One(c.DType(0), Shape.UnknownOfRank(m.Length));
                return InferContext.One(c.DType(0), new Shape(m.Select((v, i) => s[i] < 0 ? -1 : s[i] * v).ToArray()));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var mt = c.Input(1);
                int r = x.Rank;
                if (mt.Size != r) throw c.Error($"multiples has {mt.Size} entries for {Shape.Format(x.Dims)} of rank {r}");
                Span<int> m = stackalloc int[r];
                ReadInts(mt, m);
                Span<int> dims = stackalloc int[r];
                bool same = true;
                for (int i = 0; i < r; i++)
                {
                    if (m[i] < 0) throw c.Error($"multiples {Shape.Format(m)} must be non-negative");
                    dims[i] = x.Dims[i] * m[i];
                    same &= m[i] == 1;
                }
                if (same) { c.Forward(0, x); return; }
                var y = c.Output(0, dims);
                // View y as [m0, d0, m1, d1, ...]: the m axes read x with stride 0.
                Span<int> xs = stackalloc int[r];
                Span<int> ys = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                ContiguousStrides(dims, ys);
                Span<int> bd = stackalloc int[2 * r];
                Span<int> bs = stackalloc int[2 * r];
                Span<int> bdst = stackalloc int[2 * r];
                for (int i = 0; i < r; i++)
                {
                    bd[2 * i] = m[i]; bs[2 * i] = 0; bdst[2 * i] = x.Dims[i] * ys[i];
                    bd[2 * i + 1] = x.Dims[i]; bs[2 * i + 1] = xs[i]; bdst[2 * i + 1] = ys[i];
                }
                StridedCopy(x, 0, bs, y, 0, bdst, bd);
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for layout ops.</summary>
    public static class ArrayBuilders
    {
        /// <summary>Permutes dims (TF's <c>tf.transpose</c>); no <paramref name="perm"/> reverses them.</summary>
        public static Tensor Transpose(this Graph g, Tensor x, int[]? perm = null, string? name = null)
        {
            if (perm != null) return g.Transpose(x, g.Const(NDArray.From(perm), "perm"), name);
            if (x.Shape.HasRank) return g.Transpose(x, g.Const(NDArray.From(Enumerable.Range(0, x.Shape.Rank).Reverse().ToArray()), "perm"), name);
            var i32 = DType.Int32;
            var p = g.Range(g.Rank(x) - g.Scalar(1, i32), g.Scalar(-1, i32), g.Scalar(-1, i32));
            return g.Transpose(x, p, name);
        }

        /// <summary>Permutes dims by a permutation tensor.</summary>
        public static Tensor Transpose(this Graph g, Tensor x, Tensor perm, string? name = null) =>
            g.Add1(ArrayOps.Transpose, [x, perm], new Attrs { ["T"] = x.DType, ["Tperm"] = perm.DType }, name);

        /// <summary>The inverse permutation.</summary>
        public static Tensor InvertPermutation(this Graph g, Tensor perm, string? name = null) =>
            g.Add1(ArrayOps.InvertPermutation, [perm], new Attrs { ["T"] = perm.DType }, name);

        /// <summary>Inserts a dim of size 1 at <paramref name="axis"/> (TF's <c>tf.expand_dims</c>).</summary>
        public static Tensor ExpandDims(this Graph g, Tensor x, int axis, string? name = null) =>
            g.Add1(ArrayOps.ExpandDims, [x, g.Scalar(axis, DType.Int32, "dim")], new Attrs { ["T"] = x.DType, ["Tdim"] = DType.Int32 }, name);

        /// <summary>Removes size-1 dims: the listed ones, or all of them (TF's <c>tf.squeeze</c>).</summary>
        public static Tensor Squeeze(this Graph g, Tensor x, int[]? axis = null, string? name = null) =>
            g.Add1(ArrayOps.Squeeze, [x], new Attrs { ["T"] = x.DType, ["squeeze_dims"] = axis ?? [] }, name);

        /// <summary>The rank as an int32 scalar (TF's <c>tf.rank</c>).</summary>
        public static Tensor Rank(this Graph g, Tensor x, string? name = null) => g.Add1(ArrayOps.Rank, [x], new Attrs { ["T"] = x.DType }, name);

        /// <summary>Repeats <paramref name="x"/> <c>multiples[i]</c> times along dim i (TF's <c>tf.tile</c>).</summary>
        public static Tensor Tile(this Graph g, Tensor x, int[] multiples, string? name = null) =>
            g.Tile(x, g.Const(NDArray.From(multiples), "multiples"), name);

        /// <summary>Tiles by a multiples tensor.</summary>
        public static Tensor Tile(this Graph g, Tensor x, Tensor multiples, string? name = null) =>
            g.Add1(ArrayOps.Tile, [x, multiples], new Attrs { ["T"] = x.DType, ["Tmultiples"] = multiples.DType }, name);
    }
}
