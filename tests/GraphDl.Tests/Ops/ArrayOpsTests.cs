using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Tests.Ops;

/// <summary>Edge cases of the array ops beyond the op table: unknown dims, negative axes, integer dtypes, errors.</summary>
public class ArrayOpsTests
{
    static NDArray Run(Graph g, Tensor t, params (Tensor, NDArray)[] feeds)
    {
        using var s = new Session(g);
        return s.Run(t, feeds);
    }

    static NDArray Iota(int n, params int[] dims) => NDArray.From(Enumerable.Range(0, n).ToArray(), dims);

    // ---- shape inference with unknown dims ----

    [Test]
    public void Concat_UnknownBatch_KeepsItAndAddsTheAxis()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var y = g.Concat([x, x * 2f], 1);
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(-1, 6)));
        Assert.That(g.Concat([x, g.Placeholder(DType.Float32, Shape.Of(2, 3))], 0).Shape, Is.EqualTo(Shape.Of(-1, 3)));
        Assert.That(g.Concat([x, g.Placeholder(DType.Float32, Shape.Of(4, -1))], 0).Shape, Is.EqualTo(Shape.Of(-1, 3)));
        Assert.That(g.Concat([x, g.Placeholder(DType.Float32)], 1).Shape, Is.EqualTo(Shape.Of(-1, -1)));
        using var s = new Session(g);
        foreach (int n in new[] { 3, 1, 2 })
        {
            var r = s.Run(y, (x, NDArray.From(Enumerable.Range(0, 3 * n).Select(v => (float)v).ToArray(), n, 3)));
            Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { n, 6 }));
            Assert.That(r.GetValue<float>(n - 1, 4), Is.EqualTo(2f * (3 * (n - 1) + 1)));
        }
    }

    [Test]
    public void Concat_GradientWithUnknownDims_SlicesByConcatOffset()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(-1, 2), "x");
        var z = g.Placeholder(DType.Float64, Shape.Of(-1, 2), "z");
        var loss = g.Sum(g.Square(g.Concat([x, z], 0)));
        var grads = g.Gradients([loss], [x, z]);
        Assert.That(g.Operations.Any(o => o.Type == "ConcatOffset"));
        using var s = new Session(g);
        var r = s.Run([grads[0]!, grads[1]!], (x, new double[,] { { 1, 2 } }), (z, new double[,] { { 3, 4 }, { 5, 6 } }));
        Assert.That(r[0].ToArray<double>(), Is.EqualTo(new double[] { 2, 4 }));
        Assert.That(r[1].ToArray<double>(), Is.EqualTo(new double[] { 6, 8, 10, 12 }));
    }

    [Test]
    public void StaticShapes_WithUnknownBatch()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 5), "x");
        Assert.Multiple(() =>
        {
            Assert.That(x[.., 1..3].Shape, Is.EqualTo(Shape.Of(-1, 2)));
            Assert.That(x[0].Shape, Is.EqualTo(Shape.Of(5)));
            Assert.That(x[.., ^1].Shape, Is.EqualTo(Shape.Of(-1)));
            Assert.That(x[SliceIndex.NewAxis].Shape, Is.EqualTo(Shape.Of(1, -1, 5)));
            Assert.That(g.Gather(x, g.Const(NDArray.From(new[] { 0, 1, 0, 1 }))).Shape, Is.EqualTo(Shape.Of(4, 5)));
            Assert.That(g.Gather(x, g.Placeholder(DType.Int32, Shape.Of(-1, 2)), axis: 1).Shape, Is.EqualTo(Shape.Of(-1, -1, 2)));
            Assert.That(g.Tile(x, [2, 1]).Shape, Is.EqualTo(Shape.Of(-1, 5)));
            Assert.That(g.Stack([x, g.Placeholder(DType.Float32, Shape.Of(2, -1))], axis: 1).Shape, Is.EqualTo(Shape.Of(2, 2, 5)));
            Assert.That(g.Pad(x, new[,] { { 1, 1 }, { 0, 2 } }).Shape, Is.EqualTo(Shape.Of(-1, 7)));
            Assert.That(g.Slice(x, [0, 1], [-1, 2]).Shape, Is.EqualTo(Shape.Of(-1, 2)));
            Assert.That(g.Slice(x, [1, 1], [-1, -1]).Shape, Is.EqualTo(Shape.Of(-1, 4)));
            Assert.That(g.SplitV(x, [2, -1], axis: 1).Select(t => t.Shape), Is.EqualTo(new[] { Shape.Of(-1, 2), Shape.Of(-1, 3) }));
            Assert.That(g.Unstack(x, axis: 1).Select(t => t.Shape), Is.All.EqualTo(Shape.Of(-1)));
            Assert.That(g.Transpose(x).Shape, Is.EqualTo(Shape.Of(5, -1)));
            Assert.That(g.ExpandDims(x, 1).Shape, Is.EqualTo(Shape.Of(-1, 1, 5)));
            Assert.That(g.Squeeze(g.Placeholder(DType.Float32, Shape.Of(-1, 1, 3)), [1]).Shape, Is.EqualTo(Shape.Of(-1, 3)));
            Assert.That(g.Squeeze(g.Placeholder(DType.Float32, Shape.Of(-1, 1, 3))).Shape, Is.EqualTo(Shape.Unknown));
            Assert.That(g.OneHot(g.Placeholder(DType.Int32, Shape.Of(-1)), 4).Shape, Is.EqualTo(Shape.Of(-1, 4)));
            Assert.That(g.UnsortedSegmentSum(x, g.Placeholder(DType.Int32, Shape.Of(-1)), 3).Shape, Is.EqualTo(Shape.Of(3, 5)));
            Assert.That(g.Range(0, 10, 3).Shape, Is.EqualTo(Shape.Of(4)));
        });
    }

    [Test]
    public void Split_UnknownBatch_RunsWithAnyBatch()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
        var parts = g.Split(x, 3, axis: 1);
        Assert.That(parts.Select(p => p.Shape), Is.All.EqualTo(Shape.Of(-1, 2)));
        using var s = new Session(g);
        var r = s.Run(parts, (x, NDArray.From(Enumerable.Range(0, 12).Select(v => (float)v).ToArray(), 2, 6)));
        Assert.That(r[2].ToArray<float>(), Is.EqualTo(new float[] { 4, 5, 10, 11 }));
    }

    // ---- negative axes ----

    [Test]
    public void NegativeAxes_CountFromTheEnd()
    {
        var g = new Graph();
        var a = g.Const(Iota(6, 2, 3));
        var b = g.Const(NDArray.From(Enumerable.Range(10, 6).ToArray(), 2, 3));
        var stacked = g.Stack([a, b], axis: -1);
        Assert.That(stacked.Shape, Is.EqualTo(Shape.Of(2, 3, 2)));
        Assert.That(Run(g, stacked).ToArray<int>(), Is.EqualTo(new[] { 0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15 }));
        var un = g.Unstack(a, axis: -1);
        Assert.That(un.Length, Is.EqualTo(3));
        Assert.That(Run(g, un[2]).ToArray<int>(), Is.EqualTo(new[] { 2, 5 }));
        Assert.That(g.ExpandDims(a, -1).Shape, Is.EqualTo(Shape.Of(2, 3, 1)));
        Assert.That(g.ExpandDims(a, -3).Shape, Is.EqualTo(Shape.Of(1, 2, 3)));
        Assert.That(g.Squeeze(g.ExpandDims(a, -1), [-1]).Shape, Is.EqualTo(Shape.Of(2, 3)));
        Assert.That(Run(g, g.Split(a, 3, axis: -1)[1]).ToArray<int>(), Is.EqualTo(new[] { 1, 4 }));
        Assert.That(Run(g, g.Concat([a, b], -1)).ToArray<int>(), Is.EqualTo(new[] { 0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15 }));
        Assert.That(Run(g, g.Gather(a, g.Const(NDArray.From(new[] { 2, 0 })), axis: -1)).ToArray<int>(), Is.EqualTo(new[] { 2, 0, 5, 3 }));
        Assert.That(Run(g, a[-1, -2]).ToArray<int>(), Is.EqualTo(new[] { 4 }));
    }

    // ---- integer and bool dtypes ----

    [Test]
    public void IntAndBoolDtypes_Work()
    {
        var g = new Graph();
        var a = g.Const(Iota(6, 2, 3));
        var l = g.Const(NDArray.From(new long[] { 1, 2, 3, 4, 5, 6 }, 2, 3));
        var flags = g.Const(NDArray.From(new[] { true, false }));
        Assert.Multiple(() =>
        {
            Assert.That(Run(g, g.Transpose(a)).ToArray<int>(), Is.EqualTo(new[] { 0, 3, 1, 4, 2, 5 }));
            Assert.That(Run(g, g.Concat([l, l], 0)).ToArray<long>(), Is.EqualTo(new long[] { 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6 }));
            Assert.That(Run(g, g.Gather(a, g.Const(NDArray.From(new long[] { 1, 1 })))).ToArray<int>(), Is.EqualTo(new[] { 3, 4, 5, 3, 4, 5 }));
            Assert.That(Run(g, g.Tile(flags, [3])).ToArray<bool>(), Is.EqualTo(new[] { true, false, true, false, true, false }));
            Assert.That(Run(g, g.Pad(a, new[,] { { 0, 0 }, { 1, 0 } }, constantValue: 7)).ToArray<int>(), Is.EqualTo(new[] { 7, 0, 1, 2, 7, 3, 4, 5 }));
            Assert.That(Run(g, l[.., new Range(Index.End, Index.Start)]).Dims.ToArray(), Is.EqualTo(new[] { 2, 0 }));
            Assert.That(Run(g, g.StridedSlice(l, [0, 0], [0, 0], [1, -1], beginMask: 3, endMask: 3)).ToArray<long>(), Is.EqualTo(new long[] { 3, 2, 1, 6, 5, 4 }));
            Assert.That(Run(g, g.ReverseSequence(a, g.Const(NDArray.From(new[] { 3, 2 })), seqAxis: 1)).ToArray<int>(), Is.EqualTo(new[] { 2, 1, 0, 4, 3, 5 }));
            Assert.That(Run(g, g.OneHot(g.Const(NDArray.From(new[] { 2, 0 })), 3, dtype: DType.Int32)).ToArray<int>(), Is.EqualTo(new[] { 0, 0, 1, 1, 0, 0 }));
            Assert.That(Run(g, g.OneHot(g.Const(NDArray.From(new[] { 1 })), 2, dtype: DType.Bool)).ToArray<bool>(), Is.EqualTo(new[] { false, true }));
            Assert.That(Run(g, g.Range(g.Scalar(10, DType.Int64), g.Scalar(1, DType.Int64), g.Scalar(-4, DType.Int64))).ToArray<long>(), Is.EqualTo(new long[] { 10, 6, 2 }));
            Assert.That(Run(g, g.UnsortedSegmentSum(a, g.Const(NDArray.From(new[] { 1, 1 })), 2)).ToArray<int>(), Is.EqualTo(new[] { 0, 0, 0, 3, 5, 7 }));
            Assert.That(Run(g, g.Slice(g.Tile(flags, [2]), [1], [2])).ToArray<bool>(), Is.EqualTo(new[] { false, true }));
            Assert.That(Run(g, g.SplitV(l, [2, 1], axis: 1)[1]).ToArray<long>(), Is.EqualTo(new long[] { 3, 6 }));
            Assert.That(Run(g, g.Stack([flags, flags], axis: 1)).ToArray<bool>(), Is.EqualTo(new[] { true, true, false, false }));
            Assert.That(Run(g, g.InvertPermutation(g.Const(NDArray.From(new long[] { 1, 2, 0 })))).ToArray<long>(), Is.EqualTo(new long[] { 2, 0, 1 }));
        });
    }

    [Test]
    public void StringValues_CanBeRearranged()
    {
        var g = new Graph();
        var s = g.Const(NDArray.From(new[] { "a", "b", "c", "d" }, 2, 2));
        Assert.That(Run(g, g.Transpose(s)).ToArray<string>(), Is.EqualTo(new[] { "a", "c", "b", "d" }));
        Assert.That(Run(g, g.Gather(s, g.Const(NDArray.From(new[] { 1 })))).ToArray<string>(), Is.EqualTo(new[] { "c", "d" }));
        Assert.That(Run(g, g.Pad(s, g.Const(NDArray.From(new[] { 0, 0, 0, 1 }, 2, 2)))).ToArray<string>(), Is.EqualTo(new[] { "a", "b", "", "c", "d", "" }));
    }

    // ---- errors ----

    [Test]
    public void Gather_OutOfRangeIndex_NamesTheIndexAndTheRange()
    {
        var g = new Graph();
        var p = g.Const(NDArray.Zeros(DType.Float32, 5, 3));
        var i = g.Placeholder(DType.Int32, Shape.Of(-1), "i");
        var y = g.Gather(p, i, name: "embed");
        using var s = new Session(g);
        var e = Assert.Throws<SessionRunException>(() => s.Run(y, (i, NDArray.From(new[] { 1, 7 }))));
        Assert.That(e!.Message, Does.Contain("GatherV2 'embed'").And.Contain("indices[1] = 7 is not in [0, 5)"));
        e = Assert.Throws<SessionRunException>(() => s.Run(y, (i, NDArray.From(new[] { -1 }))));
        Assert.That(e!.Message, Does.Contain("indices[0] = -1 is not in [0, 5)"));
        var i2 = g.Placeholder(DType.Int64, Shape.Of(2, 2), "i2");
        var y2 = g.Gather(p, i2, axis: 1);
        using var s2 = new Session(g);
        e = Assert.Throws<SessionRunException>(() => s2.Run(y2, (i2, NDArray.From(new long[] { 0, 1, 3, 2 }, 2, 2))));
        Assert.That(e!.Message, Does.Contain("indices[1,0] = 3 is not in [0, 3)"));
    }

    [Test]
    public void UnsortedSegmentSum_OutOfRangeId_Throws()
    {
        var g = new Graph();
        var y = g.UnsortedSegmentSum(g.Const(NDArray.Zeros(DType.Float64, 3, 2)), g.Const(NDArray.From(new[] { 0, 2, 3 })), 3);
        var e = Assert.Throws<SessionRunException>(() => Run(g, y));
        Assert.That(e!.Message, Does.Contain("segment_ids[2] = 3 is not in [0, 3)"));
    }

    [Test]
    public void BuildTimeErrors_NameTheShapes()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var m = g.Placeholder(DType.Float32, Shape.Of(4, 5), "m");
        void Expect(TestDelegate build, string text)
        {
            var e = Assert.Throws<GraphBuildException>(build);
            Assert.That(e!.Message, Does.Contain(text));
            Assert.That(e.Message, Does.Contain("ArrayOpsTests.cs:"));
        }
        Assert.Multiple(() =>
        {
            Expect(() => g.Concat([x, g.Placeholder(DType.Float32, Shape.Of(-1, 4))], 0), "dimension 1 differs, [?,3] and [?,4] (concatenating along axis 0)");
            Expect(() => g.Concat([x, x], 2), "axis 2 is out of range [-2, 2) for [?,3]");
            Expect(() => g.Concat([x, g.Placeholder(DType.Float64, Shape.Of(-1, 3))], 0), "dtypes differ");
            Expect(() => g.Concat([x, g.Placeholder(DType.Float32, Shape.Of(3))], 0), "ranks differ, [?,3] and [3]");
            Expect(() => _ = m[7], "index 7 is out of bounds for dimension 0 of size 4");
            Expect(() => _ = m[.., -6], "index -6 is out of bounds for dimension 1 of size 5");
            Expect(() => _ = m[0, 0, 0], "more dims than the input's rank 2");
            Expect(() => g.StridedSlice(m, [0], [1], [0]), "strides[0] must be non-zero");
            Expect(() => g.Slice(m, [3, 0], [2, -1]), "slice of begin 3 and size 2 is out of bounds for dimension 0 of [4,5]");
            Expect(() => g.Split(m, 2, axis: 1), "dimension 1 of [4,5] (5) cannot be split evenly into 2 pieces");
            Expect(() => g.SplitV(m, [2, 2], axis: 1), "size_splits [2,2] do not add up to dimension size 5");
            Expect(() => g.SplitV(m, [-1, -1], axis: 1), "may hold one -1");
            Expect(() => g.Squeeze(m, [1]), "cannot squeeze dimension 1 of [4,5]: its size is 5, not 1");
            Expect(() => g.Transpose(m, [0, 0]), "perm [0,0] is not a permutation of 0..1");
            Expect(() => g.Transpose(m, [1, 0, 2]), "perm [1,0,2] has 3 entries for [4,5] of rank 2");
            Expect(() => g.Stack([x, m]), "shapes differ, [?,3] and [4,5]");
            Expect(() => g.Unstack(x), "cannot infer num from shape [?,3] along axis 0");
            Expect(() => g.Unstack(m, num: 3), "dimension 0 of [4,5] is 4, not num = 3");
            Expect(() => g.Tile(m, [2]), "multiples [2] has 1 entries for [4,5] of rank 2");
            Expect(() => g.Pad(m, new[,] { { 1, 1 } }), "paddings must have shape [2,2], got [1,2]");
            Expect(() => g.Gather(m, g.Const(NDArray.From(new[] { 0.5f }))), "indices must be int32 or int64, got float32");
            Expect(() => g.ExpandDims(m, 3), "axis 3 is out of range [-3, 3) for [4,5]");
            Expect(() => g.ReverseSequence(m, g.Const(NDArray.From(new[] { 1, 2 })), seqAxis: 1), "seq_lengths [2] must have one entry per batch entry, dimension 0 of [4,5]");
            Expect(() => g.ReverseSequence(m, g.Const(NDArray.From(new[] { 1, 2 })), seqAxis: 0), "seq_dim and batch_dim must differ");
            Expect(() => g.Range(0, 5, 0), "delta must not be 0");
            Expect(() => g.Range(5, 0, 1), "start 5 must be <= limit 0 when delta is 1");
            Expect(() => g.OneHot(x, 3), "indices must be int32, int64 or uint8, got float32");
        });
    }

    [Test]
    public void RunTimeErrors_NameTheNodeAndValues()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
        var feed = NDArray.From(new float[8], 2, 4);
        var cases = new (Tensor, string)[]
        {
            (x[5], "StridedSlice 'strided_slice': index 5 is out of bounds for dimension 0 of size 2 (slicing [2,4]"),
            (g.Slice(x, [1, 0], [2, -1], name: "sl"), "Slice 'sl': slice of begin 1 and size 2 is out of bounds for dimension 0 of [2,4]"),
            (g.Split(x, 3, axis: 0)[0], "dimension 0 of [2,4] (2) cannot be split evenly into 3 pieces"),
            (g.ReverseSequence(x, g.Const(NDArray.From(new[] { 1, 9 })), seqAxis: 1), "seq_lengths[1] = 9 is not in [0, 4] (dimension 1 of [2,4])"),
            (g.Stack([x, x[..1]]), "input 1 has shape [1,4], input 0 has [2,4]"),
            (g.Concat([x, g.Transpose(x)], 0), "input 1 has shape [4,2], input 0 has [2,4] (concatenating along axis 0)"),
            (g.Squeeze(g.Reshape(x, [-1, 1, 4]), [0]), "cannot squeeze dimension 0 of [2,1,4]: its size is 2, not 1"),
            (g.Transpose(x, g.Stack([g.Rank(x) - 1.0, g.Rank(x) - 1.0])), "perm [1,1] is not a permutation of 0..1"),
        };
        using var s = new Session(g);
        Assert.Multiple(() =>
        {
            foreach (var (t, text) in cases)
            {
                var e = Assert.Throws<SessionRunException>(() => s.Run(t, (x, feed)));
                Assert.That(e!.Message, Does.Contain(text));
            }
        });
    }

    // ---- tensor indexer and conveniences ----

    [Test]
    public void Indexer_FollowsNumpyBasicIndexing()
    {
        var g = new Graph();
        var x = g.Const(Iota(24, 2, 3, 4));
        NDArray R(Tensor t) => Run(g, t);
        Assert.Multiple(() =>
        {
            Assert.That(R(x[1]).Dims.ToArray(), Is.EqualTo(new[] { 3, 4 }));
            Assert.That(R(x[1]).ToArray<int>()[0], Is.EqualTo(12));
            Assert.That(R(x[.., ^1]).ToArray<int>(), Is.EqualTo(new[] { 8, 9, 10, 11, 20, 21, 22, 23 }));
            Assert.That(R(x[0, 1..]).ToArray<int>(), Is.EqualTo(new[] { 4, 5, 6, 7, 8, 9, 10, 11 }));
            Assert.That(R(x[.., .., ..2]).Dims.ToArray(), Is.EqualTo(new[] { 2, 3, 2 }));
            Assert.That(R(x[SliceIndex.NewAxis, 1]).Dims.ToArray(), Is.EqualTo(new[] { 1, 3, 4 }));
            Assert.That(R(x[SliceIndex.Ellipsis, 0]).ToArray<int>(), Is.EqualTo(new[] { 0, 4, 8, 12, 16, 20 }));
            Assert.That(R(x[1, SliceIndex.Ellipsis, 1..^1, SliceIndex.NewAxis]).Dims.ToArray(), Is.EqualTo(new[] { 3, 2, 1 }));
            Assert.That(R(x[^1..]).Dims.ToArray(), Is.EqualTo(new[] { 1, 3, 4 }));
            Assert.That(R(x[^0..]).Dims.ToArray(), Is.EqualTo(new[] { 0, 3, 4 }));
            Assert.That(R(x[.., 2..1]).Dims.ToArray(), Is.EqualTo(new[] { 2, 0, 4 }));
            Assert.That(R(x[.., 1..100]).Dims.ToArray(), Is.EqualTo(new[] { 2, 2, 4 }));
            Assert.That(R(x[1, 2, 3]).ToArray<int>(), Is.EqualTo(new[] { 23 }));
            Assert.That(R(x[1, 2, 3]).Rank, Is.EqualTo(0));
        });
    }

    [Test]
    public void SequenceMask_MatchesTf()
    {
        var g = new Graph();
        var lengths = g.Const(NDArray.From(new[] { 1, 3, 0 }));
        var m = g.SequenceMask(lengths, 4);
        Assert.That(m.Shape, Is.EqualTo(Shape.Of(3, 4)));
        Assert.That(m.DType, Is.EqualTo(DType.Bool));
        Assert.That(Run(g, m).ToArray<bool>(), Is.EqualTo(new[] { true, false, false, false, true, true, true, false, false, false, false, false }));
        var f = g.SequenceMask(lengths, dtype: DType.Float32);
        Assert.That(Run(g, f).ToArray<float>(), Is.EqualTo(new float[] { 1, 0, 0, 1, 1, 1, 0, 0, 0 }));
        var l2 = g.Placeholder(DType.Int64, Shape.Of(-1, 2), "l2");
        var m2 = g.SequenceMask(l2, 3);
        Assert.That(m2.Shape, Is.EqualTo(Shape.Of(-1, 2, 3)));
        Assert.That(Run(g, m2, (l2, NDArray.From(new long[] { 2, 0 }, 1, 2))).ToArray<bool>(), Is.EqualTo(new[] { true, true, false, false, false, false }));
    }

    [Test]
    public void Transpose_UnknownRank_ReversesDimsAtRunTime()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, null, "x");
        var y = g.Transpose(x);
        Assert.That(y.Shape, Is.EqualTo(Shape.Unknown));
        var r = Run(g, y, (x, NDArray.From(Enumerable.Range(0, 6).Select(v => (float)v).ToArray(), 1, 2, 3)));
        Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { 3, 2, 1 }));
        Assert.That(r.ToArray<float>(), Is.EqualTo(new float[] { 0, 3, 1, 4, 2, 5 }));
    }

    [Test]
    public void Transpose_LargeAndBatched_MatchesNaive()
    {
        var g = new Graph();
        int[] dims = [3, 40, 33];
        var x = g.Const(Iota(3 * 40 * 33, dims));
        int[][] perms = [[0, 2, 1], [2, 1, 0], [1, 0, 2], [2, 0, 1], [1, 2, 0]];
        var ys = perms.Select(p => g.Transpose(x, p)).ToArray();
        using var s = new Session(g);
        var rs = s.Run(ys);
        for (int k = 0; k < perms.Length; k++)
        {
            var p = perms[k];
            var od = p.Select(i => dims[i]).ToArray();
            var expected = new int[rs[k].Size];
            var idx = new int[3];
            for (int f = 0; f < expected.Length; f++)
            {
                int rem = f;
                for (int d = 2; d >= 0; d--) { idx[d] = rem % od[d]; rem /= od[d]; }
                var src = new int[3];
                for (int d = 0; d < 3; d++) src[p[d]] = idx[d];
                expected[f] = (src[0] * 40 + src[1]) * 33 + src[2];
            }
            Assert.That(rs[k].Dims.ToArray(), Is.EqualTo(od));
            Assert.That(rs[k].ToArray<int>(), Is.EqualTo(expected), $"perm {string.Join(",", p)}");
        }
    }

    // ---- gradients ----

    [Test]
    public void SecondOrderGradients_FlowThroughSliceAndGather()
    {
        // L = sum(slice(x)^2): dL/dx = 2x on the slice; d/dx sum((dL/dx)^2) = 8x on the slice.
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(3, 2), "x");
        var l1 = g.Sum(g.Square(g.Slice(x, [1, 0], [2, 1])));
        var d1 = g.Gradient(l1, x)!;
        var d2 = g.Gradient(g.Sum(g.Square(d1)), x)!;
        // L = sum(gather(x, [2, 2, 0])^2): dL/dx = 2x·count; d/dx sum((dL/dx)^2) = 8x·count².
        var l2 = g.Sum(g.Square(g.Gather(x, g.Const(NDArray.From(new[] { 2, 2, 0 })))));
        var e1 = g.Gradient(l2, x)!;
        var e2 = g.Gradient(g.Sum(g.Square(e1)), x)!;
        using var s = new Session(g);
        var xv = new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } };
        var r = s.Run([d2, e2], (x, xv));
        Assert.That(r[0].ToArray<double>(), Is.EqualTo(new double[] { 0, 0, 24, 0, 40, 0 }));
        Assert.That(r[1].ToArray<double>(), Is.EqualTo(new double[] { 8, 16, 0, 0, 160, 192 }));
    }

    [Test]
    public void Gradients_WithUnknownBatch_Tile_Gather_Pad_StridedSlice()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(-1, 2), "x");
        var tile = g.Gradient(g.Sum(g.Tile(x, [2, 3])), x)!;
        var gather = g.Gradient(g.Sum(g.Gather(x, g.Const(NDArray.From(new[] { 0, 0, 1 })))), x)!;
        var pad = g.Gradient(g.Sum(g.Pad(x, new[,] { { 1, 2 }, { 0, 1 } }) * 3.0), x)!;
        var ss = g.Gradient(g.Sum(x[1.., ..1]), x)!;
        var slice = g.Gradient(g.Sum(g.Slice(x, [1, 1], [-1, 1]) * 2.0), x)!;
        foreach (var d in new[] { tile, gather, pad, ss, slice }) Assert.That(d.Shape, Is.EqualTo(Shape.Of(-1, 2)));
        using var s = new Session(g);
        var r = s.Run([tile, gather, pad, ss, slice], (x, new double[,] { { 1, 2 }, { 3, 4 }, { 5, 6 } }));
        Assert.That(r[0].ToArray<double>(), Is.All.EqualTo(6.0));
        Assert.That(r[1].ToArray<double>(), Is.EqualTo(new double[] { 2, 2, 1, 1, 0, 0 }));
        Assert.That(r[2].ToArray<double>(), Is.All.EqualTo(3.0));
        Assert.That(r[3].ToArray<double>(), Is.EqualTo(new double[] { 0, 0, 1, 0, 1, 0 }));
        Assert.That(r[4].ToArray<double>(), Is.EqualTo(new double[] { 0, 0, 0, 2, 0, 2 }));
    }

    [Test]
    public void Kernels_ReuseBuffersAcrossRunsOfDifferentSizes()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        var y = g.Pad(g.Transpose(g.Concat([x, x], 0)), new[,] { { 0, 0 }, { 1, 0 } });
        using var s = new Session(g);
        foreach (int n in new[] { 3, 1, 2 })
        {
            var v = Enumerable.Range(1, 2 * n).Select(i => (float)i).ToArray();
            var r = s.Run(y, (x, NDArray.From(v, n, 2)));
            Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { 2, 2 * n + 1 }));
            var row0 = new[] { 0f }.Concat(v.Where((_, i) => i % 2 == 0)).Concat(v.Where((_, i) => i % 2 == 0)).ToArray();
            Assert.That(r.ToArray<float>().Take(2 * n + 1), Is.EqualTo(row0));
        }
    }

    /// <summary>SelectV2 with same-shape operands takes each element's bits from the chosen branch (NaN payloads, −0 and
    /// all) in the vector lanes and in the tail, for float32 and int32.</summary>
    [Test]
    public void Where_SameShape_PicksBranchBitsInLanesAndTail([Values(1, 16, 37, 70)] int n)
    {
        var r = new Random(n);
        var cond = Enumerable.Range(0, n).Select(_ => r.Next(2) == 1).ToArray();
        var af = Enumerable.Range(0, n).Select(i => i % 7 == 3 ? BitConverter.Int32BitsToSingle(0x7fc01234 + i) : i % 5 == 0 ? -0f : (float)r.NextDouble()).ToArray();
        var bf = Enumerable.Range(0, n).Select(_ => (float)-r.NextDouble()).ToArray();
        var ai = Enumerable.Range(0, n).Select(_ => r.Next()).ToArray();
        var bi = Enumerable.Range(0, n).Select(_ => -r.Next()).ToArray();
        var g = new Graph();
        var c = g.Const(NDArray.From(cond, n, 1));
        var yf = g.Where(c, g.Const(NDArray.From(af, n, 1)), g.Const(NDArray.From(bf, n, 1)));
        var yi = g.Where(c, g.Const(NDArray.From(ai, n, 1)), g.Const(NDArray.From(bi, n, 1)));
        using var s = new Session(g);
        var res = s.Run([yf, yi]);
        var gotF = res[0].ToArray<float>();
        var gotI = res[1].ToArray<int>();
        for (int i = 0; i < n; i++)
        {
            float ef = cond[i] ? af[i] : bf[i];
            Assert.That(BitConverter.SingleToInt32Bits(gotF[i]), Is.EqualTo(BitConverter.SingleToInt32Bits(ef)), $"float at {i}");
            Assert.That(gotI[i], Is.EqualTo(cond[i] ? ai[i] : bi[i]), $"int at {i}");
        }
    }
}

