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

    [Test]
    public void PerceptronsLearnTheGatesAndWireXor()
    {
        using var run = new ExampleRun();
        var r = run.Run("perceptron");
        foreach (string gate in new[] { "and", "or", "nand", "xor" })
            Assert.That(r.Metric("train/accuracy", gate), Is.EqualTo(1.0), gate);
        Assert.That(run.Output.ToString(), Does.Contain("XOR = AND(OR, NAND)"));
    }

    [Test]
    public void ShallowNnReaches95PercentWithEveryActivation()
    {
        using var run = new ExampleRun();
        var r = run.Run("shallow-nn");
        Assert.That(r.Variants, Is.EqualTo(new[] { "tanh", "sigmoid", "relu", "leaky-relu" }));
        foreach (string v in r.Variants)
            Assert.That(r.Metric("test/accuracy", v), Is.GreaterThanOrEqualTo(0.95), v);
    }

    [Test]
    public void ZeroInitializedHiddenUnitsStayIdentical()
    {
        using var run = new ExampleRun();
        var r = run.Run("initialization");
        Assert.That(r.Metric("hidden/max_pairwise_difference", "zeros"), Is.EqualTo(0.0));
        Assert.That(r.Metric("hidden/max_pairwise_difference", "random"), Is.GreaterThan(0.1));
        Assert.That(r.Metric("test/accuracy", "random"), Is.GreaterThanOrEqualTo(0.95));
        var logged = EventFileReaderScalars(r.LogDir("zeros"), "hidden/max_pairwise_difference");
        Assert.That(logged, Has.All.EqualTo(0.0));
    }

    [Test]
    public void MomentumAndAdamBeatMiniBatchGdAtEqualUpdates()
    {
        using var run = new ExampleRun();
        var r = run.Run("optimizers");
        double gd = r.Metric("train/loss_after_updates", "minibatch-gd");
        Assert.That(r.Metric("train/loss_after_updates", "momentum"), Is.LessThan(gd));
        Assert.That(r.Metric("train/loss_after_updates", "adam"), Is.LessThan(gd));
        // Per epoch, the variants that take more steps get further than full-batch gradient descent.
        Assert.That(r.Metric("train/loss_after_epochs", "sgd"), Is.LessThan(r.Metric("train/loss_after_epochs", "batch-gd")));
        var steps = EventFileReaderSteps(r.LogDir("batch-gd"), "updates/train_loss");
        Assert.That(steps, Does.Contain(100L), "batch-gd runs until it has made --updates steps");
    }

    [Test]
    public void L2KeepsTheWeightsSmaller()
    {
        using var run = new ExampleRun();
        var r = run.Run("regularization");
        Assert.That(r.Metric("weights/norm", "l2"), Is.LessThan(r.Metric("weights/norm", "none")));
        Assert.That(r.Metric("weights/norm", "l1"), Is.LessThan(r.Metric("weights/norm", "none")));
        foreach (string v in r.Variants)
            Assert.That(r.Metric("test/accuracy", v), Is.GreaterThanOrEqualTo(0.88), v);
        Assert.That(run.Output.ToString(), Does.Contain("train/accuracy").And.Contain("test/accuracy").And.Contain("weight norm"));
    }

    static double[] EventFileReaderScalars(string dir, string tag) =>
        GraphDl.Summaries.EventFileReader.ReadScalars(dir, tag).Select(p => p.Value).ToArray();

    static long[] EventFileReaderSteps(string dir, string tag) =>
        GraphDl.Summaries.EventFileReader.ReadScalars(dir, tag).Select(p => p.Step).ToArray();
}
