using GraphDl.Ops;
using static GraphDl.Tests.Ops.OpCase;

namespace GraphDl.Tests.Ops;

public static partial class OpCases
{
    static Tensor I32(Graph g, params int[] v) => g.Const(NDArray.From(v));
    static Tensor F64(Graph g, Tensor t) => g.Cast(t, DType.Float64);

    [OpCaseSource]
    static IEnumerable<OpCase> Arrays()
    {
        var x234 = Rand(31, -2, 2, 2, 3, 4);
        var x34 = Rand(32, -2, 2, 3, 4);
        var x23 = Rand(33, -2, 2, 2, 3);
        var x22 = Rand(34, -2, 2, 2, 2);
        var x46 = Rand(35, -2, 2, 4, 6);
        var x453 = Rand(36, -2, 2, 4, 5, 3);

        // layout
        yield return new OpCase("Transpose", ArrayOps.Transpose, (g, x) => g.Transpose(x[0], [2, 0, 1]), [x234])
        {
            Reference = xs => Nd.Make([4, 2, 3], i => Nd.At(xs[0], [2, 3, 4], i[1], i[2], i[0])),
        };
        yield return new OpCase("Transpose_default", ArrayOps.Transpose, (g, x) => g.Transpose(x[0]), [x34])
        {
            Reference = xs => Transpose(xs[0], 3, 4),
        };
        yield return new OpCase("InvertPermutation", ArrayOps.InvertPermutation, (g, x) => F64(g, g.InvertPermutation(I32(g, 2, 0, 3, 1))), [x34])
        {
            NotDifferentiable = true, Reference = _ => [1, 3, 0, 2],
        };
        yield return new OpCase("ExpandDims", ArrayOps.ExpandDims, (g, x) => g.ExpandDims(x[0], -2), [x34]) { Reference = xs => xs[0] };
        yield return new OpCase("Squeeze", ArrayOps.Squeeze, (g, x) => g.Squeeze(g.Reshape(x[0], [3, 1, 4, 1]), [1]), [x34]) { Reference = xs => xs[0] };
        yield return new OpCase("Rank", ArrayOps.Rank, (g, x) => F64(g, g.Rank(x[0])), [x234]) { NotDifferentiable = true, Reference = _ => [3] };
        yield return new OpCase("Tile", ArrayOps.Tile, (g, x) => g.Tile(x[0], [2, 1, 3]), [x234])
        {
            Reference = xs => Nd.Make([4, 3, 12], i => Nd.At(xs[0], [2, 3, 4], i[0] % 2, i[1], i[2] % 4)),
        };

        // concat and split
        yield return new OpCase("ConcatV2", ConcatOps.ConcatV2, (g, x) => g.Concat([x[0], x[1], x[0]], 1), [x23, x22])
        {
            Reference = xs => Nd.Make([2, 8], i => i[1] < 3 ? Nd.At(xs[0], [2, 3], i[0], i[1]) : i[1] < 5 ? Nd.At(xs[1], [2, 2], i[0], i[1] - 3) : Nd.At(xs[0], [2, 3], i[0], i[1] - 5)),
        };
        yield return new OpCase("ConcatV2_axis0", ConcatOps.ConcatV2, (g, x) => g.Concat([x[0], x[1]], -2), [x23, Rand(37, -2, 2, 4, 3)])
        {
            Reference = xs => [.. xs[0], .. xs[1]],
        };
        yield return new OpCase("ConcatOffset", ConcatOps.ConcatOffset,
            (g, x) => F64(g, g.Concat(g.ConcatOffset(g.Scalar(1, DType.Int32), [g.ShapeOf(x[0]), g.ShapeOf(x[1]), g.ShapeOf(x[0])]), 0)), [x23, x22])
        {
            NotDifferentiable = true, Reference = _ => [0, 0, 0, 3, 0, 5],
        };
        yield return new OpCase("Split", ConcatOps.Split, (g, x) => { var p = g.Split(x[0], 3, axis: -1); return p[0] + 2.0 * p[2]; }, [x46])
        {
            Reference = xs => Nd.Make([4, 2], i => Nd.At(xs[0], [4, 6], i[0], i[1]) + 2 * Nd.At(xs[0], [4, 6], i[0], i[1] + 4)),
        };
        yield return new OpCase("SplitV", ConcatOps.SplitV, (g, x) => { var p = g.SplitV(x[0], [1, -1, 2], axis: 1); return g.Concat([p[2], p[1] * 2.0], 1); }, [x46])
        {
            Reference = xs => Nd.Make([4, 5], i => i[1] < 2 ? Nd.At(xs[0], [4, 6], i[0], i[1] + 4) : 2 * Nd.At(xs[0], [4, 6], i[0], i[1] - 1)),
        };
        yield return new OpCase("Pack", ConcatOps.Pack, (g, x) => g.Stack([x[0], x[1], x[0]], axis: 1), [x23, Rand(38, -2, 2, 2, 3)])
        {
            Reference = xs => Nd.Make([2, 3, 3], i => Nd.At(i[1] == 1 ? xs[1] : xs[0], [2, 3], i[0], i[2])),
        };
        yield return new OpCase("Unpack", ConcatOps.Unpack, (g, x) => g.Unstack(x[0], axis: 1)[2] * 3.0, [x234])
        {
            Reference = xs => Nd.Make([2, 4], i => 3 * Nd.At(xs[0], [2, 3, 4], i[0], 2, i[1])),
        };
        yield return new OpCase("Unpack_all", ConcatOps.Unpack, (g, x) => { var p = g.Unstack(x[0], axis: -1); return p[0] - p[3] * p[1]; }, [x234])
        {
            Reference = xs => Nd.Make([2, 3], i => Nd.At(xs[0], [2, 3, 4], i[0], i[1], 0) - Nd.At(xs[0], [2, 3, 4], i[0], i[1], 3) * Nd.At(xs[0], [2, 3, 4], i[0], i[1], 1)),
        };

        // slicing and padding
        yield return new OpCase("Slice", SliceOps.Slice, (g, x) => g.Slice(x[0], [1, 0, 1], [1, -1, 2]), [x234])
        {
            Reference = xs => Nd.Make([1, 3, 2], i => Nd.At(xs[0], [2, 3, 4], 1, i[1], i[2] + 1)),
        };
        yield return new OpCase("StridedSlice", SliceOps.StridedSlice, (g, x) => g.StridedSlice(x[0], [1, -1], [4, 0], [2, -2]), [x453])
        {
            Reference = xs => Nd.Make([2, 2, 3], i => Nd.At(xs[0], [4, 5, 3], 1 + 2 * i[0], 4 - 2 * i[1], i[2])),
        };
        yield return new OpCase("StridedSlice_masks", SliceOps.StridedSlice,
            (g, x) => g.StridedSlice(x[0], [0, 1, 0], [0, 0, 0], [1, 1, -1], beginMask: 0b101, endMask: 0b111), [x453])
        {
            Reference = xs => Nd.Make([4, 4, 3], i => Nd.At(xs[0], [4, 5, 3], i[0], i[1] + 1, 2 - i[2])),
        };
        yield return new OpCase("StridedSlice_index", SliceOps.StridedSlice, (g, x) => x[0][.., 1, SliceIndex.NewAxis], [x453])
        {
            Reference = xs => Nd.Make([4, 1, 3], i => Nd.At(xs[0], [4, 5, 3], i[0], 1, i[2])),
        };
        yield return new OpCase("StridedSlice_ellipsis", SliceOps.StridedSlice, (g, x) => x[0][SliceIndex.Ellipsis, -1][1..^1], [x453])
        {
            Reference = xs => Nd.Make([2, 5], i => Nd.At(xs[0], [4, 5, 3], i[0] + 1, i[1], 2)),
        };
        yield return new OpCase("StridedSliceGrad", SliceOps.StridedSliceGrad,
            (g, x) => g.StridedSliceGrad(I32(g, 4, 5), I32(g, 1, 0), I32(g, 3, 5), I32(g, 1, 2), x[0]), [x23])
        {
            Reference = xs => Nd.Make([4, 5], i => i[0] is >= 1 and < 3 && i[1] % 2 == 0 ? Nd.At(xs[0], [2, 3], i[0] - 1, i[1] / 2) : 0),
        };
        yield return new OpCase("Pad", SliceOps.Pad, (g, x) => g.Pad(x[0], new[,] { { 1, 0 }, { 2, 1 } }), [x23])
        {
            Reference = xs => Nd.Make([3, 6], i => i[0] >= 1 && i[1] is >= 2 and < 5 ? Nd.At(xs[0], [2, 3], i[0] - 1, i[1] - 2) : 0),
        };
        yield return new OpCase("PadV2", SliceOps.PadV2, (g, x) => g.Pad(x[0], I32Matrix(g, new[,] { { 0, 2 }, { 1, 1 } }), g.Reshape(x[1], [])), [x23, Rand(39, -1, 1, 1)])
        {
            Reference = xs => Nd.Make([4, 5], i => i[0] < 2 && i[1] is >= 1 and < 4 ? Nd.At(xs[0], [2, 3], i[0], i[1] - 1) : xs[1][0]),
        };

        // gather, segments, one-hot
        var ids = new[] { 4, 0, 2, 4 };
        yield return new OpCase("GatherV2", GatherOps.GatherV2, (g, x) => g.Gather(x[0], g.Const(NDArray.From(ids, 2, 2))), [Rand(40, -2, 2, 5, 3)])
        {
            Reference = xs => Nd.Make([2, 2, 3], i => Nd.At(xs[0], [5, 3], ids[i[0] * 2 + i[1]], i[2])),
        };
        yield return new OpCase("GatherV2_axis1", GatherOps.GatherV2, (g, x) => g.Gather(x[0], g.Const(NDArray.From(new long[] { 3, 0, 3 })), axis: 1), [Rand(41, -2, 2, 2, 5, 3)])
        {
            Reference = xs => Nd.Make([2, 3, 3], i => Nd.At(xs[0], [2, 5, 3], i[0], new[] { 3, 0, 3 }[i[1]], i[2])),
        };
        yield return new OpCase("GatherV2_last", GatherOps.GatherV2, (g, x) => g.Gather(x[0], g.Const(NDArray.From(new[] { 1, 1, 0, 3 }, 2, 2)), axis: -1), [x234])
        {
            Reference = xs => Nd.Make([2, 3, 2, 2], i => Nd.At(xs[0], [2, 3, 4], i[0], i[1], new[] { 1, 1, 0, 3 }[i[2] * 2 + i[3]])),
        };
        var seg = new[] { 0, 2, 0 };
        yield return new OpCase("UnsortedSegmentSum", GatherOps.UnsortedSegmentSum, (g, x) => g.UnsortedSegmentSum(x[0], I32(g, seg), 4), [Rand(42, -2, 2, 3, 4)])
        {
            Reference = xs => Nd.Make([4, 4], i => Enumerable.Range(0, 3).Where(k => seg[k] == i[0]).Sum(k => Nd.At(xs[0], [3, 4], k, i[1]))),
        };
        yield return new OpCase("OneHot", GatherOps.OneHot,
            (g, x) => F64(g, g.OneHot(g.Const(NDArray.From(new long[] { 0, 2, 5, -1 }, 2, 2)), 4, 2, -1, axis: 1, dtype: x[0].DType)), [x23])
        {
            NotDifferentiable = true,
            Reference = _ => Nd.Make([2, 4, 2], i => new long[] { 0, 2, 5, -1 }[i[0] * 2 + i[2]] == i[1] ? 2 : -1),
        };

        // sequences
        yield return new OpCase("Range", SequenceOps.Range, (g, x) => F64(g, g.Range(g.Reshape(x[0], []), g.Reshape(x[1], []), g.Reshape(x[2], []))),
            [NDArray.From(new[] { 0.25 }), NDArray.From(new[] { 2.9 }), NDArray.From(new[] { 0.5 })])
        {
            NotDifferentiable = true, Reference = _ => Enumerable.Range(0, 6).Select(i => (double)(float)(0.25 + 0.5 * i)).ToArray(),
        };
        var lens = new[] { 2, 4, 0 };
        yield return new OpCase("ReverseSequence", SequenceOps.ReverseSequence, (g, x) => g.ReverseSequence(x[0], I32(g, lens), seqAxis: 1, batchAxis: 0), [Rand(43, -2, 2, 3, 4, 2)])
        {
            Reference = xs => Nd.Make([3, 4, 2], i => Nd.At(xs[0], [3, 4, 2], i[0], i[1] < lens[i[0]] ? lens[i[0]] - 1 - i[1] : i[1], i[2])),
        };
        yield return new OpCase("ReverseSequence_batch_last", SequenceOps.ReverseSequence,
            (g, x) => g.ReverseSequence(x[0], g.Const(NDArray.From(new long[] { 3, 1 })), seqAxis: 0, batchAxis: -1), [Rand(44, -2, 2, 4, 3, 2)])
        {
            Reference = xs => Nd.Make([4, 3, 2], i => Nd.At(xs[0], [4, 3, 2], i[0] < new[] { 3, 1 }[i[2]] ? new[] { 3, 1 }[i[2]] - 1 - i[0] : i[0], i[1], i[2])),
        };
    }

    static Tensor I32Matrix(Graph g, int[,] v) => g.Const(NDArray.FromMultiDim(v));

    /// <summary>Row-major index helpers for the references.</summary>
    public static class Nd
    {
        /// <summary>Flat array of dims <paramref name="dims"/> with element <c>f(index)</c>.</summary>
        public static double[] Make(int[] dims, Func<int[], double> f)
        {
            int n = dims.Aggregate(1, (a, d) => a * d);
            var y = new double[n];
            var idx = new int[dims.Length];
            for (int i = 0; i < n; i++)
            {
                int rem = i;
                for (int d = dims.Length - 1; d >= 0; d--) { idx[d] = rem % dims[d]; rem /= dims[d]; }
                y[i] = f(idx);
            }
            return y;
        }

        /// <summary>The element of a flat row-major array at a full index.</summary>
        public static double At(double[] a, int[] dims, params int[] idx)
        {
            int flat = 0;
            for (int d = 0; d < dims.Length; d++)
            {
                if ((uint)idx[d] >= (uint)dims[d]) throw new IndexOutOfRangeException($"reference index {idx[d]} outside dim {d} of size {dims[d]}");
                flat = flat * dims[d] + idx[d];
            }
            return a[flat];
        }
    }
}
