using NUnit.Framework;
using static GraphDl.Tests.Cli.CliHarness;

namespace GraphDl.Tests.Cli;

/// <summary><c>graphdl</c> on the logdir written by TensorBoard's own code (Golden/tensorboard-logdir).</summary>
public sealed class CliGoldenTests
{
    [Test]
    public void LogsListsRunsTagsByKindStepsLastValuesGraphAndHealth()
    {
        var r = Run("logs", GoldenDir);
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Err, Is.Empty);
        string[] expected =
        [
            "2 runs, 2 event files",
            "run eval",
            "  scalars (1)",
            "    loss  3 points  steps 0..9  last 0.12 (step 9)",
            "    events.out.tfevents.1795713133.vm.21732.1  4 records ok",
            "run train",
            "  wall clock  2026-11-26 17:12:13.000Z .. 2026-11-26 17:12:23.000Z  (10 s)",
            "  scalars (3)",
            "    accuracy       10 points  steps 0..9  last 0.86 (step 9)",
            "    learning_rate  10 points  steps 0..9  last 0.03874205 (step 9)",
            "    loss           10 points  steps 0..9  last 0.1 (step 9)",
            "  histograms (2)",
            "    layer1/activations  4 points  steps 0..9",
            "    layer1/weights      4 points  steps 0..9",
            "  images (2)",
            "    samples/gray   2 points  steps 0..5",
            "    samples/input  2 points  steps 0..5",
            "  text (2)",
            "    notes  2 points  steps 0..5",
            "    table  2 points  steps 0..5",
            "  graph  1 graph_def event, last at step 0: 9 nodes",
            "  run metadata (1)",
            "    step5  step 5",
            "    events.out.tfevents.1795713133.vm.21732.0  39 records ok",
            "health: 43 records ok, 0 corrupt",
        ];
        var lines = r.Out.Split('\n');
        foreach (string line in expected)
            Assert.That(lines, Does.Contain(line), r.Out);
        // Kinds appear in TensorBoard's dashboard order within a run.
        int train = r.Out.IndexOf("run train", StringComparison.Ordinal);
        Assert.That(new[] { "  scalars", "  histograms", "  images", "  text", "  graph", "  run metadata", "  files" }
            .Select(k => r.Out.IndexOf(k, train, StringComparison.Ordinal)), Is.Ordered.And.All.GreaterThan(train));
    }

    [Test]
    public void ScalarsCsvIsExact()
    {
        var r = Run("scalars", GoldenDir, "--tag", "loss", "--csv");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("""
            run,step,wall_time,value
            eval,0,1795713135,1.2
            eval,5,1795713140,0.2
            eval,9,1795713144,0.12
            train,0,1795713134,1
            train,1,1795713135,0.5
            train,2,1795713136,0.33333334
            train,3,1795713137,0.25
            train,4,1795713138,0.2
            train,5,1795713139,0.16666667
            train,6,1795713140,0.14285715
            train,7,1795713141,0.125
            train,8,1795713142,0.11111111
            train,9,1795713143,0.1

            """.Replace("\r\n", "\n")));
        // Every printed value reads back to the stored float32 bits.
        var values = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(l => float.Parse(l.Split(',')[3], System.Globalization.CultureInfo.InvariantCulture));
        Assert.That(values.Skip(3), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (float)(1.0 / (i + 1)))));
    }

    [Test]
    public void TensorFormScalarsOfOneRunAsTable()
    {
        var r = Run("scalars", GoldenDir, "--tag", "accuracy", "--run", "train");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        var lines = r.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Has.Length.EqualTo(11));
        Assert.That(lines[0], Does.StartWith("run    step  wall_time (UTC)"));
        Assert.That(lines[1], Is.EqualTo("train  0     2026-11-26 17:12:14.000Z  0.5"));
        Assert.That(lines[10], Is.EqualTo("train  9     2026-11-26 17:12:23.000Z  0.86"));
    }

    [Test]
    public void GraphSummarizesTheNineNodeGraph()
    {
        var r = Run("graph", GoldenDir);
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("""
            run train: graph at step 0
              nodes     9
              inputs    7 data, 2 control
              producer  27
              op types
                Const        3
                AddV2        1
                MatMul       1
                Mean         1
                NoOp         1
                Placeholder  1
                Relu         1
              top-level scopes
                layer1/     5
                loss/       2
                (no scope)  1
                input/      1
              devices
                /job:localhost/replica:0/task:0/device:CPU:0  8
                (none)                                        1

            """.Replace("\r\n", "\n")));
    }

    [Test]
    public void GraphOfARunWithoutOneIsExitCode3()
    {
        var r = Run("graph", GoldenDir, "--run", "eval");
        Assert.That(r.Code, Is.EqualTo(3), r.ToString());
        Assert.That(r.Err, Does.Contain("run 'eval' logged no graph"));
    }

    [Test]
    public void PlotWritesAPngOfTheRequestedSizeWithOneColouredLinePerRunAndText()
    {
        using var dir = new CliTempDir();
        string png = dir.Sub("charts/loss.png"); // the folder is created
        var r = Run("plot", GoldenDir, "--tag", "loss", "-o", png, "--width", "640", "--height", "400");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("wrote").And.Contain("640x400, 2 runs: eval 3 points, train 10 points"));

        var bytes = File.ReadAllBytes(png);
        Assert.That(PngImage.ReadSize(bytes), Is.EqualTo((640, 400)));
        var image = PngImage.Decode(bytes);
        Assert.That(image[0, 0], Is.EqualTo(((byte)255, (byte)255, (byte)255, (byte)255)), "white background");
        // Runs get colours in name order: eval the first, train the second; each smoothed line is 2 px wide.
        Assert.That(image.Count(GraphDl.Cli.PlotCommand.RunColors[0]), Is.GreaterThan(300), "eval line");
        Assert.That(image.Count(GraphDl.Cli.PlotCommand.RunColors[1]), Is.GreaterThan(300), "train line");
        Assert.That(image.Count(GraphDl.Cli.PlotCommand.RunColors[2]), Is.LessThan(20), "no third run");
        Assert.That(image.CountDark(), Is.GreaterThan(500), "axis frame, tick labels, title and legend text");
    }

    [Test]
    public void PlotTextComesFromTheEmbeddedFont()
    {
        // The resolver hands ScottPlot this face for all chart text; it must load from the assembly alone.
        using var typeface = GraphDl.Cli.EmbeddedFont.CreateTypeface();
        Assert.That(typeface.FamilyName, Is.EqualTo(GraphDl.Cli.EmbeddedFont.Family));
        Assert.That(typeface.GlyphCount, Is.GreaterThan(1000));
    }
}
