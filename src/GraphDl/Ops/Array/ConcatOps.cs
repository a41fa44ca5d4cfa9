using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.ArrayKernels;

namespace GraphDl.Ops
{
    /// <summary>Joining and splitting: ConcatV2, ConcatOffset, Split, SplitV, Pack (stack), Unpack (unstack).</summary>
    public static class ConcatOps
    {
        /// <summary>Joins tensors along an existing axis; inputs are the values then the axis.</summary>
        public static readonly OpDef ConcatV2 = new()
        {
            Name = "ConcatV2", Grad = ConcatGrad,
            Infer = c =>
            {
                int n = c.Inputs.Length - 1;
                if (n < 1) throw new ShapeError("needs at least one value");
                RequireIndex(c, n, "axis");
                for (int i = 1; i < n; i++)
                    if (c.DType(i) != c.DType(0)) throw new ShapeError($"dtypes differ, {c.DType(0).Name()} {c.Shape(0)} and {c.DType(i).Name()} {c.Shape(i)}");
                Shape? first = null;
                for (int i = 0; i < n; i++)
                {
                    if (!c.Shape(i).HasRank) continue;
                    first ??= c.Shape(i);
                    if (c.Shape(i).Rank != first.Rank) throw new ShapeError($"ranks differ, {first} and {c.Shape(i)}");
                }
                var ax = c.Ints(n);
                if (first == null) return InferContext.One(c.DType(0), Shape.Unknown);
                if (ax == null) return InferContext.One(c.DType(0), Shape.UnknownOfRank(first.Rank));
                int a = NormAxis(ax[0], first);
                var dims = new int[first.Rank];
                for (int d = 0; d < dims.Length; d++)
                {
                    int v = d == a ? 0 : -1;
                    for (int i = 0; i < n; i++)
                    {
                        var s = c.Shape(i);
                        int si = s.HasRank ? s[d] : -1;
                        if (d == a) v = v < 0 || si < 0 ? -1 : v + si;
                        else if (si >= 0)
                        {
                            if (v >= 0 && v != si)
                                throw new ShapeError($"dimension {d} differs, {first} and {s} (concatenating along axis {ax[0]})");
                            v = si;
                        }
                    }
                    dims[d] = v;
                }
                return InferContext.One(c.DType(0), new Shape(dims));
            },
            Cpu = c =>
            {
                int n = c.InputCount - 1;
                var x0 = c.Input(0);
                int r = x0.Rank;
                int a = NormAxis(c, IntAt(c.Input(n), 0), x0.Dims);
                int total = 0;
                for (int i = 0; i < n; i++)
                {
                    var xi = c.Input(i);
                    bool ok = xi.Rank == r;
                    for (int d = 0; ok && d < r; d++) ok = d == a || xi.Dims[d] == x0.Dims[d];
                    if (!ok) throw c.Error($"input {i} has shape {Shape.Format(xi.Dims)}, input 0 has {Shape.Format(x0.Dims)} (concatenating along axis {a})");
                    total += xi.Dims[a];
                }
                if (n == 1) { c.Forward(0, x0); return; }
                Span<int> dims = stackalloc int[r];
                x0.Dims.CopyTo(dims);
                dims[a] = total;
                var y = c.Output(0, dims);
                int outer = Prod(dims, 0, a), inner = Prod(dims, a + 1, r), off = 0;
                for (int i = 0; i < n; i++)
                {
                    var xi = c.Input(i);
                    int chunk = xi.Dims[a] * inner;
                    StridedCopy(xi, 0, [chunk, 1], y, off, [total * inner, 1], [outer, chunk]);
                    off += chunk;
                }
            },
        };

