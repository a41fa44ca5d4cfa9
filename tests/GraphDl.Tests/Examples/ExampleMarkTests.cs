using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>The cheap examples at their default settings meet their pass marks.</summary>
public sealed class ExampleMarkTests
{
    [Test]
    public void LinearRegressionIsWithin002OfLeastSquares()
    {
        using var run = new ExampleRun();
        var r = run.Run("linear-regression");
        double ols = r.Metric("test/r2_least_squares");
        Assert.That(ols, Is.EqualTo(0.447).Within(0.001), "closed form on the interleaved split (data/README.md)");
        Assert.That(r.Metric("test/mse_least_squares"), Is.EqualTo(3279.2).Within(0.1));
        Assert.That(r.Metric("test/r2"), Is.EqualTo(ols).Within(0.02));
        Assert.That(run.Output.ToString(), Does.Contain("least squares (normal equations)"));
    }

    [Test]
    public void LogisticRegressionReaches95Percent()
    {
        using var run = new ExampleRun();
        Assert.That(run.Run("logistic-regression").Metric("test/accuracy"), Is.GreaterThanOrEqualTo(0.95));
    }

    [Test]
    public void XorNeedsAHiddenLayer()
    {
        using var run = new ExampleRun();
        var r = run.Run("xor");
        Assert.That(r.Metric("test/accuracy", "two-layer"), Is.EqualTo(1.0));
        Assert.That(r.Metric("test/accuracy", "single-layer"), Is.LessThan(1.0));
        string text = run.Output.ToString();
        Assert.That(text, Does.Contain("two-layer p(1)").And.Contain("single-layer p(1)"));
    }

    [TestCase(0)]
    [TestCase(1)]
    [TestCase(2)]
    public void DeepNnReaches90PercentOnDigits(int seed)
    {
        using var run = new ExampleRun();
        var r = run.Run("deep-nn", "--seed", seed.ToString());
        Assert.That(r.Metric("test/accuracy"), Is.GreaterThanOrEqualTo(0.90));
        var logged = ExampleRun.LastScalars(r.RunDir);
        Assert.That(logged["test/accuracy"], Is.EqualTo(r.Metric("test/accuracy")).Within(1e-6));
    }
}
