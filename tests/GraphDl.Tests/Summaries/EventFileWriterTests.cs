using System.Text.RegularExpressions;
using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

public sealed class EventFileWriterTests
{
    TempDir _dir = null!;

    [SetUp]
    public void Setup() => _dir = new TempDir();

    [TearDown]
    public void Cleanup() => _dir.Dispose();

    static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    [Test]
    public void FileNameFollowsTheTensorBoardPattern()
    {
        using var w = new EventFileWriter(_dir.Path, ".v2");
        string name = Path.GetFileName(w.FilePath);
        Assert.That(name, Does.Match($@"^events\.out\.tfevents\.\d{{10}}\..+\.{Environment.ProcessId}\.\d+\.v2$"));
        Assert.That(Path.GetDirectoryName(w.FilePath), Is.EqualTo(Path.GetFullPath(_dir.Path)));
        long seconds = long.Parse(Regex.Match(name, @"tfevents\.(\d{10})\.").Groups[1].Value);
        Assert.That(seconds, Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(5));
    }

    [Test]
    public void CreatesMissingLogDir()
    {
        string logDir = Path.Combine(_dir.Path, "a", "b");
        using var w = new EventFileWriter(logDir);
        Assert.That(File.Exists(w.FilePath), Is.True);
        Assert.That(EventFileReader.Runs(_dir.Path), Is.EqualTo(new[] { Path.Combine("a", "b") }));
    }

    [Test]
    public void FirstEventIsFileVersionAndIsFlushedAtOnce()
    {
        double before = Now();
        using var w = new EventFileWriter(_dir.Path);
        var events = EventFileReader.ReadEvents(w.FilePath).ToList(); // writer still open
        Assert.That(events, Has.Count.EqualTo(1));
        Assert.That(events[0].FileVersion, Is.EqualTo("brain.Event:2"));
        Assert.That(events[0].SourceMetadata.Writer, Is.EqualTo("graphdl"));
        Assert.That(events[0].WallTime, Is.InRange(before - 1, Now() + 1));
    }

    [Test]
    public void ScalarsRoundTrip()
    {
        string path;
        using (var w = new EventFileWriter(_dir.Path))
        {
            path = w.FilePath;
            for (int step = 0; step < 5; step++)
            {
                w.AddScalar("loss", 1.0 / (step + 1), step, wallTime: 1000 + step);
                w.AddScalar("lr", 0.1, step, wallTime: 2000 + step);
            }
            w.AddScalar("loss", 0.25, -1, wallTime: 3000);
        }
        var loss = EventFileReader.ReadScalars(path, "loss");
        Assert.That(loss.Select(p => p.Step), Is.EqualTo(new long[] { 0, 1, 2, 3, 4, -1 }));
        Assert.That(loss.Select(p => p.Value), Is.EqualTo(new[] { 1.0, 0.5, 1.0 / 3, 0.25, 0.2, 0.25 }.Select(v => (double)(float)v)));
        Assert.That(loss.Select(p => p.WallTime), Is.EqualTo(new double[] { 1000, 1001, 1002, 1003, 1004, 3000 }));
        Assert.That(loss.All(p => p.Tag == "loss"), Is.True);
        Assert.That(EventFileReader.ReadScalars(path), Has.Count.EqualTo(11));
        Assert.That(EventFileReader.ReadScalars(_dir.Path, "lr"), Has.Count.EqualTo(5)); // run directory form
    }

    [Test]
    public void ScalarMetadataOnlyOnFirstValueOfEachTag()
    {
        string path;
        using (var w = new EventFileWriter(_dir.Path))
        {
            path = w.FilePath;
            w.AddScalar("a", 1, 0);
            w.AddScalar("b", 1, 0);
            w.AddScalar("a", 2, 1);
        }
        var values = EventFileReader.ReadEvents(path).Skip(1).Select(e => e.Summary.Value.Single()).ToList();
        Assert.That(values.Select(v => v.Metadata?.PluginData?.PluginName), Is.EqualTo(new[] { "scalars", "scalars", null }));
        Assert.That(values[0].Metadata.DataClass, Is.EqualTo(DataClass.Scalar));
    }

    [Test]
    public void TextIsAStringScalarTensorForTheTextPlugin()
    {
        const string md = "step **0** done — ünïcode ok";
        string path;
        using (var w = new EventFileWriter(_dir.Path))
        {
            path = w.FilePath;
            w.AddText("notes", md, 0);
            w.AddText("notes", "again", 1);
        }
        var events = EventFileReader.ReadEvents(path).Skip(1).ToList();
        var first = events[0].Summary.Value.Single();
        Assert.That(first.Tag, Is.EqualTo("notes"));
        Assert.That(first.Metadata.PluginData.PluginName, Is.EqualTo("text"));
        Assert.That(first.Tensor.Dtype, Is.EqualTo(DataType.DtString));
        Assert.That(first.Tensor.TensorShape, Is.Not.Null);
        Assert.That(first.Tensor.TensorShape.Dim, Is.Empty);
        Assert.That(first.Tensor.StringVal.Single().ToStringUtf8(), Is.EqualTo(md));
        Assert.That(events[1].Summary.Value.Single().Metadata, Is.Null);
        Assert.That(events[1].Step, Is.EqualTo(1));
        Assert.That(EventFileReader.ReadScalars(path), Is.Empty);
    }