        static Tensor?[] ConcatGrad(GradContext c)
        {
            var g = c.G;
            int n = c.Op.Inputs.Length - 1;
            var xs = c.Op.Inputs.Take(n).ToArray();
            var axis = c.X(n);
            var ax = ConstantFolding.Ints(axis);
            var result = new Tensor?[n + 1];
            int rank = xs.Select(x => x.Shape.Rank).FirstOrDefault(r => r >= 0, -1);
            if (ax != null && rank >= 0)
            {
                int a = ax[0] < 0 ? ax[0] + rank : ax[0];
                var sizes = xs.Select(x => x.Shape[a]).ToArray();
                if (sizes.All(s => s >= 0))
                {
                    Tensor[] parts = n == 1 ? new[] { c.Dy } : g.SplitV(c.Dy, g.Const(NDArray.From(sizes), "size_splits"), axis);
                    parts.CopyTo(result, 0);
                    return result;
                }
            }
            var shapes = xs.Select(x => g.ShapeOf(x)).ToArray();
            var offsets = g.ConcatOffset(axis, shapes);
            for (int i = 0; i < n; i++)
            {
                result[i] = g.Slice(c.Dy, offsets[i], shapes[i]);
                result[i]!.SetShape(xs[i].Shape);
            }
            return result;
        }

        /// <summary>Where each input of a concat starts: input 0 is the axis, then the N input shapes.</summary>
        public static readonly OpDef ConcatOffset = new()
        {
            Name = "ConcatOffset", Grad = null,
            Infer = c =>
            {
                RequireIndex(c, 0, "concat_dim");
                return Enumerable.Range(1, c.Inputs.Length - 1).Select(i =>
                {
                    if (c.DType(i) != DType.Int32) throw new ShapeError($"shape {i - 1} must be int32, got {c.DType(i).Name()}");
                    return new OutputSpec(DType.Int32, c.Shape(i));
                }).ToArray();
            },
            Cpu = c =>
            {
                int n = c.InputCount - 1;
                int r = c.Input(1).Size;
                int axis = IntAt(c.Input(0), 0);
                int a = axis < 0 ? axis + r : axis;
                if (a < 0 || a >= r) throw c.Error($"concat_dim {axis} is out of range for rank {r}");
                int off = 0;
                for (int i = 0; i < n; i++)
                {
                    var s = c.Input(i + 1);
                    if (s.Size != r) throw c.Error($"shape {i} has {s.Size} entries, shape 0 has {r}");
                    var y = c.Output(i, [r]).AsSpan<int>();
                    y.Clear();
                    y[a] = off;
                    off += IntAt(s, a);
                }
            },
        };

        /// <summary>Splits along an axis into <c>num_split</c> equal pieces; inputs are (axis, value).</summary>
        public static readonly OpDef Split = new()
        {
            Name = "Split",
            Grad = c => [null, c.G.Concat(DysOrZeros(c), c.X(0))],
            Infer = c =>
            {
                RequireIndex(c, 0, "split_dim");
                int n = c.Attrs.Int("num_split");
                if (n < 1) throw new ShapeError($"num_split must be at least 1, got {n}");
                var s = c.Shape(1);
                var ax = c.Ints(0);
                Shape piece;
                if (!s.HasRank) piece = Shape.Unknown;
                else if (ax == null) piece = Shape.UnknownOfRank(s.Rank);
                else
                {
                    int a = NormAxis(ax[0], s);
                    if (s[a] >= 0 && s[a] % n != 0) throw new ShapeError($"dimension {a} of {s} ({s[a]}) cannot be split evenly into {n} pieces");
                    var dims = s.Dims;
                    if (dims[a] >= 0) dims[a] /= n;
                    piece = new Shape(dims);
                }
                return Enumerable.Repeat(new OutputSpec(c.DType(1), piece), n).ToArray();
            },
            Cpu = c =>
            {
                var x = c.Input(1);
                int n = c.Attrs.Int("num_split");
                int a = NormAxis(c, IntAt(c.Input(0), 0), x.Dims);
                if (x.Dims[a] % n != 0) throw c.Error($"dimension {a} of {Shape.Format(x.Dims)} ({x.Dims[a]}) cannot be split evenly into {n} pieces");
                if (n == 1) { c.Forward(0, x); return; }
                Span<int> dims = stackalloc int[x.Rank];
                x.Dims.CopyTo(dims);
                dims[a] /= n;
                SplitInto(c, x, a, dims, n, null);
            },
        };

