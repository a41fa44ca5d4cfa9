using GraphDl.Cuda;
using GraphDl.Cuda.Kernels;
using GraphDl.Examples;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>Runs examples in-process into a scratch log folder and reads their event files back.</summary>
internal sealed class ExampleRun : IDisposable
{
    public ExampleRun()
    {
        LogDir = Path.Combine(Path.GetTempPath(), "graphdl-examples-" + Guid.NewGuid().ToString("N"));
    }

    public string LogDir { get; }

    public StringWriter Output { get; } = new();

    /// <summary>Runs <c>args</c> plus <c>--log-dir</c> and returns the result; the printed text is in <see cref="Output"/>.</summary>
    public ExampleResult Run(params string[] args)
    {
        var result = ExampleProgram.RunExample([.. args, "--log-dir", LogDir], Output);
        TestContext.Out.WriteLine(result.ToString());
        return result;
    }

    /// <summary>The last scalar of each tag in one event folder, checking every value of every tag is finite.</summary>
    public static Dictionary<string, double> LastScalars(string dir)
    {
        var points = EventFileReader.ReadScalars(dir);
        foreach (var p in points)
            Assert.That(double.IsFinite(p.Value), $"{dir}: {p.Tag} at step {p.Step} is {p.Value}");
        return points.GroupBy(p => p.Tag).ToDictionary(grp => grp.Key, grp => grp.Last().Value);
    }

    /// <summary>The Markdown of the <c>hparams</c> text summary in one event folder.</summary>
    public static string Hparams(string dir)
    {
        string file = Directory.EnumerateFiles(dir).Single(f => Path.GetFileName(f).Contains("tfevents", StringComparison.Ordinal));
        foreach (var e in EventFileReader.ReadEvents(file))
            if (e.WhatCase == Event.WhatOneofCase.Summary)
                foreach (var v in e.Summary.Value)
                    if (v.Tag == "hparams")
                        return v.Tensor.StringVal[0].ToStringUtf8();
        Assert.Fail($"{dir} has no hparams text");
        return "";
    }

    /// <summary>The folder's event file holds exactly one graph, a well-formed GraphDef (no dangling inputs, no duplicate
    /// names), and <c>weights/*</c> histograms whose buckets add up.</summary>
    public static void AssertGraphAndHistograms(string dir, bool histograms = true)
    {
        string file = Directory.EnumerateFiles(dir).Single(f => Path.GetFileName(f).Contains("tfevents", StringComparison.Ordinal));
        var events = EventFileReader.ReadEvents(file, tolerateTruncatedTail: false).ToList();
        var graph = events.Where(e => e.WhatCase == Event.WhatOneofCase.GraphDef).ToList();
        Assert.That(graph, Has.Count.EqualTo(1), $"{dir}: one graph_def event");
        var def = GraphDef.Parser.ParseFrom(graph[0].GraphDef);
        Assert.That(def.Node, Is.Not.Empty);
        Assert.That(GraphDefExport.Validate(def), Is.Empty, dir);
        if (!histograms) return;
        var histos = events.Where(e => e.WhatCase == Event.WhatOneofCase.Summary)
            .SelectMany(e => e.Summary.Value).Where(v => v.Histo != null).ToList();
        Assert.That(histos.Select(h => h.Tag), Has.Some.StartsWith("weights/"), dir);
        foreach (var h in histos)
            Assert.That(h.Histo.Bucket.Sum(), Is.EqualTo(h.Histo.Num), h.Tag);
    }

    /// <summary>The folder's event file holds the traced first update as run metadata <c>step_1</c> (step 1, node stats for
    /// every kernel that ran), and <c>trace.json</c> beside it is Chrome trace JSON of the same kernels.</summary>
    public static void AssertTracedStep(string dir)
    {
        string file = Directory.EnumerateFiles(dir).Single(f => Path.GetFileName(f).Contains("tfevents", StringComparison.Ordinal));
        var tagged = EventFileReader.ReadEvents(file, tolerateTruncatedTail: false)
            .Where(e => e.WhatCase == Event.WhatOneofCase.TaggedRunMetadata).ToList();
        Assert.That(tagged.Select(e => (e.TaggedRunMetadata.Tag, e.Step)), Is.EqualTo(new[] { ("step_1", 1L) }), dir);
        var meta = RunMetadata.Parser.ParseFrom(tagged[0].TaggedRunMetadata.RunMetadata);
        var nodes = meta.StepStats.DevStats.SelectMany(d => d.NodeStats).ToList();
        Assert.That(nodes, Is.Not.Empty, dir);
        Assert.That(meta.StepStats.DevStats.Select(d => d.Device), Has.All.StartWith("/job:localhost/replica:0/task:0/device:"), dir);
        Assert.That(nodes.Select(n => n.TimelineLabel), Has.Some.StartsWith("Apply").Or.Some.StartsWith("Assign"), dir); // the update ran

        string tracePath = Path.Combine(dir, RunLog.TraceFileName);
        Assert.That(File.Exists(tracePath), tracePath);
        using var trace = System.Text.Json.JsonDocument.Parse(File.ReadAllText(tracePath));
        var kernels = trace.RootElement.GetProperty("traceEvents").EnumerateArray()
            .Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        Assert.That(kernels.Select(k => k.GetProperty("name").GetString()), Is.EqualTo(nodes.Select(n => n.NodeName)), tracePath);
        Assert.That(kernels.Select(k => k.GetProperty("dur").GetDouble()), Has.All.GreaterThanOrEqualTo(0), tracePath);
    }

    /// <summary>Ops of <paramref name="result"/>'s graphs that have no GPU kernel and are not named in the checked-in
    /// list of CPU-only ops (<see cref="CpuOnlyOps.Reasons"/>).</summary>
    public static IReadOnlyList<string> OpsWithoutGpuKernel(ExampleResult result) =>
        result.OpTypes.Where(op => !GpuKernels.Has(op) && !CpuOnlyOps.Reasons.ContainsKey(op)).Select(op => op.Name).ToList();

    /// <summary>Every op of every graph the example opened a session on has a GPU kernel or is in the checked-in list of
    /// CPU-only ops, so <c>--device /gpu:N</c> places all the rest of the example on the GPU.</summary>
    public static void AssertGpuKernelsCover(ExampleResult result)
    {
        Assert.That(result.OpTypes, Is.Not.Empty, $"{result.Example}: no session was opened through ExampleContext.NewSession");
        var missing = OpsWithoutGpuKernel(result);
        Assert.That(missing, Is.Empty,
            $"{result.Example} uses ops with neither a GPU kernel (GpuKernels) nor an entry in CpuOnlyOps.Reasons: {string.Join(", ", missing)}");
    }

    public void Dispose()
    {
        try { Directory.Delete(LogDir, recursive: true); } catch (IOException) { }
    }
}
