using GraphDl.Tests.Ops;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Dense and DropoutLayer: TF1 naming, sharing through reuse, regularization, and dropout statistics.</summary>
public class LayerTests
{
    static readonly float[,] X = { { 1, 2, 3 }, { -1, 0.5f, 2 } };

    [Test]
    public void Dense_NamesShapesAndValue()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var y = g.Dense(x, 4);
        var y2 = g.Dense(y, 2, activation: h => g.Tanh(h));
        var named = g.Dense(x, 5, useBias: false, name: "fc");
        Assert.That(g.GlobalVariables.Select(v => v.Name),
            Is.EqualTo(new[] { "dense/kernel", "dense/bias", "dense_1/kernel", "dense_1/bias", "fc/kernel" }));
        Assert.That(g.TrainableVariables.Count, Is.EqualTo(5));
        Assert.That(g.FindVariable("dense/kernel")!.Shape, Is.EqualTo(Shape.Of(3, 4)));
        Assert.That(g.FindVariable("dense/bias")!.Shape, Is.EqualTo(Shape.Of(4)));
        Assert.That(g.FindVariable("dense_1/kernel")!.Shape, Is.EqualTo(Shape.Of(4, 2)));
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(-1, 4)));
        Assert.That(y2.Shape, Is.EqualTo(Shape.Of(-1, 2)));
        Assert.That(named.Shape, Is.EqualTo(Shape.Of(-1, 5)));
        Assert.That(y.Op.Name, Does.StartWith("dense/"));
        Assert.That(y2.Op.Name, Does.StartWith("dense_1/"));
        Assert.That(g.Operations.Any(o => o.Name == "dense/MatMul"));

        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var k = g.FindVariable("dense/kernel")!.Eval(s).ToFloatArray();
        double limit = Math.Sqrt(6.0 / (3 + 4));
        Assert.That(k.All(v => Math.Abs(v) <= limit) && k.Distinct().Count() == 12, "Glorot-uniform kernel");
        Assert.That(g.FindVariable("dense/bias")!.Eval(s).ToFloatArray(), Is.All.EqualTo(0f));
        g.FindVariable("dense/bias")!.Load(NDArray.From(new float[] { 1, 2, 3, 4 }), s);
        var r = s.Run([y, y2], (x, (NDArray)X));
        var expected = new double[8];
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 4; j++)
            {
                double acc = j + 1;
                for (int c = 0; c < 3; c++) acc += X[i, c] * k[c * 4 + j];
                expected[i * 4 + j] = acc;
            }
        NumericAssert.AllClose(r[0].ToDoubleArray(), expected, 1e-5, 1e-5, "dense");
        Assert.That(r[1].ToFloatArray().All(v => Math.Abs(v) < 1), "tanh activation");
    }

    [Test]
    public void Dense_ReuseSharesVariables()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(-1, 3), "x");
        Tensor a, b, c;
        using (g.VariableScope("model")) a = g.Dense(g.Dense(x, 4, h => g.Tanh(h)), 1);
        int count = g.GlobalVariables.Count;
        using (g.VariableScope("model", reuse: Reuse.Yes)) b = g.Dense(g.Dense(x, 4, h => g.Tanh(h)), 1);
        using (g.VariableScope("model", reuse: Reuse.Auto)) c = g.Dense(g.Dense(x, 4, h => g.Tanh(h)), 1);
        Assert.That(g.GlobalVariables.Count, Is.EqualTo(count));
        Assert.That(g.GlobalVariables.Select(v => v.Name),
            Is.EqualTo(new[] { "model/dense/kernel", "model/dense/bias", "model/dense_1/kernel", "model/dense_1/bias" }));
        Assert.That(g.FindVariable("model/dense/kernel")!.DType, Is.EqualTo(DType.Float64));
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var r = s.Run([a, b, c], (x, NDArray.From(new double[] { 1, 2, 3, 4, 5, 6 }, 2, 3)));
        Assert.That(r[1].ToDoubleArray(), Is.EqualTo(r[0].ToDoubleArray()));
        Assert.That(r[2].ToDoubleArray(), Is.EqualTo(r[0].ToDoubleArray()));

        // Without reuse the same explicit name is an error, as in TF1.
        g.Dense(x, 2, name: "head");
        var e = Assert.Throws<GraphBuildException>(() => g.Dense(x, 2, name: "head"));
        Assert.That(e!.Message, Does.Contain("head/kernel already exists"));
    }

    [Test]
    public void Dense_DefaultNames_IgnoreNameScopes_RestartOnVariableScopeReentry()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        using (g.NameScope("tower")) g.Dense(x, 2);
        using (g.NameScope("tower")) g.Dense(x, 2);
        using (g.VariableScope("m"))
        using (g.NameScope("inner"))
        {
            g.Dense(x, 2);
            g.Dense(x, 2);
        }
        using (g.VariableScope("m", reuse: Reuse.Yes))
        using (g.NameScope("other"))
            g.Dense(x, 2);
        Assert.That(g.GlobalVariables.Select(v => v.Name).Where(n => n.EndsWith("/kernel")),
            Is.EqualTo(new[] { "dense/kernel", "dense_1/kernel", "m/dense/kernel", "m/dense_1/kernel" }));
    }

    [Test]
    public void Dense_Rank3Input_AppliesToLastAxis()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2, 3));
        var y = g.Dense(x, 4, kernelInitializer: Initializers.Ones(), biasInitializer: Initializers.Constant(0.5));
        Assert.That(y.Shape, Is.EqualTo(Shape.Of(-1, 2, 4)));
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var r = s.Run(y, (x, NDArray.From(new float[] { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12 }, 2, 2, 3)));
        Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { 2, 2, 4 }));
        Assert.That(r.ToFloatArray(), Is.EqualTo(new[] { 6.5f, 15.5f, 24.5f, 33.5f }.SelectMany(v => Enumerable.Repeat(v, 4)).ToArray()));
        Assert.Throws<GraphBuildException>(() => g.Dense(g.Placeholder(DType.Float32, Shape.Of(-1, -1)), 3));
    }

    [Test]
    public void Dense_KernelRegularizer_CollectedOnce()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        Assert.That(Losses.RegularizationLoss(g).Op.Type, Is.EqualTo("Const"));
        using (g.VariableScope("m")) g.Dense(x, 2, kernelRegularizer: Regularizers.L2(0.1));
        using (g.VariableScope("m", reuse: Reuse.Yes)) g.Dense(x, 2, kernelRegularizer: Regularizers.L2(0.1));
        g.Dense(x, 2, kernelRegularizer: Regularizers.L1(0.01));
        g.Dense(x, 2, kernelRegularizer: Regularizers.L1L2(0.01, 0.1));
        Assert.That(g.GetCollection<Tensor>(GraphKeys.RegularizationLosses).Count, Is.EqualTo(3));
        var total = Losses.RegularizationLoss(g);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var k1 = g.FindVariable("m/dense/kernel")!.Eval(s).ToDoubleArray();
        var k2 = g.FindVariable("dense/kernel")!.Eval(s).ToDoubleArray();
        var k3 = g.FindVariable("dense_1/kernel")!.Eval(s).ToDoubleArray();
        double expected = 0.1 * k1.Sum(v => v * v) / 2 + 0.01 * k2.Sum(Math.Abs) + 0.01 * k3.Sum(Math.Abs) + 0.1 * k3.Sum(v => v * v) / 2;
        Assert.That(s.Run(total).Item<float>(), Is.EqualTo(expected).Within(1e-6));
        Assert.Throws<ArgumentOutOfRangeException>(() => Regularizers.L2(-1));
    }

    [Test]
    public void Dropout_TrainingFalse_IsIdentity()
    {
        var g = new Graph();
        var training = g.PlaceholderWithDefault(g.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 50));
        var y = g.DropoutLayer(x, 0.5, training);
        Assert.That(y.Op.Name, Does.StartWith("dropout/"));
        var data = NDArray.From(Enumerable.Range(0, 500).Select(i => (float)Math.Sin(i) * 3).ToArray(), 10, 50);
        using var s = new Session(g);
        Assert.That(s.Run(y, (x, data)).ToFloatArray(), Is.EqualTo(data.ToFloatArray()));
        // A constant false folds to an identity at build time.
        var z = g.DropoutLayer(x, 0.5, g.Const(NDArray.Scalar(false)));
        Assert.That(z.Op.Type, Is.EqualTo("Identity"));
    }

    [Test]
    public void Dropout_TrainingTrue_ZeroesRateAndScales()
    {
        foreach (var dt in new[] { DType.Float32, DType.Float64 })
        {
            var g = new Graph();
            var training = g.PlaceholderWithDefault(g.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
            var x = g.Placeholder(dt, Shape.Of(-1, 100));
            var y = g.DropoutLayer(x, 0.3, training, seed: 7);
            var dx = g.Gradient(g.Sum(y), x)!;
            var data = NDArray.From(Enumerable.Range(0, 10000).Select(i => 1.0 + i % 7).ToArray(), 100, 100);
            if (dt == DType.Float32) data = NDArray.From(data.ToFloatArray(), 100, 100);
            using var s = new Session(g);
            var r = s.Run([y, dx], (x, data), (training, NDArray.Scalar(true)));
            var yv = r[0].ToDoubleArray();
            var xv = data.ToDoubleArray();
            var gv = r[1].ToDoubleArray();
            int zeros = yv.Count(v => v == 0);
            Assert.That(zeros / 10000.0, Is.EqualTo(0.3).Within(0.02), $"{dt}: dropped fraction");
            for (int i = 0; i < yv.Length; i++)
            {
                if (yv[i] == 0) { Assert.That(gv[i], Is.EqualTo(0)); continue; }
                Assert.That(yv[i], Is.EqualTo(xv[i] / 0.7).Within(1e-5 * xv[i]), $"{dt}: kept element scaled");
                Assert.That(gv[i], Is.EqualTo(1 / 0.7).Within(1e-5), $"{dt}: gradient of a kept element");
            }
            var again = s.Run(y, (x, data), (training, NDArray.Scalar(true))).ToDoubleArray();
            Assert.That(again, Is.Not.EqualTo(yv), "a new mask each run");
            using var s2 = new Session(g);
            Assert.That(s2.Run(y, (x, data), (training, NDArray.Scalar(true))).ToDoubleArray(), Is.EqualTo(yv), "seeded: reproducible");
        }
    }

    [Test]
    public void Dropout_RejectsBadArguments()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        var t = g.Const(NDArray.Scalar(true));
        Assert.Throws<ArgumentOutOfRangeException>(() => g.DropoutLayer(x, 1.0, t));
        Assert.Throws<GraphBuildException>(() => g.DropoutLayer(x, 0.5, g.Scalar(1, DType.Float32)));
    }
}