        /// <summary>Copies consecutive pieces along <paramref name="a"/> of x into outputs; piece k has size
        /// <c>sizes[k]</c> (or <c>dims[a]</c> for all when null).</summary>
        static void SplitInto(KernelContext c, NDArray x, int a, Span<int> dims, int n, ReadOnlySpan<int> sizes)
        {
            int outer = Prod(x.Dims, 0, a), inner = Prod(x.Dims, a + 1, x.Rank), row = x.Dims[a] * inner, off = 0;
            for (int k = 0; k < n; k++)
            {
                if (sizes.Length > 0) dims[a] = sizes[k];
                var y = c.Output(k, dims);
                int chunk = dims[a] * inner;
                StridedCopy(x, off, [row, 1], y, 0, [chunk, 1], [outer, chunk]);
                off += chunk;
            }
        }

        /// <summary>Splits along an axis into pieces of the given sizes (one may be -1); inputs are (value, size_splits, axis).</summary>
        public static readonly OpDef SplitV = new()
        {
            Name = "SplitV",
            Grad = c => [c.G.Concat(DysOrZeros(c), c.X(2)), null, null],
            Infer = c =>
            {
                RequireIndex(c, 1, "size_splits");
                RequireIndex(c, 2, "split_dim");
                int n = c.Attrs.Int("num_split");
                var s = c.Shape(0);
                var ax = c.Ints(2);
                var sizes = c.Ints(1);
                if (!s.HasRank) return Enumerable.Repeat(new OutputSpec(c.DType(0), Shape.Unknown), n).ToArray();
                if (ax == null) return Enumerable.Repeat(new OutputSpec(c.DType(0), Shape.UnknownOfRank(s.Rank)), n).ToArray();
                int a = NormAxis(ax[0], s);
                if (sizes != null)
                {
                    if (sizes.Length != n) throw new ShapeError($"size_splits {Shape.Format(sizes)} has {sizes.Length} entries for num_split {n}");
                    sizes = ResolveSizes(sizes, s[a], out var err);
                    if (err != null) throw new ShapeError($"{err} (splitting {s} along axis {ax[0]})");
                }
                return Enumerable.Range(0, n).Select(k =>
                {
                    var dims = s.Dims;
                    dims[a] = sizes?[k] ?? -1;
                    return new OutputSpec(c.DType(0), new Shape(dims));
                }).ToArray();
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int n = c.Attrs.Int("num_split");
                int a = NormAxis(c, IntAt(c.Input(2), 0), x.Dims);
                var st = c.Input(1);
                if (st.Size != n) throw c.Error($"size_splits has {st.Size} entries for num_split {n}");
                Span<int> sizes = stackalloc int[n];
                ReadInts(st, sizes);
                var err = ResolveSizes(sizes, x.Dims[a]);
                if (err != null) throw c.Error($"{err} (splitting {Shape.Format(x.Dims)} along axis {a})");
                if (n == 1) { c.Forward(0, x); return; }
                Span<int> dims = stackalloc int[x.Rank];
                x.Dims.CopyTo(dims);
                SplitInto(c, x, a, dims, n, sizes);
            },
        };

        static int[] ResolveSizes(int[] sizes, int dim, out string? err)
        {
            var r = (int[])sizes.Clone();
            if (dim < 0)
            {
                err = r.Count(v => v == -1) > 1 ? $"size_splits {Shape.Format(sizes)} has more than one -1" : null;
                for (int i = 0; i < r.Length; i++) if (r[i] < 0) r[i] = -1;
                return r;
            }
            err = ResolveSizes(r, dim);
            return r;
        }

        /// <summary>Replaces a -1 in <paramref name="sizes"/> by the rest of <paramref name="dim"/>; returns an error or null.</summary>
        static string? ResolveSizes(Span<int> sizes, int dim)
        {
            int unknown = -1; long sum = 0;
            for (int i = 0; i < sizes.Length; i++)
            {
                if (sizes[i] == -1 && unknown < 0) { unknown = i; continue; }
                if (sizes[i] < 0) return $"size_splits {Shape.Format(sizes)} may hold one -1 and otherwise non-negative sizes";
                sum += sizes[i];
            }
            if (unknown >= 0 && sum <= dim) { sizes[unknown] = (int)(dim - sum); return null; }
            if (unknown < 0 && sum == dim) return null;
            return $"size_splits {Shape.Format(sizes)} do not add up to dimension size {dim}";
        }

