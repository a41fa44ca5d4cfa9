using GraphDl.Ops;
using NUnit.Framework;
using static GraphDl.Tests.Ops.ConvReference;

namespace GraphDl.Tests.Ops;

/// <summary>Convolution and pooling beyond the op table: many im2col tiles and threads against the naive loops,
/// determinism across thread counts, TF's SAME arithmetic, and shape errors.</summary>
public class ConvTests
{
    static double[] RandVec(int seed, int n)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => r.NextDouble() * 2 - 1).ToArray();
    }

    static (double[] y, double[] dx, double[] df) RunConv(Geo geo, double[] x, double[] f, double[] dy, DType t, int threads = 0)
    {
        var g = new Graph();
        int[] xd = [geo.N, geo.H, geo.W, geo.C], fd = [geo.KH, geo.KW, geo.C, geo.O];
        var xp = g.Placeholder(t, Shape.Of(xd));
        var fp = g.Placeholder(t, Shape.Of(fd));
        var dyp = g.Placeholder(t, Shape.Of(geo.OutDims));
        int[] st = [geo.SH, geo.SW], dl = [geo.DH, geo.DW];
        string pad = geo.Same ? "SAME" : "VALID";
        var y = g.Conv2D(xp, fp, st, pad, dl);
        var dx = g.Conv2DBackpropInput(g.ShapeOf(xp), fp, dyp, st, pad, dl);
        var df = g.Conv2DBackpropFilter(xp, g.ShapeOf(fp), dyp, st, pad, dl);
        using var s = new Session(g, new SessionOptions { IntraOpThreads = threads });
        NDArray A(double[] v, int[] d) => t == DType.Float64 ? NDArray.From(v, d) : NDArray.From(v.Select(e => (float)e).ToArray(), d);
        var r = s.Run([y, dx, df], (xp, A(x, xd)), (fp, A(f, fd)), (dyp, A(dy, geo.OutDims)));
        return (r[0].ToDoubleArray(), r[1].ToDoubleArray(), r[2].ToDoubleArray());
    }

    [TestCase(4, 19, 17, 5, 5, 5, 7, 1, 1, false)]
    [TestCase(9, 23, 21, 3, 3, 3, 8, 2, 1, true)]
    [TestCase(5, 16, 15, 4, 3, 3, 6, 1, 2, true)]
    [TestCase(1, 40, 37, 2, 5, 3, 3, 2, 1, true)]
    // One input channel (transposed forward product) with several tiles, SAME borders, strides and dilations.
    [TestCase(3, 32, 32, 1, 5, 5, 6, 1, 1, false)]
    [TestCase(2, 30, 29, 1, 3, 5, 4, 1, 1, true)]
    [TestCase(2, 25, 27, 1, 3, 3, 5, 2, 2, true)]
    [TestCase(2, 21, 23, 1, 4, 2, 3, 1, 3, true)]
    // Output channels wider than a micro-tile (the untransposed products).
    [TestCase(2, 9, 8, 3, 3, 3, 33, 1, 1, true)]
    [TestCase(2, 12, 11, 1, 3, 3, 40, 2, 1, false)]
    public void ManyTiles_MatchNaiveLoops(int n, int h, int w, int c, int kh, int kw, int o, int s, int d, bool same)
    {
        var geo = new Geo(n, h, w, c, kh, kw, o, s, s, d, d, same);
        var x = RandVec(1, n * h * w * c);
        var f = RandVec(2, kh * kw * c * o);
        var dy = RandVec(3, geo.OutDims.Aggregate(1, (a, b) => a * b));
        var (y, dx, df) = RunConv(geo, x, f, dy, DType.Float64);
        NumericAssert.AllClose(y, Conv(geo, x, f), 1e-12, 1e-12, "Conv2D");
        NumericAssert.AllClose(dx, ConvBackpropInput(geo, f, dy), 1e-12, 1e-12, "Conv2DBackpropInput");
        NumericAssert.AllClose(df, ConvBackpropFilter(geo, x, dy), 1e-11, 1e-12, "Conv2DBackpropFilter");
        var (y32, dx32, df32) = RunConv(geo, x, f, dy, DType.Float32);
        NumericAssert.AllClose(y32, y, 1e-4, 1e-4, "Conv2D float32");
        NumericAssert.AllClose(dx32, dx, 1e-4, 1e-4, "Conv2DBackpropInput float32");
        NumericAssert.AllClose(df32, df, 1e-3, 1e-4, "Conv2DBackpropFilter float32");
    }

    [TestCase(4)]
    [TestCase(1)]
    public void Results_AreBitIdenticalForAnyThreadCount(int c)
    {
        var geo = new Geo(8, 20, 20, c, 3, 3, 8, 1, 1, 1, 1, true);
        var x = RandVec(4, 8 * 20 * 20 * c);
        var f = RandVec(5, 3 * 3 * c * 8);
        var dy = RandVec(6, 8 * 20 * 20 * 8);
        var one = RunConv(geo, x, f, dy, DType.Float32, threads: 1);
        var three = RunConv(geo, x, f, dy, DType.Float32, threads: 3);
        Assert.That(three.y, Is.EqualTo(one.y));
        Assert.That(three.dx, Is.EqualTo(one.dx));
        Assert.That(three.df, Is.EqualTo(one.df));
    }

    [Test]
    public void Same_PadsLikeTensorFlow_AsymmetricExtraAfter()
    {
        // H = W = 4, k = 3, stride 2: out 2, pad_total = (2-1)·2 + 3 - 4 = 1 -> 0 before, 1 after.
        Assert.That(ConvPadding.Compute(4, 3, 2, 1, true), Is.EqualTo((2, 0)));
        Assert.That(ConvPadding.Compute(5, 3, 2, 1, true), Is.EqualTo((3, 1)));
        Assert.That(ConvPadding.Compute(7, 3, 1, 2, true), Is.EqualTo((7, 2)));
        Assert.That(ConvPadding.Compute(7, 3, 2, 2, false), Is.EqualTo((2, 0)));
        Assert.That(ConvPadding.Compute(2, 3, 1, 1, false).Out, Is.EqualTo(-1));

        // A ones filter over 1..16 in a 4x4 image: output (0,0) sums rows 0-2, cols 0-2 (no padding before);
        // output (1,1) sums rows 2-3, cols 2-3 (the padding is after).
        var g = new Graph();
        var x = g.Const(NDArray.From(Enumerable.Range(1, 16).Select(v => (double)v).ToArray(), 1, 4, 4, 1));
        var f = g.Const(NDArray.From(Enumerable.Repeat(1.0, 9).ToArray(), 3, 3, 1, 1));
        var y = g.Conv2D(x, f, [2, 2], "SAME");
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(1, 2, 2, 1)));
        using var s = new Session(g);
        var r = s.Run(y).ToDoubleArray();
        Assert.That(r, Is.EqualTo(new double[] { 1 + 2 + 3 + 5 + 6 + 7 + 9 + 10 + 11, 3 + 4 + 7 + 8 + 11 + 12, 9 + 10 + 11 + 13 + 14 + 15, 11 + 12 + 15 + 16 }));
        var mp = g.MaxPool(x, [3, 3], [2, 2], "SAME");
        var ap = g.AvgPool(x, [3, 3], [2, 2], "SAME");
        Assert.That(s.Run(mp).ToDoubleArray(), Is.EqualTo(new double[] { 11, 12, 15, 16 }));
        Assert.That(s.Run(ap).ToDoubleArray(), Is.EqualTo(new double[] { 54 / 9.0, 45 / 6.0, 72 / 6.0, 54 / 4.0 }));
    }

    /// <summary>Ties in a max-pool window: the whole gradient goes to the first maximal position in row-major order (as the
    /// naive reference and TF's CPU kernel), for channel counts on every kernel path (vector-sized and not).</summary>
    [Test]
    public void MaxPoolGrad_TiesGoToFirstPosition([Values(1, 6, 8, 9)] int c, [Values(DType.Float32, DType.Float64)] DType t, [Values(2, 3)] int k)
    {
        int[] xd = [2, 6, 7, c];
        var geo = Pool(xd, k, 2, true);
        int n = xd.Aggregate(1, (a, b) => a * b);
        // Values from a set of 3, so most windows hold their maximum more than once.
        var xv = Enumerable.Range(0, n).Select(i => (double)((i * 7 + i / 5) % 3)).ToArray();
        var dyv = RandVec(11, geo.OutDims.Aggregate(1, (a, b) => a * b));
        var g = new Graph();
        NDArray A(double[] v, int[] d) => t == DType.Float64 ? NDArray.From(v, d) : NDArray.From(v.Select(e => (float)e).ToArray(), d);
        var x = g.Const(A(xv, xd));
        var y = g.MaxPool(x, [k, k], [2, 2], "SAME");
        var dx = g.MaxPoolGrad(x, y, g.Const(A(dyv, geo.OutDims)), [k, k], [2, 2], "SAME");
        using var s = new Session(g);
        var r = s.Run([y, dx]);
        NumericAssert.AllClose(r[0].ToDoubleArray(), MaxPool(geo, xv), 0, 0, "MaxPool");
        NumericAssert.AllClose(r[1].ToDoubleArray(), MaxPoolGrad(geo, xv, dyv), 1e-6, 1e-6, "MaxPoolGrad");
    }

    [Test]
    public void ShapeErrors_NameTheShapes()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 28, 28, 3));
        var e = Assert.Throws<GraphBuildException>(() => g.Conv2D(x, g.Placeholder(DType.Float32, Shape.Of(5, 5, 1, 6))))!;
        Assert.That(e.Message, Does.Contain("[?,28,28,3]").And.Contain("[5,5,1,6]"));
        e = Assert.Throws<GraphBuildException>(() => g.Conv2D(g.Placeholder(DType.Float32, Shape.Of(28, 28, 3)), g.Placeholder(DType.Float32, Shape.Of(5, 5, 3, 6))))!;
        Assert.That(e.Message, Does.Contain("rank 4").And.Contain("[28,28,3]"));
        e = Assert.Throws<GraphBuildException>(() => g.Conv2D(g.Placeholder(DType.Float32, Shape.Of(1, 4, 4, 3)), g.Placeholder(DType.Float32, Shape.Of(5, 5, 3, 6))))!;
        Assert.That(e.Message, Does.Contain("[1,4,4,3]").And.Contain("[5,5,3,6]"));
        e = Assert.Throws<GraphBuildException>(() => g.Conv2D(x, g.Placeholder(DType.Float32, Shape.Of(3, 3, 3, 6)), padding: "FULL"))!;
        Assert.That(e.Message, Does.Contain("FULL"));
        e = Assert.Throws<GraphBuildException>(() => g.MaxPool(g.Placeholder(DType.Float32, Shape.Of(2, 3)), [2, 2]))!;
        Assert.That(e.Message, Does.Contain("[2,3]"));
        e = Assert.Throws<GraphBuildException>(() => g.BiasAdd(x, g.Placeholder(DType.Float32, Shape.Of(4))))!;
        Assert.That(e.Message, Does.Contain("[?,28,28,3]").And.Contain("[4]"));

        // Run-time: the static shape is unknown, the fed one does not fit.
        var xu = g.Placeholder(DType.Float32, Shape.UnknownOfRank(4));
        var y = g.Conv2D(xu, g.Placeholder(DType.Float32, Shape.Of(3, 3, 2, 1)));
        using var s = new Session(g);
        var fFeed = NDArray.From(new float[18], 3, 3, 2, 1);
        var re = Assert.Throws<SessionRunException>(() => s.Run(y, (xu, NDArray.From(new float[2 * 5 * 5 * 3], 2, 5, 5, 3)), (y.Op.Inputs[1], fFeed)))!;
        Assert.That(re.Message, Does.Contain("[2,5,5,3]").And.Contain("[3,3,2,1]"));
    }

    [Test]
    public void Conv2D_GradientOps_ShowInTheGraph()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(2, 8, 8, 3));
        var f = g.Placeholder(DType.Float32, Shape.Of(3, 3, 3, 4));
        var y = g.Conv2D(x, f, [1, 1], "SAME");
        var grads = g.Gradients([g.Sum(y)], [x, f]);
        Assert.That(grads[0]!.Op.Type, Is.EqualTo("Conv2DBackpropInput"));
        Assert.That(grads[1]!.Op.Type, Is.EqualTo("Conv2DBackpropFilter"));
        Assert.That(grads[0]!.Shape, Is.EqualTo(Shape.Of(2, 8, 8, 3)));
        Assert.That(grads[1]!.Shape, Is.EqualTo(Shape.Of(3, 3, 3, 4)));
    }
}
