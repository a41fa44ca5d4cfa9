using System.Text.Json;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using Google.Protobuf;
using NUnit.Framework;

namespace GraphDl.Tests.Runtime;

public class TraceTests
{
    [Test]
    public void FullTrace_RecordsEveryKernel_AndExportsRunMetadataAndChromeTrace()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
        var w = g.Variable(g.RandomNormal(Shape.Of(4, 3)), "w");
        var loss = g.Mean(g.Square(g.MatMul(x, w)));
        var train = new GraphDl.Train.GradientDescentOptimizer(0.1).Minimize(loss);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var feeds = new[] { (x, NDArray.From(new float[8], 2, 4)) };
        var trace = new StepTrace();
        s.Run([loss], feeds, [train], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        var plan = s.PlanFor([x], [loss], [train]);
        Assert.That(trace.Nodes.Select(n => n.Node), Is.EqualTo(plan.Steps.Select(st => st.Node!.Name)));
        Assert.That(trace.Nodes.All(n => n.DurationNanos > 0 && n.Device == "/cpu:0"));
        var mm = trace.Nodes.Single(n => n.OpType == "MatMul" && !n.Node.StartsWith("gradients"));
        Assert.That(mm.Outputs.Single().Dims, Is.EqualTo(new[] { 2, 3 }));
        Assert.That(mm.OutputBytes, Is.EqualTo(2 * 3 * 4));

        var meta = RunMetadata.Parser.ParseFrom(RunMetadataExport.ToRunMetadata(trace).ToByteArray());
        var stats = meta.StepStats.DevStats.Single();
        Assert.That(stats.Device, Does.EndWith("device:CPU:0"));
        Assert.That(stats.NodeStats.Select(n => n.NodeName), Is.EqualTo(trace.Nodes.Select(n => n.Node)));
        Assert.That(stats.NodeStats.All(n => n.AllEndRelMicros > 0));
        Assert.That(stats.NodeStats.Single(n => n.NodeName == mm.Node).Memory.Single().TotalBytes, Is.EqualTo(24));

        using var doc = JsonDocument.Parse(RunMetadataExport.ToChromeTrace(trace));
        var events = doc.RootElement.GetProperty("traceEvents").EnumerateArray().Where(e => e.GetProperty("ph").GetString() == "X").ToList();
        Assert.That(events, Has.Count.EqualTo(trace.Nodes.Count));
        Assert.That(events.All(e => e.GetProperty("dur").GetDouble() > 0 && e.GetProperty("ts").GetDouble() >= 0));

        // an untraced run records nothing and the options are optional
        var none = new StepTrace();
        s.Run([loss], feeds, [train], new RunOptions(), none);
        Assert.That(none.Nodes, Is.Empty);
    }

    [Test]
    public void RunMetadata_WrittenToAnEventFile_ReadsBack()
    {
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Of(2), "a");
        var y = g.Sum(a * 2.0);
        using var s = new Session(g);
        var trace = new StepTrace();
        s.Run([y], [(a, NDArray.From(new float[] { 1, 2 }))], [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        var dir = Path.Combine(Path.GetTempPath(), "graphdl-trace-" + Guid.NewGuid().ToString("N"));
        try
        {
            string path;
            using (var w = new EventFileWriter(dir))
            {
                w.AddEvent(new Event { Step = 5, TaggedRunMetadata = new TaggedRunMetadata { Tag = "step_5", RunMetadata = RunMetadataExport.ToRunMetadata(trace).ToByteString() } });
                path = w.FilePath;
            }
            var e = EventFileReader.ReadEvents(path).Single(ev => ev.TaggedRunMetadata != null);
            Assert.That(e.TaggedRunMetadata.Tag, Is.EqualTo("step_5"));
            var meta = RunMetadata.Parser.ParseFrom(e.TaggedRunMetadata.RunMetadata);
            Assert.That(meta.StepStats.DevStats[0].NodeStats.Select(n => n.NodeName), Does.Contain("Sum"));
        }
        finally { Directory.Delete(dir, true); }
    }
}