        /// <summary>Stacks N same-shaped tensors along a new axis (TF's <c>tf.stack</c>).</summary>
        public static readonly OpDef Pack = new()
        {
            Name = "Pack",
            Grad = c => c.G.Unstack(c.Dy, c.Op.Inputs.Length, c.Attrs.Int("axis")),
            Infer = c =>
            {
                int n = c.Inputs.Length;
                if (n < 1) throw new ShapeError("needs at least one value");
                var s = c.Shape(0);
                for (int i = 1; i < n; i++)
                {
                    if (c.DType(i) != c.DType(0)) throw new ShapeError($"dtypes differ, {c.DType(0).Name()} {c.Shape(0)} and {c.DType(i).Name()} {c.Shape(i)}");
                    if (!s.IsCompatibleWith(c.Shape(i))) throw new ShapeError($"shapes differ, {c.Shape(0)} and {c.Shape(i)} (input {i})");
                    s = s.MergeWith(c.Shape(i));
                }
                if (!s.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                int a = NormAxis(c.Attrs.Int("axis"), s, inserting: true);
                var dims = s.Dims.ToList();
                dims.Insert(a, n);
                return InferContext.One(c.DType(0), new Shape(dims.ToArray()));
            },
            Cpu = c =>
            {
                int n = c.InputCount;
                var x0 = c.Input(0);
                int r = x0.Rank;
                int a = NormAxis(c, c.Attrs.Int("axis"), x0.Dims, inserting: true);
                for (int i = 1; i < n; i++)
                    if (!c.Input(i).Dims.SequenceEqual(x0.Dims))
                        throw c.Error($"input {i} has shape {Shape.Format(c.Input(i).Dims)}, input 0 has {Shape.Format(x0.Dims)}");
                Span<int> dims = stackalloc int[r + 1];
                for (int i = 0, j = 0; i <= r; i++) dims[i] = i == a ? n : x0.Dims[j++];
                var y = c.Output(0, dims);
                int outer = Prod(x0.Dims, 0, a), inner = Prod(x0.Dims, a, r);
                for (int i = 0; i < n; i++)
                    StridedCopy(c.Input(i), 0, [inner, 1], y, i * inner, [n * inner, 1], [outer, inner]);
            },
        };

        /// <summary>Unstacks along an axis into <c>num</c> tensors (TF's <c>tf.unstack</c>).</summary>
        public static readonly OpDef Unpack = new()
        {
            Name = "Unpack",
            Grad = c => [c.G.Stack(DysOrZeros(c), c.Attrs.Int("axis"))],
            Infer = c =>
            {
                int n = c.Attrs.Int("num");
                var s = c.Shape(0);
                if (!s.HasRank) return Enumerable.Repeat(new OutputSpec(c.DType(0), Shape.Unknown), n).ToArray();
                int a = NormAxis(c.Attrs.Int("axis"), s);
                if (s[a] >= 0 && s[a] != n) throw new ShapeError($"dimension {a} of {s} is {s[a]}, not num = {n}");
                var piece = new Shape(s.Dims.Where((_, i) => i != a).ToArray());
                return Enumerable.Repeat(new OutputSpec(c.DType(0), piece), n).ToArray();
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                int n = c.Attrs.Int("num");
                int a = NormAxis(c, c.Attrs.Int("axis"), x.Dims);
                if (x.Dims[a] != n) throw c.Error($"dimension {a} of {Shape.Format(x.Dims)} is {x.Dims[a]}, not num = {n}");
                Span<int> dims = stackalloc int[x.Rank - 1];
                for (int i = 0, j = 0; i < x.Rank; i++) if (i != a) dims[j++] = x.Dims[i];
                int outer = Prod(x.Dims, 0, a), inner = Prod(x.Dims, a + 1, x.Rank);
                for (int k = 0; k < n; k++)
                {
                    var y = c.Output(k, dims);
                    StridedCopy(x, k * inner, [n * inner, 1], y, 0, [inner, 1], [outer, inner]);
                }
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for joining and splitting.</summary>
    public static class ConcatBuilders
    {
        /// <summary>Joins tensors along <paramref name="axis"/> (TF's <c>tf.concat</c>).</summary>
        public static Tensor Concat(this Graph g, Tensor[] values, int axis, string? name = null) =>
            g.Concat(values, g.Scalar(axis, DType.Int32, "axis"), name);

        /// <summary>Joins tensors along an axis given as a tensor.</summary>
        public static Tensor Concat(this Graph g, Tensor[] values, Tensor axis, string? name = null) =>
            g.Add1(ConcatOps.ConcatV2, [.. values, axis], new Attrs { ["N"] = values.Length, ["T"] = values.Length > 0 ? values[0].DType : DType.Float32, ["Tidx"] = axis.DType }, name ?? "concat");

        /// <summary>Offsets of each piece of a concat along <paramref name="axis"/>, for slicing a gradient apart.</summary>
        public static Tensor[] ConcatOffset(this Graph g, Tensor axis, Tensor[] shapes, string? name = null) =>
            g.AddOp(ConcatOps.ConcatOffset, [axis, .. shapes], new Attrs { ["N"] = shapes.Length }, name).Outputs;

        /// <summary>Splits <paramref name="x"/> into <paramref name="numSplit"/> equal pieces along <paramref name="axis"/> (TF's <c>tf.split</c>).</summary>
        public static Tensor[] Split(this Graph g, Tensor x, int numSplit, int axis = 0, string? name = null) =>
            g.AddOp(ConcatOps.Split, [g.Scalar(axis, DType.Int32, "split_dim"), x], new Attrs { ["num_split"] = numSplit, ["T"] = x.DType }, name ?? "split").Outputs;

        /// <summary>Splits <paramref name="x"/> into pieces of the given sizes along <paramref name="axis"/>; one size may be -1.</summary>
        public static Tensor[] SplitV(this Graph g, Tensor x, int[] sizeSplits, int axis = 0, string? name = null) =>
            g.SplitV(x, g.Const(NDArray.From(sizeSplits), "size_splits"), g.Scalar(axis, DType.Int32, "split_dim"), name);

        /// <summary>Splits by a sizes tensor (whose length must be known) along an axis tensor.</summary>
        public static Tensor[] SplitV(this Graph g, Tensor x, Tensor sizeSplits, Tensor axis, string? name = null)
        {
            int n = sizeSplits.Shape.Rank == 1 ? sizeSplits.Shape[0] : -1;
            if (n < 0) throw new GraphBuildException($"SplitV: the number of pieces must be known, size_splits has shape {sizeSplits.Shape}{CallSite.Describe()}");
            return g.AddOp(ConcatOps.SplitV, [x, sizeSplits, axis], new Attrs { ["num_split"] = n, ["T"] = x.DType, ["Tlen"] = sizeSplits.DType }, name ?? "split").Outputs;
        }

        /// <summary>Stacks same-shaped tensors along a new <paramref name="axis"/> (TF's <c>tf.stack</c>, op Pack).</summary>
        public static Tensor Stack(this Graph g, Tensor[] values, int axis = 0, string? name = null) =>
            g.Add1(ConcatOps.Pack, values, new Attrs { ["N"] = values.Length, ["axis"] = axis, ["T"] = values.Length > 0 ? values[0].DType : DType.Float32 }, name ?? "stack");

        /// <summary>Unstacks along <paramref name="axis"/> (TF's <c>tf.unstack</c>, op Unpack); <paramref name="num"/> defaults to the static dim.</summary>
        public static Tensor[] Unstack(this Graph g, Tensor x, int? num = null, int axis = 0, string? name = null)
        {
            int n = num ?? (x.Shape.HasRank && axis >= -x.Shape.Rank && axis < x.Shape.Rank ? x.Shape[axis] : -1);
            if (n < 0) throw new GraphBuildException($"Unpack: cannot infer num from shape {x.Shape} along axis {axis}; pass num{CallSite.Describe()}");
            return g.AddOp(ConcatOps.Unpack, [x], new Attrs { ["num"] = n, ["axis"] = axis, ["T"] = x.DType }, name ?? "unstack").Outputs;
        }
    }
}
