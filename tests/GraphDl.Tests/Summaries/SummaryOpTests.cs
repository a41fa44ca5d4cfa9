using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;
using ProtoSummary = GraphDl.Summaries.Proto.Summary;

namespace GraphDl.Tests.Summaries;

/// <summary>The summary ops: what they serialize, their node names and collections, and their errors.</summary>
public sealed class SummaryOpTests
{
    static ProtoSummary Run(Graph g, Tensor summary, params (Tensor, NDArray)[] feeds)
    {
        using var s = new Session(g);
        var value = s.Run(summary, feeds);
        Assert.That(value.DType, Is.EqualTo(DType.String));
        Assert.That(value.Rank, Is.Zero);
        return SummaryBytes.Parse(value);
    }

    [Test]
    public void Scalar_SimpleValueNoMetadata_NamedLikeTf1()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Scalar, "x");
        var sum = g.ScalarSummary("train/loss", x * 2.0);
        Assert.That(sum.Op.Type, Is.EqualTo("ScalarSummary"));
        Assert.That(sum.Op.Name, Is.EqualTo("train/loss"));
        Assert.That(sum.Op.Inputs[0].Op.Name, Is.EqualTo("train/loss/tags"));
        Assert.That(g.GetCollection<Tensor>(GraphKeys.Summaries), Is.EqualTo(new[] { sum }));
        var s = Run(g, sum, (x, NDArray.Scalar(0.25)));
        var v = s.Value.Single();
        Assert.That((v.Tag, v.SimpleValue, v.Metadata), Is.EqualTo(("train/loss", 0.5f, (SummaryMetadata?)null)));
    }

    [Test]
    public void Scalar_RejectsNonScalarAndNonNumeric()
    {
        var g = new Graph();
        Assert.Throws<GraphBuildException>(() => g.ScalarSummary("v", g.Placeholder(DType.Float32, Shape.Of(3))));
        Assert.That(() => g.ScalarSummary("s", g.Const(NDArray.Scalar("no"))), Throws.InstanceOf<GraphBuildException>().With.Message.Contain("numeric"));
    }

    [Test]
    public void DefaultBucketLimits_AreTfs()
    {
        var l = Histograms.DefaultLimits.ToArray();
        Assert.That(l[0], Is.EqualTo(-double.MaxValue));
        Assert.That(l[^1], Is.EqualTo(double.MaxValue));
        int zero = Array.IndexOf(l, 0.0);
        Assert.That(zero, Is.EqualTo(l.Length / 2));
        Assert.That(l[zero + 1], Is.EqualTo(1e-12));
        Assert.That(l[zero - 1], Is.EqualTo(-1e-12));
        for (int i = 1; i < l.Length; i++) Assert.That(l[i], Is.GreaterThan(l[i - 1]));
        for (int i = 0; i < zero; i++) Assert.That(l[i], Is.EqualTo(-l[^(i + 1)]));
        Assert.That(l[^2], Is.LessThan(1e20).And.GreaterThan(1e20 / 1.1));
        Assert.That(l.Length, Is.EqualTo(1551)); // per side: 1e-12·1.1^k for k = 0..773, then DBL_MAX; plus zero
    }

    [Test]
    public void Histogram_ExactStatsAndConsistentBuckets()
    {
        var rng = new Random(3);
        var data = Enumerable.Range(0, 500).Select(_ => (float)(rng.NextDouble() * 6 - 2)).Append(0f).Append(0f).ToArray();
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        var h = Run(g, g.HistogramSummary("weights/w", x), (x, NDArray.From(data))).Value.Single();
        Assert.That(h.Tag, Is.EqualTo("weights/w"));
        var p = h.Histo;
        double[] d = data.Select(v => (double)v).ToArray();
        Assert.That(p.Min, Is.EqualTo(d.Min()));
        Assert.That(p.Max, Is.EqualTo(d.Max()));
        Assert.That(p.Num, Is.EqualTo(d.Length));
        double sum = 0, sq = 0;
        foreach (var v in d) { sum += v; sq += v * v; }
        Assert.That((p.Sum, p.SumSquares), Is.EqualTo((sum, sq)));
        Assert.That(p.Bucket.Count, Is.EqualTo(p.BucketLimit.Count));
        Assert.That(p.Bucket.Sum(), Is.EqualTo(p.Num));
        for (int i = 1; i < p.BucketLimit.Count; i++) Assert.That(p.BucketLimit[i], Is.GreaterThan(p.BucketLimit[i - 1]));
        // Reference: counts of the uncollapsed default buckets, bucket i = [limit[i-1], limit[i]).
        var limits = Histograms.DefaultLimits.ToArray();
        var reference = new double[limits.Length];
        foreach (var v in d) reference[Array.FindIndex(limits, l => l > v)]++;
        // Every non-empty bucket appears with its own limit; runs of empty buckets collapse to one zero bucket.
        var nonEmpty = Enumerable.Range(0, limits.Length).Where(i => reference[i] > 0).Select(i => (limits[i], reference[i])).ToList();
        Assert.That(p.BucketLimit.Zip(p.Bucket).Where(b => b.Second > 0), Is.EqualTo(nonEmpty));
        for (int i = 1; i < p.Bucket.Count; i++) Assert.That(p.Bucket[i] > 0 || p.Bucket[i - 1] > 0, "two empty buckets in a row");
        Assert.That(p.BucketLimit[^1], Is.EqualTo(double.MaxValue)); // trailing empty run ends at DBL_MAX
    }

    [Test]
    public void Histogram_EmptyAndNaN()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(-1), "x");
        var sum = g.HistogramSummary("h", x);
        Assert.That((sum.Op.Name, sum.Op.Inputs[0].Op.Name), Is.EqualTo(("h", "h/tag")));
        var p = Run(g, sum, (x, NDArray.From(Array.Empty<double>()))).Value.Single().Histo;
        Assert.That((p.Num, p.Min, p.Max), Is.EqualTo((0.0, double.MaxValue, -double.MaxValue)));
        Assert.That(p.BucketLimit, Is.EqualTo(new[] { double.MaxValue }));
        Assert.That(p.Bucket, Is.EqualTo(new[] { 0.0 }));
        using var s = new Session(g);
        Assert.That(() => s.Run(sum, (x, NDArray.From(new[] { 1.0, double.NaN }))),
            Throws.InstanceOf<SessionRunException>().With.Message.Contain("Nan in summary histogram for: h"));
    }

    [Test]
    public void Image_BatchOfRgbUint8_TagsAndPixels()
    {
        var pixels = new byte[4 * 5 * 6 * 3];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (byte)(i * 37 % 256);
        var g = new Graph();
        var sum = g.ImageSummary("samples/input", g.Const(NDArray.From(pixels, 4, 5, 6, 3)));
        Assert.That(sum.Op.Attrs.Int("max_images"), Is.EqualTo(3));
        Assert.That((sum.Op.Name, sum.Op.Inputs[0].Op.Name), Is.EqualTo(("samples/input", "samples/input/tag")));
        var values = Run(g, sum).Value;
        Assert.That(values.Select(v => v.Tag), Is.EqualTo(new[] { "samples/input/image/0", "samples/input/image/1", "samples/input/image/2" }));
        for (int i = 0; i < 3; i++)
        {
            var img = values[i].Image;
            Assert.That((img.Height, img.Width, img.Colorspace), Is.EqualTo((5, 6, 3)));
            var decoded = PngDecoder.Decode(img.EncodedImageString.Span);
            Assert.That((decoded.Width, decoded.Height, decoded.Channels), Is.EqualTo((6, 5, 3)));
            Assert.That(decoded.Pixels, Is.EqualTo(pixels.AsSpan(i * 90, 90).ToArray()));
        }
    }

    [Test]
    public void Image_SingleGrayFloat_NormalizedLikeTf()
    {
        // All ≥ 0: scaled so the max is 255. One image with max_images 1: tag "name/image".
        var img = new[] { 0f, 0.25f, 0.5f, 1f, 2f, 0f };
        var g = new Graph();
        var values = Run(g, g.ImageSummary("digit", g.Const(NDArray.From(img, 1, 2, 3, 1)), maxOutputs: 1)).Value;
        Assert.That(values.Single().Tag, Is.EqualTo("digit/image"));
        var decoded = PngDecoder.Decode(values[0].Image.EncodedImageString.Span);
        Assert.That(decoded.Channels, Is.EqualTo(1));
        Assert.That(decoded.Pixels, Is.EqualTo(new byte[] { 0, 31, 63, 127, 255, 0 }));

        // Negative values: scaled by 127/max|v| and shifted by 128; non-finite pixels are red.
        var neg = new[] { -1.0, 0.0, 0.5, double.NaN, 1.0, 0.0 };
        var g2 = new Graph();
        var v2 = Run(g2, g2.ImageSummary("n", g2.Const(NDArray.From(neg, 2, 1, 1, 3)))).Value;
        Assert.That(v2.Select(v => v.Tag), Is.EqualTo(new[] { "n/image/0", "n/image/1" }));
        Assert.That(PngDecoder.Decode(v2[0].Image.EncodedImageString.Span).Pixels, Is.EqualTo(new byte[] { 1, 128, 191 }));
        Assert.That(PngDecoder.Decode(v2[1].Image.EncodedImageString.Span).Pixels, Is.EqualTo(new byte[] { 255, 0, 0 }));
    }

    [Test]
    public void Image_RejectsBadShapes()
    {
        var g = new Graph();
        Assert.Throws<GraphBuildException>(() => g.ImageSummary("x", g.Placeholder(DType.Float32, Shape.Of(2, 3, 4))));
        Assert.Throws<GraphBuildException>(() => g.ImageSummary("x", g.Placeholder(DType.Float32, Shape.Of(2, 3, 4, 2))));
        Assert.Throws<GraphBuildException>(() => g.ImageSummary("x", g.Placeholder(DType.Int32, Shape.Of(2, 3, 4, 1))));
    }

    [Test]
    public void Text_TensorSummaryV2WithTextPlugin()
    {
        var g = new Graph();
        var t = g.Placeholder(DType.String, Shape.Of(2, 2), "t");
        var sum = g.TextSummary("table", t);
        Assert.That(sum.Op.Type, Is.EqualTo("TensorSummaryV2"));
        Assert.That(sum.Op.Inputs.Select(i => i.Op.Name), Is.EqualTo(new[] { "table/tag", "t", "table/serialized_summary_metadata" }));
        Assert.That(sum.Op.Name, Is.EqualTo("table"));
        var v = Run(g, sum, (t, NDArray.From(new[] { "a", "b", "c", "ünï — ok" }, 2, 2))).Value.Single();
        Assert.That(v.Tag, Is.EqualTo("table"));
        Assert.That(v.Metadata.PluginData.PluginName, Is.EqualTo("text"));
        Assert.That(v.Tensor.Dtype, Is.EqualTo(DataType.DtString));
        Assert.That(v.Tensor.TensorShape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { 2, 2 }));
        Assert.That(v.Tensor.StringVal.Select(s => s.ToStringUtf8()), Is.EqualTo(new[] { "a", "b", "c", "ünï — ok" }));
        Assert.Throws<GraphBuildException>(() => g.TextSummary("x", g.Scalar(1, DType.Float32)));
    }

    [Test]
    public void MergeAll_ConcatenatesInOrder_AndFileWriterWritesTheBytes()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(3), "x");
        g.ScalarSummary("mean", g.Mean(x));
        g.HistogramSummary("x", x);
        g.TextSummary("note", g.Const(NDArray.Scalar("hi")));
        var merged = g.MergeAllSummaries()!;
        Assert.That(merged.Op.Type, Is.EqualTo("MergeSummary"));
        Assert.That(merged.Op.Attrs.Int("N"), Is.EqualTo(3));
        using var s = new Session(g);
        var bytes = s.Run(merged, (x, NDArray.From(new[] { 1f, 2f, 6f })));
        var summary = SummaryBytes.Parse(bytes);
        Assert.That(summary.Value.Select(v => v.Tag), Is.EqualTo(new[] { "mean", "x", "note" }));
        Assert.That(summary.Value[0].SimpleValue, Is.EqualTo(3f));

        using var dir = new TempDir();
        string file;
        using (var w = new FileWriter(dir.Path))
        {
            w.AddSummary(bytes, 7);
            w.AddSummary(bytes.AsSpan<string>()[0], 8);
            w.AddSummary(SummaryBytes.ToBytes(bytes.AsSpan<string>()[0]), 9);
            file = w.FilePath;
        }
        var events = EventFileReader.ReadEvents(file).Skip(1).ToList();
        Assert.That(events.Select(e => e.Step), Is.EqualTo(new long[] { 7, 8, 9 }));
        Assert.That(events.Select(e => e.Summary), Has.All.EqualTo(summary));
        Assert.That(new Graph().MergeAllSummaries(), Is.Null);
    }

    [Test]
    public void Merge_DuplicateTagIsAnError()
    {
        var g = new Graph();
        var a = g.ScalarSummary("loss", g.Scalar(1, DType.Float32));
        var b = g.ScalarSummary("loss", g.Scalar(2, DType.Float32));
        Assert.That((a.Op.Name, b.Op.Name), Is.EqualTo(("loss", "loss_1")));
        Assert.That(b.Op.Inputs[0].Op.Name, Is.EqualTo("loss_1/tags"));
        using var s = new Session(g);
        Assert.That(() => s.Run(g.MergeSummary([a, b])), Throws.InstanceOf<SessionRunException>().With.Message.Contain("Duplicate tag loss"));
    }

    [Test]
    public void SummaryBytes_RoundTripEveryByte()
    {
        var all = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        Assert.That(SummaryBytes.ToBytes(SummaryBytes.ToString(all)), Is.EqualTo(all));
        Assert.Throws<ArgumentException>(() => SummaryBytes.ToBytes("€"));
    }
}
