using GraphDl.Cli;
using NUnit.Framework;
using static GraphDl.Tests.Cli.CliHarness;

namespace GraphDl.Tests.Cli;

/// <summary>Exit codes, error messages and help of <c>graphdl</c>; TensorBoard's smoothing.</summary>
public sealed class CliUsageTests
{
    [Test]
    public void HelpListsCommandsAndExitCodes()
    {
        var root = Run("--help");
        Assert.That(root.Code, Is.EqualTo(0), root.ToString());
        Assert.That(root.Out, Does.Contain("logs").And.Contain("scalars").And.Contain("plot").And.Contain("graph"));
        Assert.That(root.Out, Does.Contain("Exit codes:").And.Contain("1  corrupt records found").And.Contain("3  nothing to read"));

        var plot = Run("plot", "--help");
        Assert.That(plot.Code, Is.EqualTo(0), plot.ToString());
        Assert.That(plot.Out, Does.Contain("--smooth").And.Contain("--output").And.Contain("Exit codes:"));
    }

    static IEnumerable<TestCaseData> BadCommandLines() =>
    [
        new TestCaseData((object)Array.Empty<string>()).SetName("NoCommand"),
        new TestCaseData((object)new[] { "logs" }).SetName("MissingLogDir"),
        new TestCaseData((object)new[] { "frobnicate", "x" }).SetName("UnknownCommand"),
        new TestCaseData((object)new[] { "scalars", "x" }).SetName("MissingTag"),
        new TestCaseData((object)new[] { "plot", "x", "--tag", "loss" }).SetName("MissingOutput"),
        new TestCaseData((object)new[] { "plot", "x", "--tag", "loss", "-o", "a.png", "--smooth", "1" }).SetName("SmoothingOne"),
        new TestCaseData((object)new[] { "plot", "x", "--tag", "loss", "-o", "a.png", "--smooth", "abc" }).SetName("SmoothingNotANumber"),
        new TestCaseData((object)new[] { "plot", "x", "--tag", "loss", "-o", "a.png", "--width", "10" }).SetName("TinyWidth"),
        new TestCaseData((object)new[] { "logs", "x", "--bogus" }).SetName("UnknownOption"),
    ];

    [TestCaseSource(nameof(BadCommandLines))]
    public void BadCommandLinesAreExitCode2(string[] args)
    {
        var r = Run(args);
        Assert.That(r.Code, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.StartWith("graphdl: ").And.Contain("--help"));
        Assert.That(r.Out, Is.Empty);
    }

    [Test]
    public void SmoothingOutOfRangeSaysWhy() =>
        Assert.That(Run("plot", "x", "--tag", "l", "-o", "a.png", "--smooth", "1.5").Err, Does.Contain("--smooth must be at least 0 and below 1, got 1.5"));

    [Test]
    public void UnknownTagListsTheScalarTags()
    {
        var r = Run("scalars", GoldenDir, "--tag", "los");
        Assert.That(r.Code, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Is.EqualTo("graphdl: no scalar tag 'los' in any run; scalar tags: accuracy, learning_rate, loss\n"));
    }

    [Test]
    public void NonScalarTagSaysItsKind()
    {
        var r = Run("plot", GoldenDir, "--tag", "layer1/weights", "-o", Path.Combine(Path.GetTempPath(), "never-written.png"));
        Assert.That(r.Code, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("tag 'layer1/weights' is not a scalar tag in any run (it holds histograms)"));
    }

    [Test]
    public void UnknownRunListsTheRuns()
    {
        var r = Run("scalars", GoldenDir, "--tag", "loss", "--run", "test");
        Assert.That(r.Code, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.Contain("no run named 'test'; runs: eval, train"));
    }

    [TestCase("logs")]
    [TestCase("graph")]
    public void MissingFolderIsExitCode3(string command)
    {
        string missing = Path.Combine(Path.GetTempPath(), "graphdl-no-such-dir-" + Guid.NewGuid().ToString("N"));
        var r = Run(command, missing);
        Assert.That(r.Code, Is.EqualTo(3), r.ToString());
        Assert.That(r.Err, Is.EqualTo($"graphdl: log directory '{missing}' does not exist\n"));
    }

    [Test]
    public void FolderWithoutEventFilesIsExitCode3()
    {
        using var dir = new CliTempDir();
        File.WriteAllText(dir.Sub("notes.txt"), "not an event file");
        var r = Run("scalars", dir.Path, "--tag", "loss");
        Assert.That(r.Code, Is.EqualTo(3), r.ToString());
        Assert.That(r.Err, Does.Contain("no event files under").And.Contain("'tfevents'"));
    }

    [Test]
    public void UnwritableOutputIsExitCode2()
    {
        using var dir = new CliTempDir();
        string blocker = dir.Sub("file");
        File.WriteAllText(blocker, "a file where a folder should be");
        var r = Run("plot", GoldenDir, "--tag", "loss", "-o", Path.Combine(blocker, "x.png"));
        Assert.That(r.Code, Is.EqualTo(2), r.ToString());
        Assert.That(r.Err, Does.StartWith("graphdl: cannot write"));
    }

    [Test]
    public void SmoothingIsTensorBoardsDebiasedMovingAverage()
    {
        // w = 0.5 on 1, 2, 3: last = 0.5, 1.25, 2.125; debiased by 1 - 0.5^n = 0.5, 0.75, 0.875.
        Assert.That(Smoothing.Ema([1, 2, 3], 0.5), Is.EqualTo(new[] { 1, 1.25 / 0.75, 2.125 / 0.875 }).Within(1e-15));
        Assert.That(Smoothing.Ema([1, 2, 3], 0), Is.EqualTo(new double[] { 1, 2, 3 }));
        // Non-finite values pass through and do not count towards the debiasing.
        var s = Smoothing.Ema([1, double.NaN, 3], 0.5);
        Assert.That(s[1], Is.NaN);
        Assert.That(s[0], Is.EqualTo(1));
        Assert.That(s[2], Is.EqualTo(1.75 / 0.75).Within(1e-15));
        // A constant series is returned as is (TensorBoard's #786).
        Assert.That(Smoothing.Ema([0.3, 0.3, 0.3], 0.9), Is.EqualTo(new[] { 0.3, 0.3, 0.3 }));
    }
}
