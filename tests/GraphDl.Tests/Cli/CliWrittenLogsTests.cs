using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;
using static GraphDl.Tests.Cli.CliHarness;

namespace GraphDl.Tests.Cli;

/// <summary><c>graphdl</c> on logs written by <see cref="EventFileWriter"/>, and on damaged copies of the golden logdir.</summary>
public sealed class CliWrittenLogsTests
{
    CliTempDir _dir = null!;

    [SetUp]
    public void MakeDir() => _dir = new CliTempDir();

    [TearDown]
    public void RemoveDir() => _dir.Dispose();

    static Summary DoubleScalar(string tag, double value) => new()
    {
        Value =
        {
            new Summary.Types.Value
            {
                Tag = tag,
                Metadata = new SummaryMetadata { PluginData = new() { PluginName = "scalars" }, DataClass = DataClass.Scalar },
                Tensor = new TensorProto { Dtype = DataType.DtDouble, TensorShape = new(), DoubleVal = { value } },
            },
        },
    };

    /// <summary>Runs "a" and "b/c" (nested), plus "x,y" whose name needs CSV quoting.</summary>
    string WriteLogs()
    {
        string logs = _dir.Sub("logs");
        using (var a = new EventFileWriter(Path.Combine(logs, "a")))
        {
            a.AddScalar("train/loss", 0.1, step: 0, wallTime: 1700000000.25);
            a.AddScalar("train/loss", 1.0 / 3, step: 1, wallTime: 1700000001.5);
            a.AddScalar("train/loss", 1e-7, step: 2, wallTime: 1700000002.125);
            a.AddText("hparams", "lr = 0.1", step: 0, wallTime: 1700000000);
            a.AddEvent(new Event { WallTime = 1700000003, Step = 2, Summary = DoubleScalar("precise", 1.0 / 3) });
        }
        using (var b = new EventFileWriter(Path.Combine(logs, "b", "c")))
        {
            b.AddScalar("train/loss", 2.5, step: -1, wallTime: 1700000010);
            b.AddScalar("train/loss", 1.75, step: 100000000000, wallTime: 1700000011);
        }
        using (var x = new EventFileWriter(Path.Combine(logs, "x,y")))
            x.AddScalar("train/loss", 4, step: 3, wallTime: 1700000020);
        return logs;
    }

