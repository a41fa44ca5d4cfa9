using GraphDl.Examples;
using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>Every example runs with <c>--smoke</c> and writes the expected TensorBoard tags, all finite; every op of its
/// graphs has a GPU kernel or is in the checked-in list of CPU-only ops.</summary>
public sealed class ExampleSmokeTests
{
    /// <summary>The recurrent examples run their smoke tests in RnnExampleTests (with options that keep them short); those
    /// tests make the same GPU-kernel check.</summary>
    static readonly string[] SmokeTestedElsewhere = ["rnn-forecast", "rnn-sunspots", "char-rnn", "vanishing-gradients"];

    static readonly string[] Classification = ["train/loss", "train/accuracy", "test/accuracy"];
    static readonly string[] Regression = ["train/loss", "test/r2", "test/mse", "test/rmse"];

    static IEnumerable<TestCaseData> Cases()
    {
        yield return Case("linear-regression", null, Regression);
        yield return Case("perceptron", ["and", "or", "nand"], ["train/loss", "train/accuracy"], extraFolders: ["xor"]);
        yield return Case("xor", ["two-layer", "single-layer"], Classification);
        yield return Case("logistic-regression", null, Classification);
        yield return Case("shallow-nn", ["tanh", "sigmoid", "relu", "leaky-relu"], Classification);
        yield return Case("initialization", ["zeros", "random"], [.. Classification, "hidden/max_pairwise_difference"]);
        yield return Case("deep-nn", null, Classification);
        yield return Case("regularization", ["none", "l2", "l1", "dropout"], [.. Classification, "weights/norm"]);
        yield return Case("optimizers", ["batch-gd", "sgd", "minibatch-gd", "momentum", "rmsprop", "adam"], [.. Classification, "updates/train_loss"]);
        yield return Case("edge-detection", null, ["edges/vertical_mean_abs", "edges/horizontal_mean_abs"]);
        yield return Case("lenet5", null, Classification);
        yield return Case("alexnet", null, Classification);
        yield return Case("csv-classifier", null, Classification);
        yield return Case("csv-regressor", null, Regression);
        yield return Case("sequence-classifier", ["lstm", "bidirectional", "two-layer"], Classification);
    }

    static TestCaseData Case(string name, string[]? variants, string[] tags, string[]? extraFolders = null) =>
        new TestCaseData(name, variants ?? [], tags, extraFolders ?? []).SetName($"Smoke({name})");

    [TestCaseSource(nameof(Cases))]
    public void RunsAndLogs(string name, string[] variants, string[] tags, string[] extraFolders)
    {
        using var run = new ExampleRun();
        var result = run.Run(name, "--smoke", "--seed", "1");
        Assert.That(result.Example, Is.EqualTo(name));
        Assert.That(Path.GetDirectoryName(result.RunDir), Is.EqualTo(Path.GetFullPath(run.LogDir)));
        Assert.That(result.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "--smoke should take seconds");
        Assert.That(run.Output.ToString(), Does.Contain(result.RunDir));

        string[] folders = variants.Length == 0 ? [result.RunDir] : variants.Select(v => result.LogDir(v)).ToArray();
        foreach (string dir in folders)
        {
            var last = ExampleRun.LastScalars(dir);
            Assert.That(last.Keys, Is.SupersetOf(tags), dir);
            string hparams = ExampleRun.Hparams(dir);
            Assert.That(hparams, Does.Contain($"| example | {name} |").And.Contain("| seed | 1 |"));
            // edge-detection applies fixed kernels: a graph, but no weights to histogram and no update to trace.
            bool trains = name != "edge-detection";
            ExampleRun.AssertGraphAndHistograms(dir, histograms: trains);
            if (trains) ExampleRun.AssertTracedStep(dir);
        }
        foreach (string extra in extraFolders)
            Assert.That(ExampleRun.LastScalars(result.LogDir(extra)), Is.Not.Empty, extra);
        if (variants.Length > 0)
            Assert.That(result.Variants, Is.SupersetOf(variants));
        foreach (var (key, value) in result.Metrics)
            Assert.That(double.IsFinite(value), $"{key} = {value}");
        ExampleRun.AssertGpuKernelsCover(result);
    }

    [Test]
    public void EveryExampleIsSmokeTested()
    {
        var tested = Cases().Select(c => (string)c.Arguments[0]!).Concat(SmokeTestedElsewhere);
        Assert.That(tested, Is.EquivalentTo(ExampleProgram.Catalog().Select(e => e.Name)));
    }
}
