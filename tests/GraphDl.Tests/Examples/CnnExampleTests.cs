using System.IO.Compression;
using GraphDl.Examples;
using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>The CNN examples' own outputs: the course's edge map, PNG files, the model summary, the filters.</summary>
public sealed class CnnExampleTests
{
    [Test]
    public void EdgeDetection_CourseExampleAndPngFiles()
    {
        using var run = new ExampleRun();
        var r = run.Run("edge-detection", "--smoke");
        Assert.That(r.Metric("course/edge_max"), Is.EqualTo(30));
        string text = run.Output.ToString();
        Assert.That(text, Does.Contain("  0  30  30   0"));
        foreach (string f in new[] { "image0_input.png", "image0_vertical.png", "image0_horizontal.png", "image1_vertical.png" })
        {
            var bytes = File.ReadAllBytes(Path.Combine(r.RunDir, f));
            Assert.That(bytes[..8], Is.EqualTo(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 13, 10, 26, 10 }), f);
        }
        var tags = ImageTags(r.RunDir);
        Assert.That(tags, Is.SupersetOf(new[] { "edges/input/image/0", "edges/vertical/image/1", "edges/horizontal/image/0" }));
    }

    /// <summary>Tags of the image summaries in a run folder's event file.</summary>
    static List<string> ImageTags(string dir)
    {
        string file = Directory.EnumerateFiles(dir).Single(f => Path.GetFileName(f).Contains("tfevents", StringComparison.Ordinal));
        return GraphDl.Summaries.EventFileReader.ReadEvents(file, tolerateTruncatedTail: false)
            .Where(e => e.Summary != null).SelectMany(e => e.Summary.Value).Where(v => v.Image != null).Select(v => v.Tag).ToList();
    }

    [Test]
    public void Png_RoundTripsThroughZlib()
    {
        string path = Path.Combine(Path.GetTempPath(), $"graphdl-png-{Guid.NewGuid():N}.png");
        try
        {
            var px = Enumerable.Range(0, 12).Select(i => (byte)(i * 20)).ToArray();
            Png.WriteGray(path, px, 4, 3);
            var b = File.ReadAllBytes(path);
            Assert.That(System.Text.Encoding.ASCII.GetString(b, 12, 4), Is.EqualTo("IHDR"));
            Assert.That((b[16] << 24) | (b[17] << 16) | (b[18] << 8) | b[19], Is.EqualTo(4));
            Assert.That((b[20] << 24) | (b[21] << 16) | (b[22] << 8) | b[23], Is.EqualTo(3));
            int idatLen = (b[33] << 24) | (b[34] << 16) | (b[35] << 8) | b[36];
            Assert.That(System.Text.Encoding.ASCII.GetString(b, 37, 4), Is.EqualTo("IDAT"));
            using var z = new ZLibStream(new MemoryStream(b, 41, idatLen), CompressionMode.Decompress);
            var raw = new MemoryStream();
            z.CopyTo(raw);
            var rows = raw.ToArray();
            Assert.That(rows.Length, Is.EqualTo(3 * 5));
            for (int r = 0; r < 3; r++)
            {
                Assert.That(rows[r * 5], Is.EqualTo(0));
                Assert.That(rows[(r * 5 + 1)..(r * 5 + 5)], Is.EqualTo(px[(r * 4)..(r * 4 + 4)]));
            }
        }
        finally { File.Delete(path); }
    }

    [Test]
    public void AlexNet_PrintsItsModelSummary_AndFilters()
    {
        using var run = new ExampleRun();
        var r = run.Run("alexnet", "--smoke");
        string text = run.Output.ToString();
        Assert.That(text, Does.Contain("batch_normalization_4 (BatchNormalization)").And.Contain("(None, 3, 3, 32)").And.Contain("Non-trainable params"));
        Assert.That(File.Exists(Path.Combine(r.RunDir, "filters", "filter15.png")));
        Assert.That(ImageTags(r.RunDir), Is.SupersetOf(new[] { "inputs/image/0", "filters/image/0", "filters/image/15" }));
    }
}