    [Test]
    public void CsvOfWrittenLogsIsExactAndQuoted()
    {
        var r = Run("scalars", WriteLogs(), "--tag", "train/loss", "--csv");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("""
            run,step,wall_time,value
            a,0,1700000000.25,0.1
            a,1,1700000001.5,0.33333334
            a,2,1700000002.125,1E-07
            b/c,-1,1700000010,2.5
            b/c,100000000000,1700000011,1.75
            "x,y",3,1700000020,4

            """.Replace("\r\n", "\n")));
    }

    [Test]
    public void DoubleTensorScalarsPrintAllDigits()
    {
        var r = Run("scalars", WriteLogs(), "--tag", "precise", "--csv");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("run,step,wall_time,value\na,2,1700000003,0.3333333333333333\n"));
    }

    [Test]
    public void LogsOfWrittenLogsNamesNestedRunsAndKinds()
    {
        var r = Run("logs", WriteLogs());
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        var lines = r.Out.Split('\n');
        Assert.That(lines, Does.Contain("3 runs, 3 event files"));
        Assert.That(lines, Does.Contain("run b/c"));
        Assert.That(lines, Does.Contain("    train/loss  2 points  steps -1..100000000000  last 1.75 (step 100000000000)"));
        Assert.That(lines, Does.Contain("    hparams  1 point  step 0"));
        Assert.That(lines, Does.Contain("    precise     1 point   step 2      last 0.3333333333333333 (step 2)"));
        Assert.That(r.Out, Does.Contain("  text (1)"));
    }

    [Test]
    public void ASingleEventFileIsRunDot()
    {
        string logs = WriteLogs();
        string file = Directory.GetFiles(Path.Combine(logs, "x,y"))[0];
        var r = Run("scalars", file, "--tag", "train/loss", "--csv");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Is.EqualTo("run,step,wall_time,value\n.,3,1700000020,4\n"));
    }

    [Test]
    public void PlotOfASinglePointRunAndANonFiniteValue()
    {
        string logs = _dir.Sub("logs");
        using (var w = new EventFileWriter(Path.Combine(logs, "one")))
        {
            w.AddScalar("loss", 1, step: 0);
            w.AddScalar("loss", double.NaN, step: 1);
        }
        string png = _dir.Sub("one.png");
        var r = Run("plot", logs, "--tag", "loss", "-o", png, "--smooth", "0");
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Err, Does.Contain("1 non-finite values not drawn"));
        var image = PngImage.Decode(File.ReadAllBytes(png));
        Assert.That((image.Width, image.Height), Is.EqualTo((1000, 600)));
        Assert.That(image.Count(GraphDl.Cli.PlotCommand.RunColors[0]), Is.GreaterThan(30), "the lone point's marker and legend");
    }

    [Test]
    public void FlippedPayloadByteIsReportedWithOffsetAndTheRestIsStillRead()
    {
        string train = CopyGolden(_dir.Path);
        long bad = RecordStarts(train)[2]; // loss and learning_rate at step 0
        FlipByte(train, bad + 14);

        var logs = Run("logs", _dir.Path);
        Assert.That(logs.Code, Is.EqualTo(1), logs.ToString());
        Assert.That(logs.Out, Does.Contain($"      CORRUPT at byte offset {bad}: PayloadCrcMismatch"));
        Assert.That(logs.Out, Does.Contain("record skipped"));
        Assert.That(logs.Out, Does.Contain("events.out.tfevents.1795713133.vm.21732.0  38 records ok, 1 corrupt record"));
        Assert.That(logs.Out, Does.Contain("    loss           9 points   steps 1..9  last 0.1 (step 9)"), "records after the bad one are read");
        Assert.That(logs.Out, Does.Contain("health: 42 records ok, 1 corrupt"));
        Assert.That(logs.Err, Does.Contain("1 corrupt record found"));

        var csv = Run("scalars", _dir.Path, "--tag", "loss", "--run", "train", "--csv");
        Assert.That(csv.Code, Is.EqualTo(1), csv.ToString());
        Assert.That(csv.Err, Does.Contain(train).And.Contain($"corrupt record at byte offset {bad} (PayloadCrcMismatch"));
        Assert.That(csv.Out, Does.StartWith("run,step,wall_time,value\ntrain,1,1795713135,0.5\n"));
        Assert.That(csv.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries), Has.Length.EqualTo(10));

        string png = _dir.Sub("loss.png");
        var plot = Run("plot", _dir.Path, "--tag", "loss", "-o", png);
        Assert.That(plot.Code, Is.EqualTo(1), plot.ToString());
        Assert.That(PngImage.ReadSize(File.ReadAllBytes(png)), Is.EqualTo((1000, 600)), "the chart is still drawn");

        var graph = Run("graph", _dir.Path);
        Assert.That(graph.Code, Is.EqualTo(1), graph.ToString());
        Assert.That(graph.Out, Does.Contain("  nodes     9"));
    }

    [Test]
    public void FlippedLengthByteStopsTheFileAndSaysHowMuchIsUnread()
    {
        string train = CopyGolden(_dir.Path);
        var starts = RecordStarts(train);
        FlipByte(train, starts[20]);
        long unread = new FileInfo(train).Length - starts[20];

        var r = Run("logs", _dir.Path);
        Assert.That(r.Code, Is.EqualTo(1), r.ToString());
        Assert.That(r.Out, Does.Contain($"CORRUPT at byte offset {starts[20]}: HeaderCrcMismatch"));
        Assert.That(r.Out, Does.Contain($"the remaining {unread} bytes cannot be read"));
        Assert.That(r.Out, Does.Contain("  20 records ok, 1 corrupt record"));
    }

    [Test]
    public void UndecodablePayloadInAnIntactFrameIsCorrupt()
    {
        string logs = _dir.Sub("logs");
        string file;
        using (var w = new EventFileWriter(logs))
        {
            w.AddScalar("loss", 1, step: 0, wallTime: 1700000000);
            file = w.FilePath;
        }
        long offset = new FileInfo(file).Length;
        using (var rw = new RecordWriter(new FileStream(file, FileMode.Append)))
            rw.Write([0x0A, 0xFF]); // field 1 as length-delimited with a 255-byte length: invalid
        using (var more = new RecordWriter(new FileStream(file, FileMode.Append)))
            more.Write(new Event { WallTime = 1700000001, Step = 1, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "loss", SimpleValue = 2 } } } }.ToByteArray());

        var r = Run("scalars", logs, "--tag", "loss", "--csv");
        Assert.That(r.Code, Is.EqualTo(1), r.ToString());
        Assert.That(r.Err, Does.Contain($"corrupt record at byte offset {offset} (InvalidPayload"));
        Assert.That(r.Out, Is.EqualTo("run,step,wall_time,value\n.,0,1700000000,1\n.,1,1700000001,2\n"));
    }

    [Test]
    public void TruncatedTailIsReportedButNotAnError()
    {
        string train = CopyGolden(_dir.Path);
        var starts = RecordStarts(train);
        long cut = starts[^1] + 7; // inside the last record's header
        using (var fs = new FileStream(train, FileMode.Open)) fs.SetLength(cut);

        var r = Run("logs", _dir.Path);
        Assert.That(r.Code, Is.EqualTo(0), r.ToString());
        Assert.That(r.Out, Does.Contain("38 records ok, truncated tail"));
        Assert.That(r.Out, Does.Contain($"truncated tail at byte offset {starts[^1]} (7 bytes)"));
        Assert.That(r.Out, Does.Contain("health: 42 records ok, 0 corrupt"));

        var s = Run("scalars", _dir.Path, "--tag", "loss", "--run", "train");
        Assert.That(s.Code, Is.EqualTo(0), s.ToString());
        Assert.That(s.Err, Does.Contain("last record cut short"));
    }
}
