using GraphDl.Data;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Readme;

public class ReadmeTests
{
    static string Block(string text, string open, string close)
    {
        int a = text.IndexOf(open, StringComparison.Ordinal), b = a < 0 ? -1 : text.IndexOf(close, a + open.Length, StringComparison.Ordinal);
        Assert.That(a, Is.GreaterThanOrEqualTo(0), $"marker {open} missing");
        Assert.That(b, Is.GreaterThan(a), $"marker {close} missing");
        return text[(a + open.Length)..b].Trim().Replace("\r\n", "\n");
    }

    [Test]
    public void QuickStart_InTheReadme_IsTheProgramThisTestRuns()
    {
        string root = Path.GetDirectoryName(DataPaths.Find("README.md"))!;
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "README.md"));
        string source = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "tests", "GraphDl.Tests", "Readme", "QuickStart.cs"));
        var fromReadme = Block(readme, "```csharp", "```");
        var fromFile = Block(source, "// <quickstart>", "// </quickstart>");
        Assert.That(fromReadme, Is.EqualTo(fromFile));
    }

    [Test]
    public void TensorBoardSample_InTheReadme_IsTheProgramThisTestRuns()
    {
        string root = Path.GetDirectoryName(DataPaths.Find("README.md"))!;
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "README.md"));
        string source = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "tests", "GraphDl.Tests", "Readme", "TensorBoardSample.cs"));
        const string marker = "<!-- TensorBoardSample.cs -->";
        Assert.That(readme, Does.Contain(marker));
        var fromReadme = Block(readme[readme.IndexOf(marker, StringComparison.Ordinal)..], "```csharp", "```");
        var fromFile = Block(source, "// <tensorboard>", "// </tensorboard>");
        Assert.That(fromReadme, Is.EqualTo(fromFile));
    }

    [Test]
    public void TensorBoardSample_WritesGraphSummariesRunMetadataAndTrace()
    {
        string dir = Path.Combine(Path.GetTempPath(), "graphdl-readme-" + Guid.NewGuid().ToString("N"));
        try
        {
            TensorBoardSample.Run(dir);
            string run = Path.Combine(dir, "run1");
            Assert.That(EventFileReader.Runs(dir), Is.EqualTo(new[] { "run1" }));
            var events = EventFileReader.ReadEvents(EventFileReader.FindEventFiles(dir).Single(), tolerateTruncatedTail: false).ToList();
            var graph = GraphDef.Parser.ParseFrom(events.Single(e => e.WhatCase == Event.WhatOneofCase.GraphDef).GraphDef);
            Assert.That(GraphDefExport.Validate(graph), Is.Empty);
            var names = graph.Node.Select(n => n.Name).ToList();
            Assert.That(names, Has.Some.StartsWith("gradients/").And.Some.StartsWith("GradientDescent").And.Some.StartsWith("input/"));
            Assert.That(names, Does.Contain("train/loss").And.Contain("weights/linear/kernel").And.Contain("Merge/MergeSummary"));

            var loss = EventFileReader.ReadScalars(run, "train/loss");
            Assert.That(loss.Select(p => p.Step), Is.EqualTo(Enumerable.Range(1, 100).Select(i => (long)i)));
            Assert.That(loss[^1].Value, Is.LessThan(loss[0].Value / 100));
            Assert.That(EventFileReader.ReadScalars(run, "final/loss").Single().Step, Is.EqualTo(100));
            var histos = events.Where(e => e.WhatCase == Event.WhatOneofCase.Summary).SelectMany(e => e.Summary.Value)
                .Where(v => v.Histo != null).Select(v => v.Tag).Distinct();
            Assert.That(histos, Is.EquivalentTo(new[] { "weights/linear/kernel", "weights/linear/bias" }));

            var tagged = events.Single(e => e.WhatCase == Event.WhatOneofCase.TaggedRunMetadata);
            Assert.That((tagged.TaggedRunMetadata.Tag, tagged.Step), Is.EqualTo(("step_1", 1L)));
            Assert.That(RunMetadata.Parser.ParseFrom(tagged.TaggedRunMetadata.RunMetadata).StepStats.DevStats.SelectMany(d => d.NodeStats), Is.Not.Empty);
            using var trace = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(run, "trace.json")));
            Assert.That(trace.RootElement.GetProperty("traceEvents").GetArrayLength(), Is.GreaterThan(1));
        }
        finally
        {
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [Test]
    public void QuickStart_LearnsTheLine()
    {
        float loss = QuickStart.Run();
        Assert.That(loss, Is.LessThan(1e-3f));
    }
}
