using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;
using ProtoSummary = GraphDl.Summaries.Proto.Summary;
using Value = GraphDl.Summaries.Proto.Summary.Types.Value;

namespace GraphDl.Tests.Summaries;

/// <summary>
/// Rebuilds the golden logdir (written by TensorBoard's own code) with GraphDl's writer and compares the files event by
/// event, field by field. Legacy values (<c>simple_value</c>, <c>histo</c>, <c>image</c>) go through GraphDl's summary ops
/// run in a session; tensor-form values (plugins scalars, histograms, images, text) through <see cref="SummaryValues"/>.
/// Not compared: wall times, host and file names, the writer name in the first event, PNG bytes (images are compared by
/// decoded pixels), and the legacy histograms' <c>sum</c>/<c>sum_squares</c> (the golden file keeps only the buckets of its
/// random values, so the rebuild feeds stand-in values from each bucket: buckets, limits, min, max and num must match).
/// Two documented differences are mapped: TF1's image summary op tags a single image <c>tag/image</c> (the golden writer
/// used <c>tag</c>), and GraphDl writes TF 1.15's op type <c>Add</c> where the golden graph has TF 2's <c>AddV2</c>.
/// </summary>
public sealed class GoldenRebuildTests
{
    static readonly string LogDir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "tensorboard-logdir");

    [TestCase("train")]
    [TestCase("eval")]
    public void WriterRebuildsTheGoldenRun(string run)
    {
        string golden = EventFileReader.FindEventFiles(Path.Combine(LogDir, run)).Single();
        var want = EventFileReader.ReadEvents(golden, tolerateTruncatedTail: false).ToList();
        using var dir = new TempDir();
        string mine;
        using (var w = new FileWriter(Path.Combine(dir.Path, run)))
        {
            mine = w.FilePath;
            foreach (var e in want)
            {
                switch (e.WhatCase)
                {
                    case Event.WhatOneofCase.FileVersion: break; // the writer's own first record
                    case Event.WhatOneofCase.GraphDef: w.AddGraph(GraphDefExportTests.GoldenGraph(), e.Step); break;
                    case Event.WhatOneofCase.TaggedRunMetadata:
                        w.AddRunMetadata(RunMetadata.Parser.ParseFrom(e.TaggedRunMetadata.RunMetadata), e.TaggedRunMetadata.Tag, e.Step);
                        break;
                    case Event.WhatOneofCase.Summary: w.AddSummary(Rebuild(e.Summary), e.Step); break;
                    default: Assert.Fail($"unexpected event {e}"); break;
                }
            }
        }
        Assert.That(EventFileReader.Runs(dir.Path), Is.EqualTo(new[] { run }));
        var got = EventFileReader.ReadEvents(mine, tolerateTruncatedTail: false).ToList();
        Assert.That(got, Has.Count.EqualTo(want.Count));
        for (int i = 0; i < want.Count; i++)
        {
            var (a, b) = (Normalize(want[i]), Normalize(got[i]));
            if (a.WhatCase == Event.WhatOneofCase.GraphDef)
            {
                CompareGraphs(GraphDef.Parser.ParseFrom(a.GraphDef), GraphDef.Parser.ParseFrom(b.GraphDef));
                continue;
            }
            Assert.That(b, Is.EqualTo(a), $"event {i} (step {want[i].Step})");
        }
    }

    /// <summary>The same summary, built with GraphDl: legacy values by summary ops in a session, the rest by SummaryValues.</summary>
    static ProtoSummary Rebuild(ProtoSummary golden)
    {
        var g = new Graph();
        var feeds = new List<(Tensor, NDArray)>();
        var legacy = new List<Tensor>();
        foreach (var v in golden.Value)
        {
            switch (v.ValueCase)
            {
                case Value.ValueOneofCase.SimpleValue:
                {
                    var x = g.Placeholder(DType.Float32, Shape.Scalar, "value");
                    feeds.Add((x, NDArray.Scalar(v.SimpleValue)));
                    legacy.Add(g.ScalarSummary(v.Tag, x));
                    break;
                }
                case Value.ValueOneofCase.Histo:
                {
                    var x = g.Placeholder(DType.Float64, Shape.Of(-1), "values");
                    feeds.Add((x, NDArray.From(StandInValues(v.Histo))));
                    legacy.Add(g.HistogramSummary(v.Tag, x));
                    break;
                }
                case Value.ValueOneofCase.Image:
                {
                    var img = PngDecoder.Decode(v.Image.EncodedImageString.Span);
                    var x = g.Placeholder(DType.UInt8, Shape.Of(-1, img.Height, img.Width, img.Channels), "images");
                    feeds.Add((x, NDArray.From(img.Pixels, 1, img.Height, img.Width, img.Channels)));
                    legacy.Add(g.ImageSummary(v.Tag, x, maxOutputs: 1));
                    break;
                }
            }
        }
        var fromOps = new Dictionary<string, Value>(StringComparer.Ordinal);
        if (legacy.Count > 0)
        {
            using var s = new Session(g);
            var merged = s.Run(g.MergeAllSummaries()!, feeds.ToArray());
            foreach (var v in SummaryBytes.Parse(merged).Value)
                fromOps.Add(v.Image != null && v.Tag.EndsWith("/image", StringComparison.Ordinal) ? v.Tag[..^"/image".Length] : v.Tag, v);
        }
        var result = new ProtoSummary();
        foreach (var v in golden.Value)
        {
            Value built;
            if (v.ValueCase != Value.ValueOneofCase.Tensor)
            {
                built = fromOps[v.Tag].Clone();
                built.Tag = v.Tag; // TF1's op writes "tag/image" for a single image; the golden writer wrote "tag"
            }
            else
            {
                string plugin = v.Metadata.PluginData.PluginName;
                var t = v.Tensor;
                built = plugin switch
                {
                    "scalars" => SummaryValues.ScalarTensor(v.Tag, t.FloatVal.Single()),
                    "histograms" => SummaryValues.HistogramTensor(v.Tag, Rows(t)),
                    "images" => ImagesTensor(v),
                    "text" when t.TensorShape.Dim.Count == 0 => SummaryValues.Text(v.Tag, t.StringVal.Single().ToStringUtf8()),
                    "text" => SummaryValues.TextTensor(v.Tag, t.StringVal.Select(b => b.ToStringUtf8()).ToList(),
                        t.TensorShape.Dim.Select(d => d.Size).ToArray()),
                    _ => throw new AssertionException($"unexpected plugin {plugin}"),
                };
            }
            result.Value.Add(built);
        }
        return result;
    }

    /// <summary>Values that fall in the golden histogram's buckets: min and max themselves in their buckets, every other
    /// value at the left edge of its bucket (the default limit before the bucket's limit).</summary>
    static double[] StandInValues(HistogramProto h)
    {
        var limits = Histograms.DefaultLimits.ToArray();
        var values = new List<double>();
        for (int i = 0; i < h.Bucket.Count; i++)
        {
            int count = (int)h.Bucket[i];
            if (count == 0) continue;
            int k = Array.IndexOf(limits, h.BucketLimit[i]);
            Assert.That(k, Is.GreaterThan(0), $"golden limit {h.BucketLimit[i]} is one of TF's default limits");
            double left = limits[k - 1];
            for (int j = 0; j < count; j++)
            {
                double v = left;
                if (h.Min >= left && h.Min < h.BucketLimit[i] && j == 0) v = h.Min;
                else if (h.Max >= left && h.Max < h.BucketLimit[i] && j == count - 1) v = h.Max;
                else if (h.Min >= left && h.Min < h.BucketLimit[i]) v = h.Min; // the min's bucket: stay ≥ min
                values.Add(v);
            }
        }
        return values.ToArray();
    }

    static (double, double, double)[] Rows(TensorProto t)
    {
        var d = new double[t.TensorContent.Length / 8];
        Buffer.BlockCopy(t.TensorContent.ToByteArray(), 0, d, 0, t.TensorContent.Length);
        return Enumerable.Range(0, d.Length / 3).Select(i => (d[3 * i], d[3 * i + 1], d[3 * i + 2])).ToArray();
    }

    static Value ImagesTensor(Value golden)
    {
        var s = golden.Tensor.StringVal;
        var decoded = s.Skip(2).Select(b => PngDecoder.Decode(b.Span)).ToList();
        int w = int.Parse(s[0].ToStringUtf8()), h = int.Parse(s[1].ToStringUtf8()), c = decoded[0].Channels;
        var pixels = decoded.SelectMany(d => d.Pixels).ToArray();
        var v = SummaryValues.ImagesTensor(golden.Tag, NDArray.From(pixels, decoded.Count, h, w, c));
        v.Metadata.DisplayName = golden.Metadata.DisplayName;
        v.Metadata.SummaryDescription = golden.Metadata.SummaryDescription;
        return v;
    }

    /// <summary>Clears what is not compared: wall time, the writer name, PNG bytes (replaced by their decoded pixels),
    /// histogram sums.</summary>
    static Event Normalize(Event e)
    {
        e = e.Clone();
        e.WallTime = 0;
        e.SourceMetadata = null;
        if (e.WhatCase != Event.WhatOneofCase.Summary) return e;
        foreach (var v in e.Summary.Value)
        {
            if (v.Image != null) v.Image.EncodedImageString = Pixels(v.Image.EncodedImageString);
            if (v.Histo != null) { v.Histo.Sum = 0; v.Histo.SumSquares = 0; }
            if (v.Metadata?.PluginData?.PluginName == "images")
                for (int i = 2; i < v.Tensor.StringVal.Count; i++) v.Tensor.StringVal[i] = Pixels(v.Tensor.StringVal[i]);
        }
        return e;
    }

    static ByteString Pixels(ByteString png)
    {
        var img = PngDecoder.Decode(png.Span);
        return ByteString.CopyFrom([.. BitConverter.GetBytes(img.Width), .. BitConverter.GetBytes(img.Height), (byte)img.Channels, .. img.Pixels]);
    }

    static void CompareGraphs(GraphDef want, GraphDef got)
    {
        Assert.That(got.Node.Select(n => n.Name), Is.EqualTo(want.Node.Select(n => n.Name)));
        for (int i = 0; i < want.Node.Count; i++)
        {
            Assert.That(got.Node[i].Op, Is.EqualTo(want.Node[i].Op == "AddV2" ? "Add" : want.Node[i].Op));
            Assert.That(got.Node[i].Input, Is.EqualTo(want.Node[i].Input));
            Assert.That(got.Node[i].Device, Is.EqualTo(want.Node[i].Device));
            Assert.That(got.Node[i].Attr.Keys.Order(), Is.EqualTo(want.Node[i].Attr.Keys.Order()));
        }
    }
}