    [Test]
    public void RawSummariesAndEventsAreWrittenAsGiven()
    {
        var scalars = new SummaryMetadata { PluginData = new() { PluginName = "scalars" } };
        static TensorProto Scalar(DataType dt) => new() { Dtype = dt, TensorShape = new TensorShapeProto() };
        string path;
        using (var w = new EventFileWriter(_dir.Path))
        {
            path = w.FilePath;
            var f = Scalar(DataType.DtFloat); f.FloatVal.Add(0.5f);
            w.AddSummary(new Summary { Value = { new Summary.Types.Value { Tag = "acc", Metadata = scalars, Tensor = f } } }, 1);
            var d = Scalar(DataType.DtDouble); d.DoubleVal.Add(0.125);
            w.AddSummary(new Summary { Value = { new Summary.Types.Value { Tag = "acc", Tensor = d } } }, 2);
            var raw = Scalar(DataType.DtDouble); raw.TensorContent = ByteString.CopyFrom(BitConverter.GetBytes(0.75));
            w.AddEvent(new Event { WallTime = 42, Step = 3, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "acc", Tensor = raw } } } });
            var unowned = Scalar(DataType.DtFloat); unowned.FloatVal.Add(9);
            w.AddSummary(new Summary { Value = { new Summary.Types.Value { Tag = "no_plugin", Tensor = unowned } } }, 4);
            w.AddEvent(new Event { WallTime = 43, Step = 5, SessionLog = new SessionLog { Status = SessionLog.Types.SessionStatus.Start } });
        }
        var points = EventFileReader.ReadScalars(path);
        Assert.That(points.Select(p => (p.Tag, p.Step, p.Value)),
            Is.EqualTo(new[] { ("acc", 1L, 0.5), ("acc", 2L, 0.125), ("acc", 3L, 0.75) }));
        Assert.That(points[2].WallTime, Is.EqualTo(42));
        var last = EventFileReader.ReadEvents(path).Last();
        Assert.That(last.SessionLog.Status, Is.EqualTo(SessionLog.Types.SessionStatus.Start));
    }

    [Test]
    public void TwoWritersInOneDirInTheSameSecondMakeTwoFiles()
    {
        using var a = new EventFileWriter(_dir.Path);
        using var b = new EventFileWriter(_dir.Path);
        Assert.That(b.FilePath, Is.Not.EqualTo(a.FilePath));
        Assert.That(string.CompareOrdinal(Path.GetFileName(b.FilePath), Path.GetFileName(a.FilePath)), Is.GreaterThan(0));
        a.AddScalar("x", 1, 0);
        b.AddScalar("x", 2, 0);
        a.Flush();
        b.Flush();
        Assert.That(EventFileReader.ReadScalars(a.FilePath).Single().Value, Is.EqualTo(1));
        Assert.That(EventFileReader.ReadScalars(b.FilePath).Single().Value, Is.EqualTo(2));
        Assert.That(EventFileReader.FindEventFiles(_dir.Path), Is.EqualTo(new[] { a.FilePath, b.FilePath }));
    }

    [Test]
    public void ManyWritersGetStrictlyIncreasingNames()
    {
        // The process-wide counter may cross a digit boundary (9 -> 10), where plain decimal order would break.
        var names = new List<string>();
        for (int i = 0; i < 12; i++)
        {
            using var w = new EventFileWriter(_dir.Path);
            names.Add(Path.GetFileName(w.FilePath));
        }
        Assert.That(names, Is.Unique);
        Assert.That(names, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal));
        Assert.That(Directory.GetFiles(_dir.Path), Has.Length.EqualTo(12));
    }

    [Test]
    public void NewFileSortsAfterAForeignFileOfTheSameSecond()
    {
        string foreign = _dir.File($"events.out.tfevents.{DateTimeOffset.UtcNow.ToUnixTimeSeconds():D10}.zzzz.99999.0");
        File.WriteAllBytes(foreign, []);
        using var w = new EventFileWriter(_dir.Path);
        Assert.That(string.CompareOrdinal(Path.GetFileName(w.FilePath), Path.GetFileName(foreign)), Is.GreaterThan(0));
        Assert.That(File.ReadAllBytes(foreign), Is.Empty);
    }

    [Test]
    public void ConcurrentWritesAllLand()
    {
        string path;
        using (var w = new EventFileWriter(_dir.Path))
        {
            path = w.FilePath;
            Parallel.For(0, 4, t =>
            {
                for (int i = 0; i < 250; i++) w.AddScalar($"t{t}", i, i);
            });
        }
        var points = EventFileReader.ReadScalars(path);
        Assert.That(points, Has.Count.EqualTo(1000));
        for (int t = 0; t < 4; t++)
            Assert.That(points.Where(p => p.Tag == $"t{t}").Select(p => p.Step), Is.EqualTo(Enumerable.Range(0, 250).Select(i => (long)i)));
    }

    [Test]
    public void UseAfterDisposeThrows()
    {
        var w = new EventFileWriter(_dir.Path);
        w.Dispose();
        w.Dispose();
        Assert.Throws<ObjectDisposedException>(() => w.AddScalar("x", 1, 0));
        Assert.Throws<ObjectDisposedException>(() => w.Flush());
    }
}
