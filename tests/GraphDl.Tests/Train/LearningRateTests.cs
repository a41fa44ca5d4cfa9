using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Schedules against TF1's formulas at several steps, fed through an int64 step placeholder.</summary>
public class LearningRateTests
{
    static readonly long[] Steps = [0, 1, 2, 5, 9, 10, 11, 15, 20, 21, 37, 100];

    static void Check(Func<Graph, Tensor, Tensor> schedule, Func<long, double> reference)
    {
        var g = new Graph();
        var step = g.Placeholder(DType.Int64, Shape.Scalar, "step");
        var lr = schedule(g, step);
        Assert.That(lr.DType, Is.EqualTo(DType.Float32));
        Assert.That(lr.Shape.Rank, Is.EqualTo(0));
        using var s = new Session(g);
        foreach (var t in Steps)
        {
            double got = s.Run(lr, (step, NDArray.Scalar(t))).Item<float>();
            double want = reference(t);
            Assert.That(got, Is.EqualTo(want).Within(1e-7 * Math.Abs(want) + 1e-10), $"step {t}");
        }
    }

    [Test]
    public void ExponentialDecay() =>
        Check((g, s) => LearningRates.ExponentialDecay(g, 0.1, s, 10, 0.5), t => 0.1 * Math.Pow(0.5, t / 10.0));

    [Test]
    public void ExponentialDecay_Staircase() =>
        Check((g, s) => LearningRates.ExponentialDecay(g, 0.1, s, 10, 0.96, staircase: true), t => 0.1 * Math.Pow(0.96, Math.Floor(t / 10.0)));

    [Test]
    public void PiecewiseConstant() =>
        Check((g, s) => LearningRates.PiecewiseConstant(g, s, [10, 20], [1.0, 0.5, 0.1]), t => t <= 10 ? 1.0 : t <= 20 ? 0.5 : 0.1);

    [Test]
    public void PiecewiseConstant_OneBoundary_Int32Step()
    {
        var g = new Graph();
        var step = g.Placeholder(DType.Int32, Shape.Scalar);
        var lr = LearningRates.PiecewiseConstant(g, step, [5], [0.3, 0.2]);
        using var s = new Session(g);
        Assert.That(s.Run(lr, (step, NDArray.Scalar(5))).Item<float>(), Is.EqualTo(0.3f));
        Assert.That(s.Run(lr, (step, NDArray.Scalar(6))).Item<float>(), Is.EqualTo(0.2f));
        Assert.Throws<ArgumentException>(() => LearningRates.PiecewiseConstant(g, step, [5, 6], [0.3, 0.2]));
    }

    [Test]
    public void PolynomialDecay_Linear() =>
        Check((g, s) => LearningRates.PolynomialDecay(g, 0.1, s, 20, 0.01), t =>
        {
            double p = Math.Min(t, 20) / 20.0;
            return (0.1 - 0.01) * (1 - p) + 0.01;
        });

    [Test]
    public void PolynomialDecay_Power() =>
        Check((g, s) => LearningRates.PolynomialDecay(g, 0.1, s, 20, 0.001, power: 2.5), t =>
        {
            double p = Math.Min(t, 20) / 20.0;
            return (0.1 - 0.001) * Math.Pow(1 - p, 2.5) + 0.001;
        });

    [Test]
    public void PolynomialDecay_Cycle() =>
        Check((g, s) => LearningRates.PolynomialDecay(g, 0.1, s, 10, 0.01, power: 0.5, cycle: true), t =>
        {
            double mult = t == 0 ? 1 : Math.Ceiling(t / 10.0);
            double p = t / (10 * mult);
            return (0.1 - 0.01) * Math.Pow(1 - p, 0.5) + 0.01;
        });

    [Test]
    public void CosineDecay() =>
        Check((g, s) => LearningRates.CosineDecay(g, 0.1, s, 20), t =>
            0.1 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(t, 20) / 20.0)));

    [Test]
    public void CosineDecay_Alpha() =>
        Check((g, s) => LearningRates.CosineDecay(g, 0.2, s, 37, alpha: 0.1), t =>
            0.2 * (0.9 * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(t, 37) / 37.0)) + 0.1));

    [Test]
    public void Schedules_RejectBadArguments()
    {
        var g = new Graph();
        var step = g.Placeholder(DType.Int64, Shape.Scalar);
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRates.ExponentialDecay(g, 0.1, step, 0, 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRates.CosineDecay(g, 0.1, step, -1));
        Assert.Throws<ArgumentException>(() => LearningRates.PiecewiseConstant(g, step, [2, 1], [1, 2, 3]));
        Assert.Throws<ArgumentException>(() => LearningRates.ExponentialDecay(g, 0.1, g.Placeholder(DType.Int64, Shape.Of(2)), 10, 0.5));
    }
}
