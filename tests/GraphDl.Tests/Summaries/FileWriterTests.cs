using System.Diagnostics;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

/// <summary>The background <see cref="FileWriter"/>: ordering, flushing, graph and run metadata, and a writer killed mid-write.</summary>
public sealed class FileWriterTests
{
    TempDir _dir = null!;

    [SetUp]
    public void Setup() => _dir = new TempDir();

    [TearDown]
    public void Cleanup() => _dir.Dispose();

    [Test]
    public void FileVersionFirst_ThenGraph_ThenEventsInOrder()
    {
        var g = GraphDefExportTests.GoldenGraph();
        string path;
        using (var w = new FileWriter(_dir.Path, g, maxQueue: 2))
        {
            path = w.FilePath;
            Assert.That(Path.GetFileName(path), Does.StartWith("events.out.tfevents."));
            for (int i = 0; i < 100; i++) w.AddScalar("loss", 1.0 / (i + 1), i);
            w.AddText("hparams", "| a | b |", 0);
            w.AddHistogram("weights/w", new[] { 1.0, 2.0, 3.0 }, 5);
        }
        var events = EventFileReader.ReadEvents(path, tolerateTruncatedTail: false).ToList();
        Assert.That(events[0].FileVersion, Is.EqualTo("brain.Event:2"));
        Assert.That(events[1].WhatCase, Is.EqualTo(Event.WhatOneofCase.GraphDef));
        Assert.That(GraphDef.Parser.ParseFrom(events[1].GraphDef), Is.EqualTo(GraphDefExport.ToGraphDef(g)));
        var loss = EventFileReader.ReadScalars(path, "loss");
        Assert.That(loss.Select(p => p.Step), Is.EqualTo(Enumerable.Range(0, 100).Select(i => (long)i)));
        Assert.That(events.Select(e => e.WallTime), Is.Ordered);
        Assert.That(events[^2].Summary.Value[0].Tensor.StringVal[0].ToStringUtf8(), Is.EqualTo("| a | b |"));
        Assert.That(events[^1].Summary.Value[0].Histo.Num, Is.EqualTo(3));
        // The first value of a tag names its plugin; later ones do not repeat it.
        Assert.That(events[2].Summary.Value[0].Metadata.PluginData.PluginName, Is.EqualTo("scalars"));
        Assert.That(events[3].Summary.Value[0].Metadata, Is.Null);
    }

    [Test]
    public void Flush_MakesEverythingAddedVisible_WithoutClosing()
    {
        using var w = new FileWriter(_dir.Path, flushInterval: TimeSpan.FromHours(1));
        for (int i = 0; i < 50; i++) w.AddScalar("x", i, i);
        w.Flush();
        Assert.That(EventFileReader.ReadScalars(w.FilePath, "x"), Has.Count.EqualTo(50));
    }

    [Test]
    public void PeriodicFlush()
    {
        using var w = new FileWriter(_dir.Path, flushInterval: TimeSpan.FromMilliseconds(50));
        w.AddScalar("x", 1, 1);
        var clock = Stopwatch.StartNew();
        while (EventFileReader.ReadScalars(w.FilePath, "x").Count == 0 && clock.Elapsed < TimeSpan.FromSeconds(10)) Thread.Sleep(20);
        Assert.That(EventFileReader.ReadScalars(w.FilePath, "x"), Has.Count.EqualTo(1));
    }

    [Test]
    public void TwoWritersNeverShareAFile_AndDisposeTwiceIsFine()
    {
        var a = new FileWriter(_dir.Path);
        var b = new FileWriter(_dir.Path);
        Assert.That(a.FilePath, Is.Not.EqualTo(b.FilePath));
        Assert.That(string.CompareOrdinal(Path.GetFileName(b.FilePath), Path.GetFileName(a.FilePath)), Is.GreaterThan(0));
        a.Dispose(); a.Dispose(); b.Dispose();
        Assert.Throws<ObjectDisposedException>(() => a.AddScalar("x", 1, 1));
    }

    [Test]
    public void RunMetadata_TaggedOnce()
    {
        var meta = new RunMetadata { StepStats = new StepStats() };
        meta.StepStats.DevStats.Add(new DeviceStepStats { Device = "/job:localhost/replica:0/task:0/device:CPU:0" });
        string path;
        using (var w = new FileWriter(_dir.Path))
        {
            path = w.FilePath;
            w.AddRunMetadata(meta, "step_5", 5);
            Assert.Throws<ArgumentException>(() => w.AddRunMetadata(meta, "step_5", 6));
        }
        var e = EventFileReader.ReadEvents(path).Single(x => x.WhatCase == Event.WhatOneofCase.TaggedRunMetadata);
        Assert.That((e.Step, e.TaggedRunMetadata.Tag), Is.EqualTo((5L, "step_5")));
        Assert.That(RunMetadata.Parser.ParseFrom(e.TaggedRunMetadata.RunMetadata), Is.EqualTo(meta));
    }

    [Test]
    public void Images_LegacyPngValues()
    {
        var pixels = new byte[2 * 3 * 4 * 1];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 10);
        string path;
        using (var w = new FileWriter(_dir.Path))
        {
            path = w.FilePath;
            w.AddImages("inputs", NDArray.From(pixels, 2, 3, 4, 1), 1);
        }
        var values = EventFileReader.ReadEvents(path).Last().Summary.Value;
        Assert.That(values.Select(v => v.Tag), Is.EqualTo(new[] { "inputs/image/0", "inputs/image/1" }));
        Assert.That(PngDecoder.Decode(values[1].Image.EncodedImageString.Span).Pixels, Is.EqualTo(pixels[12..]));
    }

    [Test]
    public void KilledWriter_EveryFlushedRecordReadsBack()
    {
        string dll = typeof(ChildWriter).Assembly.Location;
        string host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h && File.Exists(h) ? h : "dotnet";
        var psi = new ProcessStartInfo(host) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("exec");
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("write-events");
        psi.ArgumentList.Add(_dir.Path);
        using var child = Process.Start(psi)!;
        long flushed = -1;
        string? file = null;
        try
        {
            var clock = Stopwatch.StartNew();
            while (flushed < 300 && clock.Elapsed < TimeSpan.FromSeconds(60))
            {
                string? line = child.StandardOutput.ReadLine();
                if (line is null) break;
                if (line.StartsWith("file ", StringComparison.Ordinal)) file = line[5..];
                if (line.StartsWith("flushed ", StringComparison.Ordinal)) flushed = long.Parse(line[8..]);
            }
        }
        finally
        {
            child.Kill(entireProcessTree: true);
            child.WaitForExit();
        }
        Assert.That(flushed, Is.GreaterThanOrEqualTo(300), "child stopped early: " + child.StandardError.ReadToEnd());
        Assert.That(file, Is.Not.Null);
        Assert.That(EventFileReader.FindEventFiles(_dir.Path), Is.EqualTo(new[] { file }));

        var events = EventFileReader.ReadEvents(file!).ToList(); // a torn last record ends reading quietly
        Assert.That(events[0].FileVersion, Is.EqualTo("brain.Event:2"));
        var steps = EventFileReader.ReadScalars(file!, "x").Select(p => p.Step).ToList();
        Assert.That(steps, Is.EqualTo(Enumerable.Range(0, steps.Count).Select(i => (long)i)), "records in order, none lost before the tear");
        Assert.That(steps.Count, Is.GreaterThan(flushed), "every flushed step reads back");
        var texts = events.Where(e => e.Summary?.Value[0].Tag == "t").Select(e => e.Step).ToList();
        Assert.That(texts.Count, Is.GreaterThan(flushed));
    }
}
