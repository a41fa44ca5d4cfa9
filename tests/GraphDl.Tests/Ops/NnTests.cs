using NUnit.Framework;

namespace GraphDl.Tests.Ops;

public class NnTests
{
    static double[] Eval(Session s, Tensor t, params (Tensor, NDArray)[] feeds) => s.Run(t, feeds).ToDoubleArray();

    // ---- softmax -----------------------------------------------------------------------------------------

    [Test]
    public void Softmax_RowsSumToOne_AndStayFiniteForLogitsOf1000()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        var sm = g.Softmax(x);
        var lsm = g.LogSoftmax(x);
        using var s = new Session(g);
        var logits = new float[,] { { 1000, 1000, 999 }, { -1000, 0, 1000 }, { 1, 2, 3 }, { -1000, -1000, -1000 } };
        var p = s.Run(sm, (x, logits)).ToDoubleArray();
        var lp = s.Run(lsm, (x, logits)).ToDoubleArray();
        var refP = OpCases.RefSoftmax([1000, 1000, 999, -1000, 0, 1000, 1, 2, 3, -1000, -1000, -1000], 4, 3, 1, log: false);
        var refL = OpCases.RefSoftmax([1000, 1000, 999, -1000, 0, 1000, 1, 2, 3, -1000, -1000, -1000], 4, 3, 1, log: true);
        for (int r = 0; r < 4; r++)
            Assert.That(p[(r * 3)..(r * 3 + 3)].Sum(), Is.EqualTo(1).Within(1e-6), $"row {r}");
        Assert.That(p.Concat(lp).All(double.IsFinite), Is.True, "softmax and log-softmax of large logits must be finite");
        NumericAssert.AllClose(p, refP, 1e-7, 1e-6, "softmax");
        NumericAssert.AllClose(lp, refL, 1e-5, 1e-6, "log-softmax");
        Assert.That(lp[3], Is.EqualTo(-2000).Within(1e-3), "log-softmax keeps tiny probabilities in log space");
    }

    // ---- cross-entropy -------------------------------------------------------------------------------------

    [Test]
    public void SoftmaxCrossEntropy_Float32_EqualsDoubleReference_IncludingLargeLogits()
    {
        double[] logits = [1000, -1000, 3, 0.5, -2, 7, 0, 0, 0];
        double[] labels = [0.2, 0.5, 0.3, 0, 1, 0, 0.25, 0.25, 0.5];
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(3, 3));
        var z = g.Placeholder(DType.Float32, Shape.Of(3, 3));
        var loss = g.SoftmaxCrossEntropyWithLogits(z, x);
        var dx = g.Gradient(g.Sum(loss), x)!;
        var dz = g.Gradient(g.Sum(loss), z)!;
        using var s = new Session(g);
        var feeds = new (Tensor, NDArray)[] { (x, NDArray.From(logits.Select(v => (float)v).ToArray(), 3, 3)), (z, NDArray.From(labels.Select(v => (float)v).ToArray(), 3, 3)) };
        var r = s.Run([loss, dx, dz], feeds);
        Assert.That(loss.Shape, Is.EqualTo(Shape.Of(3)));
        NumericAssert.AllClose(r[0].ToDoubleArray(), OpCases.RefCrossEntropy(logits, labels, 3, 3), 1e-4, 1e-6, "loss");
        var p = OpCases.RefSoftmax(logits, 3, 3, 1, log: false);
        NumericAssert.AllClose(r[1].ToDoubleArray(), p.Zip(labels, (a, b) => a - b).ToArray(), 1e-6, 1e-5, "d/dlogits = softmax - labels");
        NumericAssert.AllClose(r[2].ToDoubleArray(), OpCases.RefSoftmax(logits, 3, 3, 1, log: true).Select(v => -v).ToArray(), 1e-4, 1e-6, "d/dlabels = -log_softmax");
    }

    [Test]
    public void SparseSoftmaxCrossEntropy_MatchesDenseWithOneHotLabels()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4));
        var y = g.Placeholder(DType.Int64, Shape.Of(-1));
        var sparse = g.SparseSoftmaxCrossEntropyWithLogits(y, x);
        var dense = g.SoftmaxCrossEntropyWithLogits(g.Const(NDArray.From(new float[] { 0, 0, 1, 0, 1, 0, 0, 0 }, 2, 4)), x);
        using var s = new Session(g);
        var feeds = new (Tensor, NDArray)[] { (x, new float[,] { { 1, 2, 3, 4 }, { 500, -3, 0, 2 } }), (y, new long[] { 2, 0 }) };
        var r = s.Run([sparse, dense, sparse.Op.Outputs[1], dense.Op.Outputs[1]], feeds);
        NumericAssert.AllClose(r[0].ToDoubleArray(), r[1].ToDoubleArray(), 1e-6, 1e-6, "loss");
        NumericAssert.AllClose(r[2].ToDoubleArray(), r[3].ToDoubleArray(), 1e-7, 1e-6, "backprop");
    }

    [TestCase(5)]
    [TestCase(-1)]
    public void SparseSoftmaxCrossEntropy_LabelOutOfRange_NamesTheLabelAndClassCount(int bad)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        var y = g.Placeholder(DType.Int32, Shape.Of(-1));
        var loss = g.SparseSoftmaxCrossEntropyWithLogits(y, x);
        using var s = new Session(g);
        var e = Assert.Throws<SessionRunException>(() => s.Run(loss, (x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }), (y, new[] { 0, bad })));
        Assert.That(e!.Message, Does.Contain($"label value of {bad} "));
        Assert.That(e.Message, Does.Contain("[0, 3)"));
        Assert.That(e.Message, Does.Contain("SparseSoftmaxCrossEntropyWithLogits"));
    }

    [Test]
    public void CrossEntropy_ShapeMismatch_NamesBothShapes()
    {
        var g = new Graph();
        var e = Assert.Throws<GraphBuildException>(() => g.SoftmaxCrossEntropyWithLogits(g.Placeholder(DType.Float32, Shape.Of(2, 4)), g.Placeholder(DType.Float32, Shape.Of(2, 3))));
        Assert.That(e!.Message, Does.Contain("[2,3]").And.Contain("[2,4]").And.Contain("NnTests.cs:"));
        e = Assert.Throws<GraphBuildException>(() => g.SparseSoftmaxCrossEntropyWithLogits(g.Placeholder(DType.Int32, Shape.Of(3)), g.Placeholder(DType.Float32, Shape.Of(2, 3))));
        Assert.That(e!.Message, Does.Contain("[2,3]").And.Contain("[3]"));
        e = Assert.Throws<GraphBuildException>(() => g.SparseSoftmaxCrossEntropyWithLogits(g.Placeholder(DType.Float32, Shape.Of(2)), g.Placeholder(DType.Float32, Shape.Of(2, 3))));
        Assert.That(e!.Message, Does.Contain("int32 or int64"));
    }

    [Test]
    public void SoftmaxCrossEntropy_HessianVectorProduct_MatchesAnalytic()
    {
        // H = diag(p) - p pᵀ for one row; the gradient of (dL/dx · v) is H v.
        double[] logits = [0.3, -1.2, 2.0], v = [1, -2, 0.5];
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(1, 3));
        var loss = g.SoftmaxCrossEntropyWithLogits(g.Const(NDArray.From(new double[] { 0, 1, 0 }, 1, 3)), x);
        var dx = g.Gradient(g.Sum(loss), x)!;
        var hv = g.Gradient(g.Sum(dx * g.Const(NDArray.From(v, 1, 3))), x)!;
        using var s = new Session(g);
        var r = s.Run(hv, (x, NDArray.From(logits, 1, 3))).ToDoubleArray();
        var p = OpCases.RefSoftmax(logits, 1, 3, 1, log: false);
        double pv = p.Zip(v, (a, b) => a * b).Sum();
        NumericAssert.AllClose(r, p.Select((pi, i) => pi * v[i] - pi * pv).ToArray(), 1e-12, 1e-10, "H·v");
    }

    [Test]
    public void SigmoidCrossEntropy_StableForLargeLogits()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(5));
        var z = g.Placeholder(DType.Float32, Shape.Of(5));
        var loss = g.SigmoidCrossEntropyWithLogits(z, x);
        var dx = g.Gradient(g.Sum(loss), x)!;
        using var s = new Session(g);
        var r = s.Run([loss, dx], (x, new float[] { 1000, -1000, 0, 50, -50 }), (z, new float[] { 0, 1, 0.5f, 1, 0 }));
        NumericAssert.AllClose(r[0].ToDoubleArray(), [1000, 1000, Math.Log(2), Math.Exp(-50), Math.Exp(-50)], 1e-30, 1e-6, "loss");
        // NOTE: 1 - 1 - e^-50 loses e^-50 in float32 when the gradient terms are added, as in TF; an absolute tolerance.
        NumericAssert.AllClose(r[1].ToDoubleArray(), [1, -1, 0, -Math.Exp(-50), Math.Exp(-50)], 1e-7, 1e-5, "sigmoid(x) - z");
    }

    [Test]
    public void Losses_L2LossAndMeanSquaredError_Values_AndLossesCollection()
    {
        var g = new Graph();
        var p = g.Const(NDArray.From(new double[] { 1, 2, 3, 4 }, 2, 2));
        var l = g.Const(NDArray.From(new double[] { 0, 2, 5, 4 }, 2, 2));
        var mse = g.MeanSquaredError(l, p);
        var l2 = g.L2Loss(p);
        var sce = g.SoftmaxCrossEntropyLoss(g.Const(NDArray.From(new double[] { 1, 0, 0, 1 }, 2, 2)), p);
        using var s = new Session(g);
        Assert.That(s.Run(mse).Item<double>(), Is.EqualTo(5.0 / 4).Within(1e-15));
        Assert.That(s.Run(l2).Item<double>(), Is.EqualTo(15.0).Within(1e-15));
        Assert.That(s.Run(sce).Item<double>(), Is.EqualTo((Math.Log(1 + Math.E) + Math.Log(1 + Math.Exp(-1))) / 2).Within(1e-12));
        Assert.That(g.GetCollection<Tensor>(LossBuilders.LossesCollection), Is.EqualTo(new[] { mse, sce }));
    }

    // ---- activations -----------------------------------------------------------------------------------------

    [Test]
    public void Relu_PropagatesNaN_AndHasZeroDerivativeAtTheKink()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(4));
        var y = g.Relu(x);
        var dx = g.Gradient(g.Sum(y), x)!;
        using var s = new Session(g);
        var r = s.Run([y, dx], (x, new[] { float.NaN, 0f, -1f, 2f }));
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new[] { float.NaN, 0f, 0f, 2f }));
        Assert.That(r[1].ToArray<float>(), Is.EqualTo(new[] { 0f, 0f, 0f, 1f }));
    }

    [TestCase(DType.Float32)]
    [TestCase(DType.Float64)]
    public void Softplus_AccurateForLargeMagnitudes(DType dtype)
    {
        double[] xs = [-100, -30, -1e-3, 0, 30, 100, 1e4];
        var g = new Graph();
        var x = g.Placeholder(dtype, Shape.Of(xs.Length));
        var y = g.Softplus(x);
        using var s = new Session(g);
        var feed = dtype == DType.Float32 ? NDArray.From(xs.Select(v => (float)v).ToArray()) : NDArray.From(xs);
        var r = s.Run(y, (x, feed)).ToDoubleArray();
        // softplus(x) = max(x, 0) + log1p(e^-|x|), with log1p(u) ≈ u - u²/2 for tiny u.
        double e30 = Math.Exp(-30);
        double[] expected = [Math.Exp(-100), e30 - e30 * e30 / 2, Math.Log(1 + Math.Exp(-1e-3)), Math.Log(2), 30 + e30, 100, 1e4];
        // float32: e^-100 is below the normal range, hence the absolute tolerance.
        NumericAssert.AllClose(r, expected, dtype == DType.Float32 ? 1e-38 : 0, dtype == DType.Float32 ? 1e-6 : 1e-14, dtype.Name());
    }

    [Test]
    public void Selu_UsesTensorFlowConstants()
    {
        var g = new Graph();
        var y = g.Selu(g.Const(NDArray.From(new double[] { -1, 2 })));
        using var s = new Session(g);
        Assert.That(s.Run(y).ToArray<double>(), Is.EqualTo(new[] { 1.0507009873554805 * 1.6732632423543772 * (Math.Exp(-1) - 1), 2 * 1.0507009873554805 }).Within(1e-15));
    }

    // ---- pow ----------------------------------------------------------------------------------------------------

    [Test]
    public void Pow_ExponentGradient_IsZeroWhereTheBaseIsNotPositive()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(3));
        var y = g.Placeholder(DType.Float64, Shape.Of(3));
        var z = g.Pow(x, y);
        var grads = g.Gradients([g.Sum(z)], [x, y]);
        var d2 = g.Gradient(g.Sum(grads[1]!), y)!;
        using var s = new Session(g);
        var r = s.Run([z, grads[0]!, grads[1]!, d2], (x, new double[] { -2, 0, 3 }), (y, new double[] { 2, 2, 2 }));
        Assert.That(r[0].ToArray<double>(), Is.EqualTo(new double[] { 4, 0, 9 }));
        Assert.That(r[1].ToArray<double>(), Is.EqualTo(new double[] { -4, 0, 6 }).Within(1e-12));
        Assert.That(r[2].ToArray<double>(), Is.EqualTo(new[] { 0, 0, 9 * Math.Log(3) }).Within(1e-12));
        Assert.That(r[3].ToArray<double>(), Is.EqualTo(new[] { 0, 0, 9 * Math.Log(3) * Math.Log(3) }).Within(1e-12));
    }

    [Test]
    public void Pow_Integers_AndNegativeIntegerExponentIsAnError()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Int32, Shape.Of(-1));
        var y = g.Placeholder(DType.Int32, Shape.Of(-1));
        var z = g.Pow(x, y);
        var l = g.Pow(g.Const(NDArray.From(new long[] { 3, -2 })), g.Const(NDArray.From(new long[] { 39, 63 })));
        using var s = new Session(g);
        Assert.That(s.Run(z, (x, new[] { 2, 3, -2, 0 }), (y, new[] { 10, 0, 3, 0 })).ToArray<int>(), Is.EqualTo(new[] { 1024, 1, -8, 1 }));
        Assert.That(s.Run(l).ToArray<long>(), Is.EqualTo(new[] { 4052555153018976267L, long.MinValue }));
        var e = Assert.Throws<SessionRunException>(() => s.Run(z, (x, new[] { 2 }), (y, new[] { -1 })));
        Assert.That(e!.Message, Does.Contain("negative integer powers"));
    }

    // ---- dropout --------------------------------------------------------------------------------------------------

    static (Graph g, Tensor x, Tensor y) DropoutGraph(int n, double rate, int? seed, int? graphSeed = 1)
    {
        var g = new Graph { Seed = graphSeed };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, n));
        return (g, x, g.Dropout(x, rate, seed));
    }

    static NDArray Ones(int rows, int n) => NDArray.From(Enumerable.Repeat(1f, rows * n).ToArray(), rows, n);

    [Test]
    public void Dropout_KeepsAboutOneMinusRate_AndScalesKeptValues()
    {
        const int rows = 100, n = 100;
        const double rate = 0.3;
        var (g, x, y) = DropoutGraph(n, rate, seed: 7);
        using var s = new Session(g);
        var r = s.Run(y, (x, Ones(rows, n))).ToArray<float>();
        int kept = r.Count(v => v != 0);
        // Binomial(10000, 0.7): mean 7000, sd ≈ 45.8; 5 sd is a bound a correct draw essentially never crosses.
        Assert.That(kept, Is.InRange(7000 - 230, 7000 + 230));
        Assert.That(r.Where(v => v != 0).Distinct().ToArray(), Is.EqualTo(new[] { (float)(1 / (1 - rate)) }));
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(-1, n)));
    }

    [Test]
    public void Dropout_SameSeed_SameMask_OtherSeed_OtherMask()
    {
        NDArray First(int? seed, int? graphSeed)
        {
            var (g, x, y) = DropoutGraph(64, 0.5, seed, graphSeed);
            using var s = new Session(g);
            return s.Run(y, (x, Ones(4, 64)));
        }
        Assert.That(First(3, 1).ToArray<float>(), Is.EqualTo(First(3, 1).ToArray<float>()));
        Assert.That(First(null, 5).ToArray<float>(), Is.EqualTo(First(null, 5).ToArray<float>()), "graph seed alone fixes the op seed from its name");
        Assert.That(First(4, 1).ToArray<float>(), Is.Not.EqualTo(First(3, 1).ToArray<float>()));
    }

    [Test]
    public void Dropout_DrawsANewMaskEveryRun()
    {
        var (g, x, y) = DropoutGraph(64, 0.5, seed: 3);
        using var s = new Session(g);
        var a = s.Run(y, (x, Ones(4, 64))).ToArray<float>();
        var b = s.Run(y, (x, Ones(4, 64))).ToArray<float>();
        Assert.That(b, Is.Not.EqualTo(a));
    }

    [Test]
    public void Dropout_MaskDoesNotDependOnTheThreadCount()
    {
        var (g, x, y) = DropoutGraph(1000, 0.4, seed: 11);
        float[][] Runs(int threads)
        {
            using var s = new Session(g, new SessionOptions { IntraOpThreads = threads });
            return [s.Run(y, (x, Ones(20, 1000))).ToArray<float>(), s.Run(y, (x, Ones(20, 1000))).ToArray<float>()];
        }
        var one = Runs(1);
        var three = Runs(3);
        Assert.That(three[0], Is.EqualTo(one[0]));
        Assert.That(three[1], Is.EqualTo(one[1]));
    }

    [Test]
    public void Dropout_GradientIsTheForwardPassMask()
    {
        var (g, x, y) = DropoutGraph(50, 0.5, seed: 2);
        var dx = g.Gradient(g.Sum(y), x)!;
        using var s = new Session(g);
        var twos = NDArray.From(Enumerable.Repeat(2f, 200).ToArray(), 4, 50);
        var r = s.Run([y, dx], (x, twos));
        var yv = r[0].ToArray<float>();
        Assert.That(r[1].ToArray<float>(), Is.EqualTo(yv.Select(v => v / 2).ToArray()));
        Assert.That(yv.Distinct().OrderBy(v => v).ToArray(), Is.EqualTo(new[] { 0f, 4f }));
    }

    [Test]
    public void Dropout_NoiseShape_SharesTheDrawAlongOneDims()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(8, 40));
        var y = g.Dropout(x, 0.5, seed: 9, noiseShape: [1, -1]);
        using var s = new Session(g);
        var r = s.Run(y, (x, Ones(8, 40))).ToArray<float>();
        for (int row = 1; row < 8; row++)
            Assert.That(r[(row * 40)..(row * 40 + 40)], Is.EqualTo(r[..40]), $"row {row}");
        Assert.That(r[..40].Distinct().Count(), Is.EqualTo(2));
        Assert.Throws<GraphBuildException>(() => g.Dropout(x, 0.5, noiseShape: [8, 3]));
    }

    [Test]
    public void Dropout_RateZero_ReturnsX_AndBadRatesAreErrors()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(3));
        Assert.That(g.Dropout(x, 0), Is.SameAs(x));
        foreach (var bad in new[] { 1.0, -0.1, 1.5, double.NaN })
        {
            var e = Assert.Throws<GraphBuildException>(() => g.Dropout(x, bad));
            Assert.That(e!.Message, Does.Contain("[0, 1)").And.Contain("NnTests.cs:"));
        }
    }

    [Test]
    public void Dropout_RuntimeRate_ZeroKeepsEverything()
    {
        var g = new Graph { Seed = 4 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 100));
        var rate = g.PlaceholderWithDefault(g.Scalar(0, DType.Float32), Shape.Scalar, "rate");
        var y = g.Dropout(x, rate);
        using var s = new Session(g);
        Assert.That(s.Run(y, (x, Ones(10, 100))).ToArray<float>(), Is.All.EqualTo(1f));
        var half = s.Run(y, (x, Ones(10, 100)), (rate, NDArray.Scalar(0.5f))).ToArray<float>();
        Assert.That(half.Count(v => v == 0), Is.InRange(500 - 80, 500 + 80));
        Assert.That(half.Where(v => v != 0), Is.All.EqualTo(2f));
    }

    // ---- clipping ---------------------------------------------------------------------------------------------------

    [Test]
    public void ClipByGlobalNorm_MatchesHandComputation()
    {
        var g = new Graph();
        var a = g.Const(NDArray.From(new double[] { 3, 4 }));
        var b = g.Const(NDArray.From(new double[] { 12 }, 1, 1));
        // global norm = sqrt(9 + 16 + 144) = 13
        var (clipped, norm) = g.ClipByGlobalNorm([a, null!, b], 6.5);
        var (unclipped, _) = g.ClipByGlobalNorm([a, b], 20.0);
        using var s = new Session(g);
        Assert.That(s.Run(norm).Item<double>(), Is.EqualTo(13).Within(1e-14));
        Assert.That(clipped[1], Is.Null);
        Assert.That(s.Run(clipped[0]).ToArray<double>(), Is.EqualTo(new[] { 1.5, 2 }).Within(1e-14));
        Assert.That(s.Run(clipped[2]).ToArray<double>(), Is.EqualTo(new[] { 6.0 }).Within(1e-14));
        Assert.That(clipped[2].Shape, Is.EqualTo(Shape.Of(1, 1)));
        Assert.That(s.Run(unclipped[0]).ToArray<double>(), Is.EqualTo(new[] { 3.0, 4 }).Within(1e-14));
        Assert.That(s.Run(g.GlobalNorm([a, b])).Item<double>(), Is.EqualTo(13).Within(1e-14));
    }

    [Test]
    public void ClipByGlobalNorm_InfiniteNorm_GivesNaN_AsInTensorFlow()
    {
        var g = new Graph();
        var (clipped, norm) = g.ClipByGlobalNorm([g.Const(NDArray.From(new float[] { float.PositiveInfinity, 1 }))], 1.0);
        using var s = new Session(g);
        Assert.That(float.IsPositiveInfinity(s.Run(norm).Item<float>()));
        Assert.That(s.Run(clipped[0]).ToArray<float>(), Is.All.NaN);
    }

    [Test]
    public void ClipByNorm_MatchesHandComputation_AndZeroRowsStayZeroWithFiniteGradient()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(2, 2));
        var all = g.ClipByNorm(x, 1.0);
        var rows = g.ClipByNorm(x, 1.0, axes: [1]);
        var dx = g.Gradient(g.Sum(rows), x)!;
        using var s = new Session(g);
        var feed = (x, NDArray.From(new double[] { 3, 4, 0, 0 }, 2, 2));
        Assert.That(s.Run(all, feed).ToArray<double>(), Is.EqualTo(new[] { 0.6, 0.8, 0, 0 }).Within(1e-15));
        Assert.That(s.Run(rows, feed).ToArray<double>(), Is.EqualTo(new[] { 0.6, 0.8, 0, 0 }).Within(1e-15));
        var d = s.Run(dx, feed).ToArray<double>();
        Assert.That(d.All(double.IsFinite), Is.True);
        Assert.That(d[2..], Is.EqualTo(new[] { 1.0, 1.0 }));
    }

    [Test]
    public void ClipByValue_ScalarAndTensorBounds_AndGradientAtTheBoundsPasses()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(5));
        var y = g.ClipByValue(x, -1, 1);
        var dx = g.Gradient(g.Sum(y), x)!;
        var yi = g.ClipByValue(g.Const(NDArray.From(new[] { -5, 0, 5 })), g.Scalar(-2, DType.Int32), g.Const(NDArray.From(new[] { 3, -1, 4 })));
        using var s = new Session(g);
        var r = s.Run([y, dx], (x, new float[] { -3, -1, 0.5f, 1, 2 }));
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new float[] { -1, -1, 0.5f, 1, 1 }));
        Assert.That(r[1].ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 1, 1, 0 }));
        Assert.That(s.Run(yi).ToArray<int>(), Is.EqualTo(new[] { -2, -1, 4 }));
        Assert.Throws<GraphBuildException>(() => g.ClipByValue(x, g.Const(NDArray.From(new float[] { 0, 1 })), g.Scalar(1, DType.Float32)));
    }
}
