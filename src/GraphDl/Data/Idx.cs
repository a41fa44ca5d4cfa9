using System.Buffers.Binary;
using System.IO.Compression;

namespace GraphDl.Data;

/// <summary>Images and labels read from a pair of MNIST-style IDX files.</summary>
public sealed class IdxDataset
{
    /// <summary>Wraps loaded pixels and labels; <paramref name="pixels"/> holds <c>count * rows * cols</c> bytes.</summary>
    public IdxDataset(byte[] pixels, byte[] labels, int count, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        if (pixels.LongLength != (long)count * rows * cols || labels.Length != count)
            throw new ArgumentException($"IdxDataset: {count} images of {rows}x{cols} need {(long)count * rows * cols} pixels and {count} labels.");
        Pixels = pixels;
        Labels = labels;
        Count = count;
        Rows = rows;
        Cols = cols;
    }

    /// <summary>Pixel bytes, image after image, each image row-major.</summary>
    public byte[] Pixels { get; }

    /// <summary>One label byte per image.</summary>
    public byte[] Labels { get; }

    /// <summary>Number of images (N).</summary>
    public int Count { get; }

    /// <summary>Pixel rows per image.</summary>
    public int Rows { get; }

    /// <summary>Pixel columns per image.</summary>
    public int Cols { get; }

    /// <summary>Pixels per image, <c>Rows * Cols</c>.</summary>
    public int PixelsPerImage => Rows * Cols;

    /// <summary>Pixels as float32 multiplied by <paramref name="scale"/> (1/255 for MNIST, 1/16 for the digits files).</summary>
    public float[] ImagesAsFloat(float scale)
    {
        var x = new float[Pixels.Length];
        for (int i = 0; i < x.Length; i++)
            x[i] = Pixels[i] * scale;
        return x;
    }

    /// <summary>Labels as int, for loss functions and <see cref="MiniBatchIterator.Gather(int[], ReadOnlySpan{int}, Span{int})"/>.</summary>
    public int[] LabelsAsInt()
    {
        var y = new int[Labels.Length];
        for (int i = 0; i < y.Length; i++)
            y[i] = Labels[i];
        return y;
    }
}

/// <summary>
/// Reader for MNIST-style IDX files (unsigned-byte data; 32-bit big-endian header integers), plain or
/// gzip-compressed (detected by the gzip magic bytes <c>1f 8b</c>). Checks magic numbers, that image and
/// label counts agree, and that each file's length is exactly what its header says.
/// </summary>
public static class Idx
{
    /// <summary>Magic number of an unsigned-byte, 3-dimensional (images) IDX file.</summary>
    public const int ImagesMagic = 0x00000803;

    /// <summary>Magic number of an unsigned-byte, 1-dimensional (labels) IDX file.</summary>
    public const int LabelsMagic = 0x00000801;

    /// <summary>Reads an images file: pixel bytes plus (n, rows, cols).</summary>
    public static (byte[] pixels, int n, int rows, int cols) ReadImages(string path)
    {
        (byte[] data, string full) = ReadAll(path);
        CheckHeader(data, full, ImagesMagic, 16, "images");
        int n = ReadDim(data, 4, full, "image count");
        int rows = ReadDim(data, 8, full, "row count");
        int cols = ReadDim(data, 12, full, "column count");
        if ((double)n * rows * cols > Array.MaxLength)
            throw new DataFormatException($"IDX file {full}: {n} images of {rows}x{cols} are too many to hold in one array.");
        long expected = 16 + (long)n * rows * cols;
        if (data.LongLength != expected)
            throw new DataFormatException(
                $"IDX file {full}: header says {n} images of {rows}x{cols}, so the file should hold {expected} bytes, but it holds {data.LongLength}" +
                $"{(data.LongLength < expected ? " (truncated?)" : "")}.");
        return (data.AsSpan(16).ToArray(), n, rows, cols);
    }

    /// <summary>Reads a labels file: one byte per item.</summary>
    public static byte[] ReadLabels(string path)
    {
        (byte[] data, string full) = ReadAll(path);
        CheckHeader(data, full, LabelsMagic, 8, "labels");
        int n = ReadDim(data, 4, full, "label count");
        long expected = 8 + (long)n;
        if (data.LongLength != expected)
            throw new DataFormatException(
                $"IDX file {full}: header says {n} labels, so the file should hold {expected} bytes, but it holds {data.LongLength}" +
                $"{(data.LongLength < expected ? " (truncated?)" : "")}.");
        return data.AsSpan(8).ToArray();
    }

