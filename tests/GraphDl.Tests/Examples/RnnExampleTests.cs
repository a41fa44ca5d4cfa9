using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>The recurrent examples: smoke runs, and the sunspot forecasters' marks at defaults.</summary>
public sealed class RnnExampleTests
{
    [Test]
    public void RnnForecast_Smoke([Values("rnn", "gru", "lstm")] string cell)
    {
        using var run = new ExampleRun();
        var r = run.Run("rnn-forecast", "--smoke", "--cell", cell, "--window", "5", "--test-fraction", "0.1");
        ExampleRun.AssertGpuKernelsCover(r);
        Assert.That(double.IsFinite(r.Metric("test/rmse")));
        Assert.That(ExampleRun.LastScalars(r.RunDir).Keys, Is.SupersetOf(new[] { "train/loss", "test/rmse" }));
        string text = run.Output.ToString();
        Assert.That(text, Does.Contain("repeat last value").And.Contain("linear AR(5)").And.Contain("test targets 31"));
    }

    [Test]
    public void RnnForecast_FillsMissingCells()
    {
        using var run = new ExampleRun();
        string csv = Path.Combine(run.LogDir, "series.csv");
        Directory.CreateDirectory(run.LogDir);
        File.WriteAllLines(csv, ["t,v", .. Enumerable.Range(0, 60).Select(i => $"{i},{(i % 7 == 3 ? "" : Math.Sin(i * 0.5).ToString("R", System.Globalization.CultureInfo.InvariantCulture))}")]);
        run.Run("rnn-forecast", "--smoke", "--data", csv, "--target", "v", "--window", "4");
        Assert.That(run.Output.ToString(), Does.Contain("9 missing cells filled"));
    }

    [Test]
    public void RnnSunspots_Smoke()
    {
        using var run = new ExampleRun();
        var r = run.Run("rnn-sunspots", "--smoke");
        ExampleRun.AssertGpuKernelsCover(r);
        foreach (string v in new[] { "rnn", "gru", "lstm" })
            Assert.That(ExampleRun.LastScalars(r.LogDir(v)).Keys, Does.Contain("test/rmse"), v);
        Assert.That(r.Metric("baseline/repeat_last_rmse"), Is.EqualTo(33.18).Within(0.005));
        Assert.That(r.Metric("baseline/ar_rmse"), Is.EqualTo(18.75).Within(0.005));
        Assert.That(run.Output.ToString(), Does.Contain("test years 1950-2008 (59)"));
    }

    [Test]
    public void RnnSunspots_GruAndLstmBeat25AtDefaults()
    {
        using var run = new ExampleRun();
        var r = run.Run("rnn-sunspots", "--variant", "gru,lstm");
        Assert.That(r.Metric("test/rmse", "gru"), Is.LessThanOrEqualTo(25));
        Assert.That(r.Metric("test/rmse", "lstm"), Is.LessThanOrEqualTo(25));
    }

    [Test]
    public void SequenceClassifier_PrintsTheVariantsSideBySide()
    {
        using var run = new ExampleRun();
        var r = run.Run("sequence-classifier", "--smoke", "--units", "8");
        string text = run.Output.ToString();
        Assert.That(text, Does.Contain("28 steps of 28 pixels").And.Contain("bidirectional").And.Contain("two-layer"));
        foreach (string v in new[] { "lstm", "bidirectional", "two-layer" })
            Assert.That(r.Metric("test/accuracy", v), Is.InRange(0.0, 1.0), v);
    }

    [Test]
    public void CharRnn_Smoke()
    {
        using var run = new ExampleRun();
        var r = run.Run("char-rnn", "--smoke", "--sample-length", "40", "--seq-len", "16");
        ExampleRun.AssertGpuKernelsCover(r);
        Assert.That(double.IsFinite(r.Metric("test/bits_per_char")));
        Assert.That(ExampleRun.LastScalars(r.RunDir).Keys, Does.Contain("test/bits_per_char"));
        Assert.That(run.Output.ToString(), Does.Contain("add-one bigram").And.Contain("We the People"));
    }

    [Test]
    public void CharRnn_BigramBaselineOfTheDefaultText()
    {
        string text = File.ReadAllText(GraphDl.Data.DataPaths.Find("us_constitution.txt"));
        var ids = text.Select(GraphDl.Examples.CharRnnExample.Encode).ToArray();
        Assert.That(GraphDl.Examples.CharRnnExample.BigramBits(ids, (int)(ids.Length * 0.9)), Is.EqualTo(3.406).Within(0.0005));
    }
}

/// <summary>vanishing-gradients runs and logs a gradient norm per time step for both cells.</summary>
public sealed class VanishingGradientsExampleTests
{
    [Test]
    public void Smoke()
    {
        using var run = new ExampleRun();
        var r = run.Run("vanishing-gradients", "--smoke", "--steps", "12");
        ExampleRun.AssertGpuKernelsCover(r);
        foreach (string v in new[] { "rnn", "lstm" })
        {
            var points = GraphDl.Summaries.EventFileReader.ReadScalars(r.LogDir(v)).Where(p => p.Tag == "gradient/norm").ToList();
            Assert.That(points.Select(p => p.Step), Is.EqualTo(Enumerable.Range(1, 12).Select(i => (long)i)), v);
            Assert.That(double.IsFinite(r.Metric("gradient/ratio_first_to_last", v)), v);
        }
    }
}
