using NUnit.Framework;

namespace GraphDl.Tests.Autodiff;

public class GradientsTests
{
    [Test]
    public void FanOut_IsSummed()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Scalar, "x");
        var y = x * 3.0 + g.Square(x) + g.Exp(x);   // x used three times
        var dx = g.Gradient(y, x)!;
        using var s = new Session(g);
        Assert.That(s.Run(dx, (x, 0.5)).Item<double>(), Is.EqualTo(3 + 2 * 0.5 + Math.Exp(0.5)).Within(1e-12));
        Assert.That(dx.Op.Type, Is.EqualTo("AddN"));
    }

    [Test]
    public void Unconnected_GivesNull_OrZerosOnRequest()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(2), "x");
        var z = g.Placeholder(DType.Float32, Shape.Of(3), "z");
        var y = g.Sum(x * 2.0);
        Assert.That(g.Gradients([y], [z])[0], Is.Null);
        var zeros = g.Gradients([y], [z], unconnectedZeros: true)[0]!;
        using var s = new Session(g);
        Assert.That(s.Run(zeros, (z, new float[] { 1, 2, 3 })).ToArray<float>(), Is.EqualTo(new float[3]));
    }

    [Test]
    public void StopGradient_IsHonoured()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Scalar, "x");
        var y = g.StopGradient(x * x) * x;   // d/dx = x² (the stopped factor is a constant)
        var dx = g.Gradient(y, x)!;
        using var s = new Session(g);
        Assert.That(s.Run(dx, (x, 3.0)).Item<double>(), Is.EqualTo(9.0).Within(1e-12));
        Assert.That(g.Gradient(g.StopGradient(x * 2.0), x), Is.Null);
    }

    [Test]
    public void BroadcastGradients_AreReducedToTheInputShape()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var b = g.Placeholder(DType.Float32, Shape.Of(3), "b");
        var c = g.Placeholder(DType.Float32, Shape.Scalar, "c");
        var y = g.Sum((x + b) * c);
        var grads = g.Gradients([y], [b, c]);
        using var s = new Session(g);
        var r = s.Run([grads[0]!, grads[1]!], (x, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }), (b, new float[] { 1, 1, 1 }), (c, 2f));
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new float[] { 4, 4, 4 }));
        Assert.That(r[0].Dims.ToArray(), Is.EqualTo(new[] { 3 }));
        Assert.That(r[1].Item<float>(), Is.EqualTo(27f));
    }

    [Test]
    public void GradYs_WeightTheOutputs()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(2), "x");
        var y = x * x;
        var dx = g.Gradients([y], [x], [g.Const(NDArray.From(new double[] { 1, 10 }))])[0]!;
        using var s = new Session(g);
        Assert.That(s.Run(dx, (x, new double[] { 1, 2 })).ToArray<double>(), Is.EqualTo(new double[] { 2, 40 }));
    }

    [Test]
    public void HessianVectorProduct_MatchesFiniteDifferences()
    {
        // f(x) = sum(tanh(W x)²) ; Hv = d/dx (∇f · v)
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(3, 1), "x");
        var v = g.Placeholder(DType.Float64, Shape.Of(3, 1), "v");
        var w = g.Const(NDArray.From(new double[] { 0.3, -0.2, 0.5, 0.1, 0.4, -0.6, -0.3, 0.2, 0.1, 0.7, -0.5, 0.2 }, 4, 3));
        var f = g.Sum(g.Square(g.Tanh(g.MatMul(w, x))));
        var grad = g.Gradient(f, x)!;
        var hv = g.Gradient(g.Sum(grad * v), x)!;
        using var s = new Session(g);
        double[] x0 = [0.2, -0.4, 0.7], v0 = [1, -2, 0.5];
        var analytic = s.Run(hv, (x, NDArray.From(x0, 3, 1)), (v, NDArray.From(v0, 3, 1))).ToArray<double>();
        const double h = 1e-5;
        double[] Grad(double sign) =>
            s.Run(grad, (x, NDArray.From(x0.Zip(v0, (a, b) => a + sign * h * b).ToArray(), 3, 1))).ToArray<double>();
        var plus = Grad(1); var minus = Grad(-1);
        for (int i = 0; i < 3; i++)
            Assert.That(analytic[i], Is.EqualTo((plus[i] - minus[i]) / (2 * h)).Within(1e-7 + 1e-6 * Math.Abs(analytic[i])));
    }

    [Test]
    public void GradientNodes_LiveUnderTheGradientsScope()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        Tensor y;
        using (g.NameScope("dense")) y = g.Sum(g.Tanh(x));
        var dx = g.Gradient(y, x)!;
        Assert.That(dx.Op.Name, Does.StartWith("gradients/dense/Tanh_grad/"));
        var dx2 = g.Gradient(y, x)!;
        Assert.That(dx2.Op.Name, Does.StartWith("gradients_1/"));
    }
}

public class BroadcastReductionTests
{
    [Test]
    public void PartiallyKnownShapes_ReduceOnlyWhereTheOpMayHaveBroadcast()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "x");
        var b = g.Placeholder(DType.Float32, Shape.Of(1), "b");
        var u = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "u");
        var y1 = g.Sum(x + b);
        var gx = g.Gradient(y1, x)!;
        Assert.That(gx.Op.Type, Is.Not.EqualTo("SumToShape"), "x [?,1] + b [1] cannot broadcast x");
        var gb = g.Gradient(y1, b)!;
        Assert.That(gb.Op.Type, Is.EqualTo("SumToShape"));
        var y2 = g.Sum(x * u);   // [?,1] * [?,3]: x is broadcast along dim 1
        var gx2 = g.Gradient(y2, x)!;
        Assert.That(gx2.Op.Type, Is.EqualTo("SumToShape"));
        using var s = new Session(g);
        var r = s.Run([gx, gb, gx2], (x, new float[,] { { 1 }, { 2 } }), (b, new float[] { 5 }), (u, new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }));
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new float[] { 1, 1 }));
        Assert.That(r[1].ToArray<float>(), Is.EqualTo(new float[] { 2 }));
        Assert.That(r[2].ToArray<float>(), Is.EqualTo(new float[] { 6, 15 }));
        Assert.That(r[2].Dims.ToArray(), Is.EqualTo(new[] { 2, 1 }));
    }
}
