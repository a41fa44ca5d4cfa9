using System.Buffers.Binary;
using System.IO.Compression;
using GraphDl.Cli;
using NUnit.Framework;

namespace GraphDl.Tests.Cli;

/// <summary>What one in-process <c>graphdl</c> invocation returned and printed.</summary>
sealed record CliResult(int Code, string Out, string Err)
{
    public override string ToString() => $"exit {Code}\n--- stdout\n{Out}--- stderr\n{Err}";
}

static class CliHarness
{
    public static readonly string GoldenDir = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "tensorboard-logdir");
    public static readonly string GoldenTrain = Path.Combine(GoldenDir, "train", "events.out.tfevents.1795713133.vm.21732.0");

    /// <summary>Runs the command line in this process, capturing stdout and stderr.</summary>
    public static CliResult Run(params string[] args)
    {
        var output = new StringWriter { NewLine = "\n" };
        var error = new StringWriter { NewLine = "\n" };
        int code = GraphDlCli.Run(args, output, error);
        return new CliResult(code, output.ToString(), error.ToString());
    }

    /// <summary>Copies the golden logdir into <paramref name="dir"/>; returns the copied train event file.</summary>
    public static string CopyGolden(string dir)
    {
        foreach (string file in Directory.EnumerateFiles(GoldenDir, "*tfevents*", SearchOption.AllDirectories))
        {
            string target = Path.Combine(dir, Path.GetRelativePath(GoldenDir, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        return Path.Combine(dir, Path.GetRelativePath(GoldenDir, GoldenTrain));
    }

    /// <summary>Byte offsets at which each record of an intact TFRecord file starts.</summary>
    public static List<long> RecordStarts(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var starts = new List<long>();
        for (long at = 0; at < bytes.Length; at += 16 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)at)))
            starts.Add(at);
        return starts;
    }

    public static void FlipByte(string path, long offset)
    {
        var bytes = File.ReadAllBytes(path);
        bytes[offset] ^= 0x40;
        File.WriteAllBytes(path, bytes);
    }
}

/// <summary>
/// A minimal PNG reader written for these tests from the PNG specification (signature, chunks, zlib IDAT,
/// the five scanline filters); 8-bit RGB and RGBA, not interlaced. Independent of the encoder that wrote the file.
/// </summary>
sealed class PngImage
{
    public int Width { get; }
    public int Height { get; }
    readonly byte[] _rgba;

    PngImage(int width, int height, byte[] rgba) => (Width, Height, _rgba) = (width, height, rgba);

    public (byte R, byte G, byte B, byte A) this[int x, int y]
    {
        get
        {
            int i = (y * Width + x) * 4;
            return (_rgba[i], _rgba[i + 1], _rgba[i + 2], _rgba[i + 3]);
        }
    }

    static readonly byte[] Signature = [0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Width and height from the IHDR chunk, after checking the signature.</summary>
    public static (int Width, int Height) ReadSize(byte[] png)
    {
        Assert.That(png.AsSpan(0, 8).ToArray(), Is.EqualTo(Signature), "PNG signature");
        Assert.That(System.Text.Encoding.ASCII.GetString(png, 12, 4), Is.EqualTo("IHDR"), "first chunk");
        return (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20)));
    }

    /// <summary>Decodes with the tests' own PNG decoder (Summaries/PngDecoder.cs) and widens to RGBA.</summary>
    public static PngImage Decode(byte[] png)
    {
        var (width, height) = ReadSize(png);
        var img = GraphDl.Tests.Summaries.PngDecoder.Decode(png);
        int ch = img.Channels;
        var rgba = new byte[width * height * 4];
        for (int p = 0; p < width * height; p++)
        {
            bool gray = ch <= 2;
            rgba[p * 4] = img.Pixels[p * ch];
            rgba[p * 4 + 1] = img.Pixels[p * ch + (gray ? 0 : 1)];
            rgba[p * 4 + 2] = img.Pixels[p * ch + (gray ? 0 : 2)];
            rgba[p * 4 + 3] = ch == 4 ? img.Pixels[p * ch + 3] : ch == 2 ? img.Pixels[p * ch + 1] : (byte)255;
        }
        return new PngImage(width, height, rgba);
    }

    /// <summary>Pixels within <paramref name="tolerance"/> (per channel) of an opaque colour given as #RRGGBB.</summary>
    public int Count(string hex, int tolerance = 8)
    {
        int r = Convert.ToInt32(hex[1..3], 16), g = Convert.ToInt32(hex[3..5], 16), b = Convert.ToInt32(hex[5..7], 16);
        int n = 0;
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                var p = this[x, y];
                if (Math.Abs(p.R - r) <= tolerance && Math.Abs(p.G - g) <= tolerance && Math.Abs(p.B - b) <= tolerance && p.A == 255) n++;
            }
        return n;
    }

    /// <summary>Pixels whose every channel is at most <paramref name="max"/> (text and axis lines).</summary>
    public int CountDark(int max = 80)
    {
        int n = 0;
        for (int y = 0; y < Height; y++)
            for (int x = 0; x < Width; x++)
            {
                var p = this[x, y];
                if (p.R <= max && p.G <= max && p.B <= max && p.A == 255) n++;
            }
        return n;
    }
}

/// <summary>A fresh scratch folder, deleted on dispose.</summary>
sealed class CliTempDir : IDisposable
{
    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "graphdl-cli-tests", Guid.NewGuid().ToString("N"));

    public CliTempDir() => Directory.CreateDirectory(Path);

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}
