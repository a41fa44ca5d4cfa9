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

    public void Dispose()
    {
        try { Directory.Delete(LogDir, recursive: true); } catch (IOException) { }
    }
}
