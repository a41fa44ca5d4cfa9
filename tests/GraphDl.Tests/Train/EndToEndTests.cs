using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Small models trained to convergence.</summary>
public class EndToEndTests
{
    [Test]
    public void LinearRegression_GradientDescent_FindsSlopeAndIntercept()
    {
        var rng = new Random(3);
        int n = 64;
        var xs = Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var ys = xs.Select(v => 3 * v + 2 + (float)((rng.NextDouble() - 0.5) * 0.01)).ToArray();
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        var y = g.Placeholder(DType.Float32, Shape.Of(-1), "y");
        var w = g.Variable(NDArray.Scalar(0f), "w");
        var b = g.Variable(NDArray.Scalar(0f), "b");
        var loss = g.Mean(g.Square(x * w.Value + b.Value - y));
        var step = TrainUtil.GetOrCreateGlobalStep(g);
        var train = new GradientDescentOptimizer(0.3).Minimize(loss, step);
        var init = g.GlobalVariablesInitializer();
        g.Finalize();
        using var s = new Session(g);
        s.Run(init);
        for (int i = 0; i < 300; i++) s.Run(train, (x, xs), (y, ys));
        Assert.That(w.Eval(s).Item<float>(), Is.EqualTo(3).Within(0.01));
        Assert.That(b.Eval(s).Item<float>(), Is.EqualTo(2).Within(0.01));
        Assert.That(s.Run(loss, (x, xs), (y, ys)).Item<float>(), Is.LessThan(1e-4));
        Assert.That(step.Eval(s).Item<long>(), Is.EqualTo(300));
    }

    [Test]
    public void Xor_TwoLayerNet_Adam()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        var y = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
        var h = g.Dense(x, 8, activation: t => g.Tanh(t));
        var p = g.Dense(h, 1, activation: t => g.Sigmoid(t));
        var loss = g.Mean(g.Square(p - y));
        var train = new AdamOptimizer(0.05).Minimize(loss);
        var init = g.GlobalVariablesInitializer();
        g.Finalize();
        var xs = new float[,] { { 0, 0 }, { 0, 1 }, { 1, 0 }, { 1, 1 } };
        var ys = new float[,] { { 0 }, { 1 }, { 1 }, { 0 } };
        using var s = new Session(g);
        s.Run(init);
        for (int i = 0; i < 500; i++) s.Run(train, (x, xs), (y, ys));
        var pred = s.Run(p, (x, xs)).ToFloatArray();
        Assert.That(pred[0], Is.LessThan(0.1), string.Join(", ", pred));
        Assert.That(pred[1], Is.GreaterThan(0.9), string.Join(", ", pred));
        Assert.That(pred[2], Is.GreaterThan(0.9), string.Join(", ", pred));
        Assert.That(pred[3], Is.LessThan(0.1), string.Join(", ", pred));
    }
}
