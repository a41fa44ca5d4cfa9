using System.Globalization;
using System.Runtime.InteropServices;
using Google.Protobuf;
using GraphDl.Summaries.Proto;
using Value = GraphDl.Summaries.Proto.Summary.Types.Value;

namespace GraphDl.Summaries;

/// <summary>Low-level builders of <c>Summary.Value</c>s: the legacy forms (<c>simple_value</c>, <c>histo</c>, <c>image</c>) and
/// the tensor forms the TensorBoard plugins read (<c>scalars</c>, <c>histograms</c>, <c>images</c>, <c>text</c>).
/// Pass them to <see cref="FileWriter.AddSummary(long, Value[])"/>. Tensor forms carry their plugin metadata on every value and
/// leave <c>data_class</c> unset by default, as TensorBoard's own writer does (the reader fills it in for stock plugins).</summary>
public static class SummaryValues
{
    /// <summary><c>SummaryMetadata</c> naming a plugin (content empty = the plugin's version-0 data), with an optional data class.</summary>
    public static SummaryMetadata Metadata(string plugin, DataClass dataClass = DataClass.Unknown, ByteString? content = null) => new()
    {
        PluginData = new SummaryMetadata.Types.PluginData { PluginName = plugin, Content = content ?? ByteString.Empty },
        DataClass = dataClass,
    };

    /// <summary>A legacy scalar: <c>simple_value</c> (float32), no metadata.</summary>
    public static Value Scalar(string tag, double value) => new() { Tag = CheckTag(tag), SimpleValue = (float)value };

    /// <summary>A tensor-form scalar for the <c>scalars</c> plugin: a rank-0 DT_FLOAT in <c>float_val</c>.</summary>
    public static Value ScalarTensor(string tag, float value, DataClass dataClass = DataClass.Unknown) => new()
    {
        Tag = CheckTag(tag),
        Metadata = Metadata("scalars", dataClass),
        Tensor = new TensorProto { Dtype = DataType.DtFloat, TensorShape = new TensorShapeProto(), FloatVal = { value } },
    };

    /// <summary>A legacy histogram (<c>histo</c>) with TensorFlow's default buckets.</summary>
    public static Value Histogram(string tag, ReadOnlySpan<double> values) => new() { Tag = CheckTag(tag), Histo = Histograms.Build(values) };

    /// <summary>A legacy histogram from a ready <c>HistogramProto</c>.</summary>
    public static Value Histogram(string tag, HistogramProto histogram) => new() { Tag = CheckTag(tag), Histo = histogram };

    /// <summary>A tensor-form histogram for the <c>histograms</c> plugin: a <c>[k, 3]</c> DT_DOUBLE tensor of rows
    /// <c>[left, right, count]</c>, stored as little-endian <c>tensor_content</c>.</summary>
    public static Value HistogramTensor(string tag, ReadOnlySpan<(double Left, double Right, double Count)> buckets,
        DataClass dataClass = DataClass.Unknown)
    {
        var flat = new double[buckets.Length * 3];
        for (int i = 0; i < buckets.Length; i++)
            (flat[3 * i], flat[3 * i + 1], flat[3 * i + 2]) = buckets[i];
        return new Value
        {
            Tag = CheckTag(tag),
            Metadata = Metadata("histograms", dataClass),
            Tensor = new TensorProto
            {
                Dtype = DataType.DtDouble,
                TensorShape = ProtoConvert.ShapeProto(buckets.Length, 3),
                TensorContent = ByteString.CopyFrom(MemoryMarshal.AsBytes(flat.AsSpan())),
            },
        };
    }

    /// <summary>A legacy image value from PNG bytes (<paramref name="colorspace"/>: 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).</summary>
    public static Value Image(string tag, byte[] png, int height, int width, int colorspace) => new()
    {
        Tag = CheckTag(tag),
        Image = new Summary.Types.Image { Height = height, Width = width, Colorspace = colorspace, EncodedImageString = ByteString.CopyFrom(png) },
    };

