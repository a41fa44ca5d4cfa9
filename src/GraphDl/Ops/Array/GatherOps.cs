using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.ArrayKernels;

namespace GraphDl.Ops
{
    /// <summary>Indexing by tensors: GatherV2, UnsortedSegmentSum (its dense gradient) and OneHot.</summary>
    public static class GatherOps
    {
        /// <summary>Picks slices of <c>params</c> along <c>axis</c> at <c>indices</c>; the output shape is
        /// <c>params.shape[:axis] + indices.shape + params.shape[axis+1:]</c>. Out-of-range indices are an error.</summary>
        public static readonly OpDef GatherV2 = new()
        {
            Name = "GatherV2", Grad = GatherGrad,
            Infer = c =>
            {
                RequireIndex(c, 1, "indices");
                RequireIndex(c, 2, "axis");
                if (c.Attrs.Int("batch_dims") != 0) throw new ShapeError("batch_dims other than 0 is not supported");
                var ps = c.Shape(0); var ids = c.Shape(1);
                var ax = c.Ints(2);
                if (!ps.HasRank || !ids.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                if (ps.Rank == 0) throw new ShapeError("params must have rank at least 1, got a scalar");
                if (ax == null) return InferContext.One(c.DType(0), Shape.UnknownOfRank(ps.Rank + ids.Rank - 1));
                int a = NormAxis(ax[0], ps);
                return InferContext.One(c.DType(0), new Shape([.. ps.Dims[..a], .. ids.Dims, .. ps.Dims[(a + 1)..]]));
            },
            Cpu = c =>
            {
                var p = c.Input(0); var idx = c.Input(1);
                int a = NormAxis(c, IntAt(c.Input(2), 0), p.Dims);
                int n = p.Dims[a], outer = Prod(p.Dims, 0, a), inner = Prod(p.Dims, a + 1, p.Rank), k = idx.Size;
                CheckIndices(c, idx, n, "indices");
                Span<int> dims = stackalloc int[p.Rank + idx.Rank - 1];
                p.Dims[..a].CopyTo(dims);
                idx.Dims.CopyTo(dims[a..]);
                p.Dims[(a + 1)..].CopyTo(dims[(a + idx.Rank)..]);
                var y = c.Output(0, dims);
                switch (p.data)
                {
                    case float[] s: Rows(s, (float[])y.data, idx, outer, n, inner, k); break;
                    case double[] s: Rows(s, (double[])y.data, idx, outer, n, inner, k); break;
                    case int[] s: Rows(s, (int[])y.data, idx, outer, n, inner, k); break;
                    case long[] s: Rows(s, (long[])y.data, idx, outer, n, inner, k); break;
                    case bool[] s: Rows(s, (bool[])y.data, idx, outer, n, inner, k); break;
                    case byte[] s: Rows(s, (byte[])y.data, idx, outer, n, inner, k); break;
                    case string[] s: Rows(s, (string[])y.data, idx, outer, n, inner, k); break;
                }
            },
        };

        static void Rows<T>(T[] src, T[] dst, NDArray idx, int outer, int n, int inner, int k)
        {
            for (int o = 0; o < outer; o++)
                for (int j = 0; j < k; j++)
                {
                    int i = IntAt(idx, j);
                    if (inner == 1) dst[o * k + j] = src[o * n + i];
                    else src.AsSpan((o * n + i) * inner, inner).CopyTo(dst.AsSpan((o * k + j) * inner, inner));
                }
        }

        /// <summary>Throws, naming the first bad position and the valid range, unless every index is in [0, n).</summary>
        static void CheckIndices(KernelContext c, NDArray idx, int n, string what)
        {
            for (int j = 0; j < idx.Size; j++)
            {
                long v = idx.data is long[] l ? l[j] : IntAt(idx, j);
                if (v < 0 || v >= n) throw c.Error($"{what}{IndexString(j, idx.Dims)} = {v} is not in [0, {n})");
            }
        }

        static Tensor?[] GatherGrad(GradContext c)
        {
            var g = c.G;
            var p = c.X(0); var ids = c.X(1);
            var ax = ConstantFolding.Ints(c.X(2));
            int r = p.Shape.Rank, q = ids.Shape.Rank;
            if (ax == null) throw new GraphBuildException($"the gradient of {c.Op} needs a constant axis{CallSite.Describe()}");
            int a = ax[0] < 0 && r >= 0 ? ax[0] + r : ax[0];
            if (a != 0 && (r < 0 || q < 0 || a < 0))
                throw new GraphBuildException($"the gradient of {c.Op} along axis {ax[0]} needs the ranks of params ({p.Shape}) and indices ({ids.Shape}){CallSite.Describe()}");
            var count = r >= 0 && p.Shape[a] >= 0 ? g.Scalar(p.Shape[a], DType.Int32, "num_segments")
                : g.Gather(g.ShapeOf(p), g.Scalar(a, DType.Int32), 0);
            if (a == 0) return [g.UnsortedSegmentSum(c.Dy, ids, count), null, null];
            // dy is [outer..., indices..., inner...]: bring the index dims to the front, sum segments, move the axis back.
            int[] perm = [.. Enumerable.Range(a, q), .. Enumerable.Range(0, a), .. Enumerable.Range(a + q, r - a - 1)];
            var summed = g.UnsortedSegmentSum(g.Transpose(c.Dy, perm), ids, count);
            int[] back = [.. Enumerable.Range(1, a), 0, .. Enumerable.Range(a + 1, r - a - 1)];
            return [g.Transpose(summed, back), null, null];
        }

        /// <summary><c>y[segment_ids[i], ...] += data[i, ...]</c> into <c>num_segments</c> rows of zeros; ids out of range are an error.</summary>
        public static readonly OpDef UnsortedSegmentSum = new()
        {
            Name = "UnsortedSegmentSum",
            Grad = c => [c.G.Gather(c.Dy, c.X(1), 0), null, null],
            Infer = c =>
            {
                if (c.DType(0) is not (DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64))
                    throw new ShapeError($"needs float32, float64, int32 or int64 data, got {c.DType(0).Name()}");
                RequireIndex(c, 1, "segment_ids");
                RequireIndex(c, 2, "num_segments");
                var ds = c.Shape(0); var ids = c.Shape(1);
                var ns = c.Ints(2);
                if (!ds.HasRank || !ids.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                if (ids.Rank > ds.Rank || !new Shape(ds.Dims[..ids.Rank]).IsCompatibleWith(ids))
                    throw new ShapeError($"segment_ids shape {ids} must be a prefix of data shape {ds}");
                return InferContext.One(c.DType(0), new Shape([ns?[0] ?? -1, .. ds.Dims[ids.Rank..]]));
            },
            Cpu = c =>
            {
                var d = c.Input(0); var ids = c.Input(1);
                int n = IntAt(c.Input(2), 0);
                if (n < 0) throw c.Error($"num_segments must be non-negative, got {n}");
                if (ids.Rank > d.Rank || !d.Dims[..ids.Rank].SequenceEqual(ids.Dims))
                    throw c.Error($"segment_ids shape {Shape.Format(ids.Dims)} must be a prefix of data shape {Shape.Format(d.Dims)}");
                CheckIndices(c, ids, n, "segment_ids");
                Span<int> dims = stackalloc int[d.Rank - ids.Rank + 1];
                dims[0] = n;
                d.Dims[ids.Rank..].CopyTo(dims[1..]);
                var y = c.Output(0, dims);
                FillZero(y);
                int inner = Prod(dims, 1, dims.Length);
                switch (d.data)
                {
                    case float[] s: Segments(s, (float[])y.data, ids, inner); break;
                    case double[] s: Segments(s, (double[])y.data, ids, inner); break;
                    case int[] s: Segments(s, (int[])y.data, ids, inner); break;
                    case long[] s: Segments(s, (long[])y.data, ids, inner); break;
                }
            },
        };

        static void Segments<T>(T[] src, T[] dst, NDArray ids, int inner) where T : unmanaged, INumber<T>
        {
            for (int j = 0; j < ids.Size; j++)
            {
                var row = dst.AsSpan(IntAt(ids, j) * inner, inner);
                TensorPrimitives.Add(row, src.AsSpan(j * inner, inner), row);
            }
        }

        /// <summary>One-hot encoding: inputs (indices, depth, on_value, off_value), attr <c>axis</c> (-1 = last).
        /// Indices outside [0, depth) give an all-off row, as in TensorFlow.</summary>
        public static readonly OpDef OneHot = new()
        {
            Name = "OneHot", Grad = null,
            Infer = c =>
            {
                if (c.DType(0) is not (DType.Int32 or DType.Int64 or DType.UInt8)) throw new ShapeError($"indices must be int32, int64 or uint8, got {c.DType(0).Name()}");
                if (c.DType(1) != DType.Int32) throw new ShapeError($"depth must be int32, got {c.DType(1).Name()}");
                if (c.DType(2) != c.DType(3)) throw new ShapeError($"on_value is {c.DType(2).Name()} but off_value is {c.DType(3).Name()}");
                for (int i = 1; i <= 3; i++)
                    if (c.Shape(i).HasRank && c.Shape(i).Rank != 0) throw new ShapeError($"{(i == 1 ? "depth" : i == 2 ? "on_value" : "off_value")} must be a scalar, got {c.Shape(i)}");
                var s = c.Shape(0);
                if (!s.HasRank) return InferContext.One(c.DType(2), Shape.Unknown);
                int axis = c.Attrs.Int("axis", -1);
                if (axis < -1 || axis > s.Rank) throw new ShapeError($"axis {axis} must be -1 or in [0, {s.Rank}] for indices {s}");
                int a = axis == -1 ? s.Rank : axis;
                var depth = c.Ints(1);
                if (depth != null && depth[0] < 0) throw new ShapeError($"depth must be non-negative, got {depth[0]}");
                var dims = s.Dims.ToList();
                dims.Insert(a, depth?[0] ?? -1);
                return InferContext.One(c.DType(2), new Shape(dims.ToArray()));
            },
            Cpu = c =>
            {
                var idx = c.Input(0);
                int depth = IntAt(c.Input(1), 0);
                if (depth < 0) throw c.Error($"depth must be non-negative, got {depth}");
                int axis = c.Attrs.Int("axis", -1);
                int a = axis == -1 ? idx.Rank : axis;
                Span<int> dims = stackalloc int[idx.Rank + 1];
                for (int i = 0, j = 0; i < dims.Length; i++) dims[i] = i == a ? depth : idx.Dims[j++];
                var y = c.Output(0, dims);
                FillWith(y, c.Input(3));
                int outer = Prod(idx.Dims, 0, a), inner = Prod(idx.Dims, a, idx.Rank);
                var on = c.Input(2);
                for (int o = 0; o < outer; o++)
                    for (int i = 0; i < inner; i++)
                    {
                        long v = idx.data is long[] l ? l[o * inner + i] : IntAt(idx, o * inner + i);
                        if (v >= 0 && v < depth) Copy(on, 0, y, (o * depth + (int)v) * inner + i, 1);
                    }
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for gather, segment sums and one-hot.</summary>
    public static class GatherBuilders
    {
        /// <summary>Slices of <paramref name="params"/> at <paramref name="indices"/> along <paramref name="axis"/> (TF's <c>tf.gather</c>).</summary>
        public static Tensor Gather(this Graph g, Tensor @params, Tensor indices, int axis = 0, string? name = null) =>
            g.Gather(@params, indices, g.Scalar(axis, DType.Int32, "axis"), name);

        /// <summary>Gather along an axis tensor.</summary>
        public static Tensor Gather(this Graph g, Tensor @params, Tensor indices, Tensor axis, string? name = null) =>
            g.Add1(GatherOps.GatherV2, [@params, indices, axis], new Attrs { ["Tparams"] = @params.DType, ["Tindices"] = indices.DType, ["Taxis"] = axis.DType, ["batch_dims"] = 0 }, name ?? "GatherV2");

        /// <summary>Sums rows of <paramref name="data"/> into <paramref name="numSegments"/> segments by id (TF's <c>tf.unsorted_segment_sum</c>).</summary>
        public static Tensor UnsortedSegmentSum(this Graph g, Tensor data, Tensor segmentIds, Tensor numSegments, string? name = null) =>
            g.Add1(GatherOps.UnsortedSegmentSum, [data, segmentIds, numSegments], new Attrs { ["T"] = data.DType, ["Tindices"] = segmentIds.DType, ["Tnumsegments"] = numSegments.DType }, name);

        /// <summary>Segment sum with a constant segment count.</summary>
        public static Tensor UnsortedSegmentSum(this Graph g, Tensor data, Tensor segmentIds, int numSegments, string? name = null) =>
            g.UnsortedSegmentSum(data, segmentIds, g.Scalar(numSegments, DType.Int32, "num_segments"), name);

        /// <summary>One-hot encoding of <paramref name="indices"/> with <paramref name="depth"/> classes along <paramref name="axis"/> (TF's <c>tf.one_hot</c>).</summary>
        public static Tensor OneHot(this Graph g, Tensor indices, int depth, double onValue = 1, double offValue = 0, int axis = -1,
            DType dtype = DType.Float32, string? name = null) =>
            g.OneHot(indices, g.Scalar(depth, DType.Int32, "depth"), g.Scalar(onValue, dtype, "on_value"), g.Scalar(offValue, dtype, "off_value"), axis, name);

        /// <summary>One-hot encoding with depth, on and off values as tensors.</summary>
        public static Tensor OneHot(this Graph g, Tensor indices, Tensor depth, Tensor onValue, Tensor offValue, int axis = -1, string? name = null) =>
            g.Add1(GatherOps.OneHot, [indices, depth, onValue, offValue], new Attrs { ["T"] = onValue.DType, ["TI"] = indices.DType, ["axis"] = axis }, name);
    }
}