    /// <summary>Reads an images file and its labels file and checks that both hold the same number of items.</summary>
    public static IdxDataset Load(string imagesPath, string labelsPath)
    {
        var (pixels, n, rows, cols) = ReadImages(imagesPath);
        byte[] labels = ReadLabels(labelsPath);
        if (labels.Length != n)
            throw new DataFormatException(
                $"IDX files disagree: {Path.GetFullPath(imagesPath)} holds {n} images but {Path.GetFullPath(labelsPath)} holds {labels.Length} labels.");
        return new IdxDataset(pixels, labels, n, rows, cols);
    }

    /// <summary>
    /// Loads <c>{prefix}-images-idx3-ubyte</c> and <c>{prefix}-labels-idx1-ubyte</c> from a folder (also
    /// <c>{prefix}-images.idx3-ubyte</c>, each optionally <c>.gz</c>, and the <c>digits-{prefix}-...</c> names);
    /// prefix <c>test</c> also finds <c>t10k</c> files and vice versa.
    /// </summary>
    public static IdxDataset LoadFolder(string folder, string prefix)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentException.ThrowIfNullOrWhiteSpace(prefix);
        string full = Path.GetFullPath(folder);
        if (!Directory.Exists(full))
            throw new DataFormatException($"IDX folder not found: {full}");
        string images = FindFile(full, prefix, "images", "idx3");
        string labels = FindFile(full, prefix, "labels", "idx1");
        return Load(images, labels);
    }

    /// <summary>File names <see cref="LoadFolder"/> tries, in order, for one prefix and kind ("images"/"labels").</summary>
    public static IReadOnlyList<string> CandidateNames(string prefix, string kind, string idxType)
    {
        var prefixes = new List<string> { prefix };
        if (prefix == "test") prefixes.Add("t10k");
        if (prefix == "t10k") prefixes.Add("test");
        var names = new List<string>();
        foreach (string p in prefixes)
            foreach (string stem in new[] { p, "digits-" + p })
                foreach (string sep in new[] { "-", "." })
                    foreach (string ext in new[] { "", ".gz" })
                        names.Add($"{stem}-{kind}{sep}{idxType}-ubyte{ext}");
        return names;
    }

    private static string FindFile(string folder, string prefix, string kind, string idxType)
    {
        IReadOnlyList<string> names = CandidateNames(prefix, kind, idxType);
        foreach (string name in names)
        {
            string path = Path.Combine(folder, name);
            if (File.Exists(path))
                return path;
        }
        throw new DataFormatException(
            $"IDX folder {folder} has no {prefix} {kind} file; looked for {string.Join(", ", names)}.");
    }

    /// <summary>Whole file contents, gunzipped when the file starts with the gzip magic bytes.</summary>
    private static (byte[] data, string full) ReadAll(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = Path.GetFullPath(path);
        byte[] raw;
        try
        {
            raw = File.ReadAllBytes(full);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException($"IDX file not found: {full}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"IDX file {full} could not be read: {e.Message}", e);
        }

        bool gzip = raw.Length >= 2 && raw[0] == 0x1f && raw[1] == 0x8b;
        if (!gzip)
        {
            if (full.EndsWith(".gz", StringComparison.OrdinalIgnoreCase))
                throw new DataFormatException($"IDX file {full} ends in .gz but does not start with the gzip magic bytes 1f 8b.");
            return (raw, full);
        }
        try
        {
            using var input = new MemoryStream(raw, writable: false);
            using var gz = new GZipStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            gz.CopyTo(output);
            return (output.ToArray(), full);
        }
        catch (Exception e) when (e is InvalidDataException or IOException)
        {
            throw new DataFormatException($"IDX file {full} is not valid gzip data: {e.Message}", e);
        }
    }

    private static void CheckHeader(byte[] data, string full, int magic, int headerBytes, string what)
    {
        if (data.Length < 4)
            throw new DataFormatException($"IDX file {full} is {data.Length} bytes long, shorter than the {headerBytes}-byte {what} header.");
        int found = BinaryPrimitives.ReadInt32BigEndian(data);
        if (found == magic)
        {
            if (data.Length < headerBytes)
                throw new DataFormatException($"IDX file {full} is {data.Length} bytes long, shorter than the {headerBytes}-byte {what} header.");
            return;
        }
        string hint = found switch
        {
            ImagesMagic => " (that is an images file)",
            LabelsMagic => " (that is a labels file)",
            _ when (found & unchecked((int)0xFFFF0000)) != 0 => " (not an IDX file)",
            _ => " (an IDX type this loader does not read; only unsigned bytes are supported)",
        };
        throw new DataFormatException(
            $"IDX file {full}: magic number 0x{found:X8}{hint}, expected 0x{magic:X8} for an IDX {what} file.");
    }

    private static int ReadDim(byte[] data, int offset, string full, string what)
    {
        int v = BinaryPrimitives.ReadInt32BigEndian(data.AsSpan(offset));
        if (v < 0)
            throw new DataFormatException($"IDX file {full}: {what} {(uint)v} at byte {offset} is too large.");
        return v;
    }
}
