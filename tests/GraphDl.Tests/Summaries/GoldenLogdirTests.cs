using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

/// <summary>Reads the logdir written by TensorBoard's own writer (Golden/tensorboard-logdir, see its README).</summary>
public sealed class GoldenLogdirTests
{
    static readonly string LogDir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "tensorboard-logdir");
    static readonly string Train = Path.Combine(LogDir, "train", "events.out.tfevents.1795713133.vm.21732.0");
    static readonly string Eval = Path.Combine(LogDir, "eval", "events.out.tfevents.1795713133.vm.21732.1");

    [Test]
    public void FindsBothRunsAndTheirFiles()
    {
        Assert.That(EventFileReader.Runs(LogDir), Is.EqualTo(new[] { "eval", "train" }));
        Assert.That(EventFileReader.FindEventFiles(LogDir), Is.EqualTo(new[] { Eval, Train }));
    }

    [Test]
    public void EveryRecordIsIntactAndStartsWithFileVersion()
    {
        var train = EventFileReader.ReadEvents(Train, tolerateTruncatedTail: false).ToList();
        var eval = EventFileReader.ReadEvents(Eval, tolerateTruncatedTail: false).ToList();
        Assert.That(train, Has.Count.EqualTo(39));
        Assert.That(eval, Has.Count.EqualTo(4));
        Assert.That(train[0].FileVersion, Is.EqualTo("brain.Event:2"));
        Assert.That(eval[0].FileVersion, Is.EqualTo("brain.Event:2"));
    }

    [Test]
    public void LegacyScalars()
    {
        var loss = EventFileReader.ReadScalars(Train, "loss");
        Assert.That(loss.Select(p => p.Step), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (long)i)));
        Assert.That(loss.Select(p => p.Value), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (double)(float)(1.0 / (i + 1)))));

        var lr = EventFileReader.ReadScalars(Train, "learning_rate");
        Assert.That(lr.Select(p => p.Value), Is.EqualTo(new[]
        {
            0.10000000149011612, 0.09000000357627869, 0.08100000023841858, 0.07289999723434448, 0.06560999900102615,
            0.05904899910092354, 0.053144101053476334, 0.04782969132065773, 0.04304672032594681, 0.038742050528526306,
        }));

        var evalLoss = EventFileReader.ReadScalars(Eval);
        Assert.That(evalLoss.Select(p => (p.Tag, p.Step, p.Value)), Is.EqualTo(new[]
        {
            ("loss", 0L, 1.2000000476837158), ("loss", 5L, 0.20000000298023224), ("loss", 9L, 0.11999999731779099),
        }));
    }

    [Test]
    public void TensorFormScalars()
    {
        var acc = EventFileReader.ReadScalars(Train, "accuracy");
        Assert.That(acc.Select(p => p.Step), Is.EqualTo(Enumerable.Range(0, 10).Select(i => (long)i)));
        Assert.That(acc.Select(p => p.Value), Is.EqualTo(new[]
        {
            0.5, 0.5400000214576721, 0.5799999833106995, 0.6200000047683716, 0.6600000262260437,
            0.699999988079071, 0.7400000095367432, 0.7799999713897705, 0.8199999928474426, 0.8600000143051147,
        }));
        // Only scalar series: histograms, images and text in the same file are not scalars.
        Assert.That(EventFileReader.ReadScalars(Train).Select(p => p.Tag).Distinct(),
            Is.EquivalentTo(new[] { "loss", "learning_rate", "accuracy" }));
        Assert.That(EventFileReader.ReadScalars(Train), Has.Count.EqualTo(30));
    }

    [Test]
    public void Text()
    {
        var notes = Values(Train, "notes").ToList();
        Assert.That(notes.Select(x => x.Step), Is.EqualTo(new long[] { 0, 5 }));
        var first = notes[0].Value;
        Assert.That(first.Metadata.PluginData.PluginName, Is.EqualTo("text"));
        Assert.That(first.Tensor.Dtype, Is.EqualTo(DataType.DtString));
        Assert.That(first.Tensor.TensorShape.Dim, Is.Empty);
        Assert.That(first.Tensor.StringVal.Single().ToStringUtf8(), Is.EqualTo("step **0** done — ünïcode ok"));

        var table = Values(Train, "table").First().Value.Tensor;
        Assert.That(table.TensorShape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(table.StringVal, Has.Count.EqualTo(4));
        Assert.That(table.StringVal[0].ToStringUtf8(), Is.EqualTo("a"));
    }

    [Test]
    public void LegacyHistogramAndImage()
    {
        var h = Values(Train, "layer1/weights").First().Value.Histo;
        Assert.That(h.Min, Is.EqualTo(-2.5529898158340787));
        Assert.That(h.Max, Is.EqualTo(2.383144774863942));
        Assert.That(h.Num, Is.EqualTo(200));
        Assert.That(h.Sum, Is.EqualTo(14.18209862823224));
        Assert.That(h.Bucket, Has.Count.EqualTo(88));
        Assert.That(h.BucketLimit, Has.Count.EqualTo(88));
        Assert.That(h.Bucket.Sum(), Is.EqualTo(h.Num));

        var tensorHisto = Values(Train, "layer1/activations").First().Value;
        Assert.That(tensorHisto.Metadata.PluginData.PluginName, Is.EqualTo("histograms"));
        Assert.That(tensorHisto.Tensor.TensorShape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { 8, 3 }));
        Assert.That(tensorHisto.Tensor.TensorContent.Length, Is.EqualTo(8 * 3 * sizeof(double)));

        var img = Values(Train, "samples/input").First().Value.Image;
        Assert.That((img.Width, img.Height, img.Colorspace), Is.EqualTo((12, 8, 3)));
        Assert.That(img.EncodedImageString.Length, Is.EqualTo(109));
        Assert.That(img.EncodedImageString.Span[1..4].ToArray(), Is.EqualTo("PNG"u8.ToArray()));
    }

    [Test]
    public void GraphDef()
    {
        var e = EventFileReader.ReadEvents(Train).Single(x => x.WhatCase == Event.WhatOneofCase.GraphDef);
        var g = GraphDl.Summaries.Proto.GraphDef.Parser.ParseFrom(e.GraphDef);
        Assert.That(g.Node.Select(n => $"{n.Name}={n.Op}({string.Join(",", n.Input)})"), Is.EqualTo(new[]
        {
            "input/x=Placeholder()", "layer1/W=Const()", "layer1/b=Const()",
            "layer1/MatMul=MatMul(input/x,layer1/W)", "layer1/add=AddV2(layer1/MatMul,layer1/b)",
            "layer1/Relu=Relu(layer1/add)", "loss/Mean/reduction_indices=Const()",
            "loss/Mean=Mean(layer1/Relu,loss/Mean/reduction_indices)", "init=NoOp(^layer1/W,^layer1/b)",
        }));
        Assert.That(g.Node.Select(n => n.Device).Distinct(), Is.EqualTo(new[] { "/job:localhost/replica:0/task:0/device:CPU:0", "" }));
        Assert.That(g.Node.Last().Device, Is.Empty); // init carries no device
        var matmul = g.Node[3];
        Assert.That(matmul.Attr.Keys, Is.EquivalentTo(new[] { "T", "_output_shapes", "transpose_a", "transpose_b" }));
        Assert.That(matmul.Attr["T"].Type, Is.EqualTo(DataType.DtFloat));
        Assert.That(matmul.Attr["_output_shapes"].List.Shape, Has.Count.EqualTo(1));
    }

    [Test]
    public void TaggedRunMetadata()
    {
        var e = EventFileReader.ReadEvents(Train).Single(x => x.WhatCase == Event.WhatOneofCase.TaggedRunMetadata);
        Assert.That(e.Step, Is.EqualTo(5));
        Assert.That(e.TaggedRunMetadata.Tag, Is.EqualTo("step5"));
        var rm = RunMetadata.Parser.ParseFrom(e.TaggedRunMetadata.RunMetadata);
        var dev = rm.StepStats.DevStats.Single();
        Assert.That(dev.Device, Is.EqualTo("/job:localhost/replica:0/task:0/device:CPU:0"));
        Assert.That(dev.NodeStats.Select(n => n.NodeName), Is.EqualTo(new[]
        {
            "input/x", "layer1/W", "layer1/b", "layer1/MatMul", "layer1/add", "layer1/Relu", "loss/Mean/reduction_indices", "loss/Mean",
        }));
        var first = dev.NodeStats[0];
        Assert.That((first.AllStartMicros, first.OpStartRelMicros, first.OpEndRelMicros, first.AllEndRelMicros),
            Is.EqualTo((1795713139000000L, 1L, 5L, 6L)));
        Assert.That(first.TimelineLabel, Is.EqualTo("Placeholder"));
        Assert.That((first.Memory.Single().AllocatorName, first.Memory.Single().TotalBytes, first.Memory.Single().PeakBytes),
            Is.EqualTo(("cpu", 64L, 64L)));
        var output = first.Output.Single().TensorDescription;
        Assert.That(output.Dtype, Is.EqualTo(DataType.DtFloat));
        Assert.That(output.Shape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { 2, 3 }));
        Assert.That(dev.NodeStats[^1].Memory.Single().TotalBytes, Is.EqualTo(512));
    }

    static IEnumerable<(long Step, Summary.Types.Value Value)> Values(string path, string tag) =>
        EventFileReader.ReadEvents(path)
            .Where(e => e.WhatCase == Event.WhatOneofCase.Summary)
            .SelectMany(e => e.Summary.Value.Where(v => v.Tag == tag).Select(v => (e.Step, v)));
}
