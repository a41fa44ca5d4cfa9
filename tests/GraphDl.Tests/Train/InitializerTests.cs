using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

public class InitializerTests
{
    static double[] Values(IInitializer init, Shape shape, DType dtype = DType.Float32)
    {
        var g = new Graph { Seed = 11 };
        var v = g.GetVariable("v", shape, dtype, init);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        return v.Eval(s).ToDoubleArray();
    }

    static (double mean, double std) Moments(double[] v)
    {
        double m = v.Average();
        return (m, Math.Sqrt(v.Select(x => (x - m) * (x - m)).Average()));
    }

    [Test]
    public void Constants()
    {
        Assert.That(Values(Initializers.Zeros(), Shape.Of(3)), Is.EqualTo(new double[3]));
        Assert.That(Values(Initializers.Ones(), Shape.Of(2, 2)), Has.All.EqualTo(1.0));
        Assert.That(Values(Initializers.Constant(0.25), Shape.Of(5), DType.Float64), Has.All.EqualTo(0.25));
    }

    [Test]
    public void GlorotUniform_StaysWithinItsLimit_AndFillsIt()
    {
        var v = Values(Initializers.GlorotUniform(), Shape.Of(200, 100));
        double limit = Math.Sqrt(6.0 / 300);
        Assert.That(v.Max(), Is.LessThanOrEqualTo(limit).And.GreaterThan(0.95 * limit));
        Assert.That(v.Min(), Is.GreaterThanOrEqualTo(-limit).And.LessThan(-0.95 * limit));
        Assert.That(Moments(v).std, Is.EqualTo(limit / Math.Sqrt(3)).Within(0.03 * limit));
    }

    [Test]
    public void HeNormal_HasStddevSqrt2OverFanIn_WithinTwoSigmaOfTheUntruncatedScale()
    {
        var v = Values(Initializers.HeNormal(), Shape.Of(400, 100));
        var (mean, std) = Moments(v);
        Assert.That(mean, Is.EqualTo(0).Within(0.01));
        Assert.That(std, Is.EqualTo(Math.Sqrt(2.0 / 400)).Within(0.03 * Math.Sqrt(2.0 / 400)));
        Assert.That(v.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(2 * Math.Sqrt(2.0 / 400) / 0.87962566103423978 + 1e-6));
    }

    [Test]
    public void GlorotNormal_HeUniform_RandomAndTruncated()
    {
        Assert.That(Moments(Values(Initializers.GlorotNormal(), Shape.Of(300, 300))).std, Is.EqualTo(Math.Sqrt(2.0 / 600)).Within(0.002));
        var hu = Values(Initializers.HeUniform(), Shape.Of(150, 80));
        Assert.That(hu.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(Math.Sqrt(6.0 / 150)));
        var ru = Values(Initializers.RandomUniform(-0.5, 0.5), Shape.Of(1000));
        Assert.That(ru.Min(), Is.GreaterThanOrEqualTo(-0.5));
        Assert.That(ru.Max(), Is.LessThan(0.5));
        Assert.That(Moments(Values(Initializers.RandomNormal(1, 0.2), Shape.Of(4000))).mean, Is.EqualTo(1).Within(0.02));
        Assert.That(Values(Initializers.TruncatedNormal(0, 0.1), Shape.Of(4000)).Select(Math.Abs).Max(), Is.LessThanOrEqualTo(0.2 + 1e-6));
    }

    [Test]
    public void Fans_UseTheReceptiveFieldForConvKernels()
    {
        Assert.That(Initializers.Fans(Shape.Of(5, 5, 3, 16)), Is.EqualTo((75.0, 400.0)));
        Assert.That(Initializers.Fans(Shape.Of(64, 10)), Is.EqualTo((64.0, 10.0)));
    }

    [Test]
    public void Dense_DefaultsToGlorotUniformKernelAndZeroBias()
    {
        var g = new Graph { Seed = 2 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 120), "x");
        g.Dense(x, 80);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var kernel = g.FindVariable("dense/kernel")!.Eval(s).ToDoubleArray();
        Assert.That(kernel.Select(Math.Abs).Max(), Is.LessThanOrEqualTo(Math.Sqrt(6.0 / 200)).And.GreaterThan(0.9 * Math.Sqrt(6.0 / 200)));
        Assert.That(g.FindVariable("dense/bias")!.Eval(s).ToDoubleArray(), Has.All.EqualTo(0.0));
    }
}

public class StaticShapeTests
{
    [Test]
    public void DropoutLayer_KeepsThePartiallyKnownShape_SoDenseCanFollow()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 16), "x");
        var training = g.PlaceholderWithDefault(g.Const(false), Shape.Scalar, "training");
        var h = g.DropoutLayer(g.Dense(x, 8), 0.5, training);
        Assert.That(h.Shape, Is.EqualTo(Shape.Of(-1, 8)));
        Assert.That(g.Dense(h, 3).Shape, Is.EqualTo(Shape.Of(-1, 3)));
        Assert.That(g.ZerosLike(g.RandomUniform(Shape.Of(2, 3))).Shape, Is.EqualTo(Shape.Of(2, 3)));
    }
}

public class SubnormalFlushTests
{
    [Test]
    public void DecayingAccumulators_FlushSubnormalsToZero()
    {
        foreach (var make in new Func<GraphDl.Train.Optimizer>[] { () => new GraphDl.Train.AdamOptimizer(0.1), () => new GraphDl.Train.MomentumOptimizer(0.1, 0.9), () => new GraphDl.Train.RMSPropOptimizer(0.1, momentum: 0.9) })
        {
            var g = new Graph();
            var w = g.Variable(NDArray.From(new float[] { 1, 1, 1, 1, 1, 1, 1, 1, 1 }), "w");
            var gate = g.Placeholder(DType.Float32, Shape.Scalar, "gate");
            var loss = g.Sum(w.Value * gate);
            var opt = make();
            var train = opt.Minimize(loss);
            using var s = new Session(g);
            s.Run(g.GlobalVariablesInitializer());
            s.Run([loss], [(gate, 1e-20f)], [train]);     // tiny gradients: accumulators near the subnormal range
            for (int i = 0; i < 400; i++) s.Run([loss], [(gate, 0f)], [train]);   // then none: they decay
            foreach (var slot in opt.GetSlotNames())
            {
                var values = opt.GetSlot(w, slot)!.Eval(s).ToArray<float>();
                Assert.That(values.All(v => v == 0 || Math.Abs(v) >= 1.17549435E-38f), $"{opt.Name}/{slot} holds subnormals: {values[0]:R}");
            }
        }
    }
}