    /// <summary>Legacy image values of up to <paramref name="maxOutputs"/> images of a <c>[batch, h, w, c]</c> array (uint8 as is,
    /// floats normalised as TensorFlow's image summary does), tagged <c>tag/image/i</c> (<c>tag/image</c> when maxOutputs is 1).</summary>
    public static Value[] Images(string tag, NDArray images, int maxOutputs = 3)
    {
        CheckTag(tag);
        var pixels = ToBytePixels(images, out int n, out int h, out int w, out int c);
        n = Math.Min(n, maxOutputs);
        int per = h * w * c;
        var values = new Value[n];
        for (int i = 0; i < n; i++)
            values[i] = Image(maxOutputs > 1 ? $"{tag}/image/{i}" : $"{tag}/image", Png.Encode(pixels.AsSpan(i * per, per), h, w, c), h, w, c);
        return values;
    }

    /// <summary>A tensor-form image value for the <c>images</c> plugin: a rank-1 DT_STRING tensor
    /// <c>[width, height, png0, png1, ...]</c> (all images of one size).</summary>
    public static Value ImagesTensor(string tag, int width, int height, IEnumerable<byte[]> pngs, DataClass dataClass = DataClass.Unknown)
    {
        var t = new TensorProto { Dtype = DataType.DtString };
        t.StringVal.Add(ByteString.CopyFromUtf8(width.ToString(CultureInfo.InvariantCulture)));
        t.StringVal.Add(ByteString.CopyFromUtf8(height.ToString(CultureInfo.InvariantCulture)));
        foreach (var png in pngs) t.StringVal.Add(ByteString.CopyFrom(png));
        t.TensorShape = ProtoConvert.ShapeProto(t.StringVal.Count);
        return new Value { Tag = CheckTag(tag), Metadata = Metadata("images", dataClass), Tensor = t };
    }

    /// <summary>A tensor-form image value of every image of a <c>[batch, h, w, c]</c> array (PNG-encoded).</summary>
    public static Value ImagesTensor(string tag, NDArray images, DataClass dataClass = DataClass.Unknown)
    {
        var pixels = ToBytePixels(images, out int n, out int h, out int w, out int c);
        int per = h * w * c;
        var pngs = Enumerable.Range(0, n).Select(i => Png.Encode(pixels.AsSpan(i * per, per), h, w, c));
        return ImagesTensor(tag, w, h, pngs, dataClass);
    }

    /// <summary>Markdown text for the <c>text</c> plugin: a rank-0 DT_STRING tensor.</summary>
    public static Value Text(string tag, string markdown, DataClass dataClass = DataClass.Unknown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        return TextTensor(tag, [markdown], [], dataClass);
    }

    /// <summary>A text table (rank 1 or 2) or any string tensor for the <c>text</c> plugin, row-major.</summary>
    public static Value TextTensor(string tag, IReadOnlyList<string> values, long[] dims, DataClass dataClass = DataClass.Unknown)
    {
        long n = 1;
        foreach (long d in dims) n *= d;
        if (n != values.Count) throw new ArgumentException($"{values.Count} strings do not fill shape [{string.Join(",", dims)}]");
        var t = new TensorProto { Dtype = DataType.DtString, TensorShape = ProtoConvert.ShapeProto(dims) };
        foreach (string s in values) t.StringVal.Add(ByteString.CopyFromUtf8(s));
        return new Value { Tag = CheckTag(tag), Metadata = Metadata("text", dataClass), Tensor = t };
    }

    /// <summary>Any tensor value with the given plugin metadata.</summary>
    public static Value Tensor(string tag, TensorProto tensor, SummaryMetadata? metadata) =>
        new() { Tag = CheckTag(tag), Tensor = tensor, Metadata = metadata };

    static byte[] ToBytePixels(NDArray images, out int n, out int h, out int w, out int c)
    {
        ArgumentNullException.ThrowIfNull(images);
        var d = images.Dims;
        if (d.Length != 4 || d[3] is not (1 or 2 or 3 or 4) || d[1] <= 0 || d[2] <= 0)
            throw new ArgumentException($"images must be [batch, height, width, 1..4] with positive sizes, got {images.Shape}");
        (n, h, w, c) = (d[0], d[1], d[2], d[3]);
        if (images.DType == DType.UInt8) return images.ToArray<byte>();
        if (!images.DType.IsFloating()) throw new ArgumentException($"images must be uint8 or floating point, got {images.DType.Name()}");
        var src = images.ToDoubleArray();
        var dst = new byte[src.Length];
        int per = h * w * c;
        for (int i = 0; i < n; i++) ImageEncoding.NormalizeFloatImage(src.AsSpan(i * per, per), c, dst.AsSpan(i * per, per));
        return dst;
    }

    static string CheckTag(string tag)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        return tag;
    }
}
