using System.Buffers.Binary;
using System.Globalization;
using GraphDl.Summaries.Proto;
using Value = GraphDl.Summaries.Proto.Summary.Types.Value;

namespace GraphDl.Cli;

/// <summary>A scalar read from a summary value; <see cref="Float32"/> tells how it was stored, so it prints exactly.</summary>
public readonly record struct ScalarValue(double Value, bool Float32)
{
    /// <summary>The shortest text that reads back to the stored bits (float32 values print as float32).</summary>
    public override string ToString() => Float32
        ? ((float)Value).ToString("R", CultureInfo.InvariantCulture)
        : Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Kinds of tags, as TensorBoard's dashboards group them, and scalar decoding.</summary>
public static class Values
{
    /// <summary>Kind names in the order <c>logs</c> prints them; any other plugin name follows.</summary>
    public static readonly string[] KindOrder = ["scalars", "histograms", "images", "audio", "text"];

    /// <summary>Kind of a tensor value whose tag never got plugin metadata: stored, but no dashboard shows it.</summary>
    public const string NoPlugin = "tensors (no plugin)";

    /// <summary>A value's tag: <c>tag</c>, or the deprecated <c>node_name</c> when the tag is empty.</summary>
    public static string TagOf(Value v) => v.Tag.Length > 0 ? v.Tag : v.NodeName;

    /// <summary>The dashboard of a legacy value (TensorBoard migrates these by value case), else null.</summary>
    public static string? LegacyKind(Value v) => v.ValueCase switch
    {
        Value.ValueOneofCase.SimpleValue => "scalars",
        Value.ValueOneofCase.Histo => "histograms",
        Value.ValueOneofCase.Image => "images",
        Value.ValueOneofCase.Audio => "audio",
        _ => null,
    };

    /// <summary>The plugin named by a value's metadata, else null.</summary>
    public static string? PluginOf(Value v) =>
        v.Metadata?.PluginData is { PluginName.Length: > 0 } pd ? pd.PluginName : null;

    /// <summary>The scalar of a value: <c>simple_value</c>, or a one-element float tensor when the tag's plugin is scalars.</summary>
    public static ScalarValue? ScalarOf(Value v, string? tagPlugin) => v.ValueCase switch
    {
        Value.ValueOneofCase.SimpleValue => new ScalarValue(v.SimpleValue, Float32: true),
        Value.ValueOneofCase.Tensor when tagPlugin == "scalars" => ScalarOf(v.Tensor),
        _ => null,
    };

    static ScalarValue? ScalarOf(TensorProto t)
    {
        long elements = 1;
        foreach (var d in t.TensorShape?.Dim ?? []) elements *= d.Size;
        if (elements != 1) return null;
        var raw = t.TensorContent.Span;
        return t.Dtype switch
        {
            DataType.DtFloat when raw.Length == 4 => new ScalarValue(BinaryPrimitives.ReadSingleLittleEndian(raw), true),
            DataType.DtFloat when raw.IsEmpty && t.FloatVal.Count == 1 => new ScalarValue(t.FloatVal[0], true),
            DataType.DtDouble when raw.Length == 8 => new ScalarValue(BinaryPrimitives.ReadDoubleLittleEndian(raw), false),
            DataType.DtDouble when raw.IsEmpty && t.DoubleVal.Count == 1 => new ScalarValue(t.DoubleVal[0], false),
            DataType.DtHalf when raw.Length == 2 => new ScalarValue((double)BinaryPrimitives.ReadHalfLittleEndian(raw), true),
            DataType.DtHalf when raw.IsEmpty && t.HalfVal.Count == 1 => new ScalarValue((double)BitConverter.UInt16BitsToHalf((ushort)t.HalfVal[0]), true),
            _ => null,
        };
    }
}

/// <summary>Tracks, per tag of one run, the plugin TensorBoard assigns it (the first metadata naming one wins).</summary>
public sealed class TagPlugins
{
    readonly Dictionary<string, string> _plugin = new(StringComparer.Ordinal);

    /// <summary>Records the value's metadata (if first for its tag) and returns the tag's plugin so far.</summary>
    public string? See(Value v)
    {
        string tag = Values.TagOf(v);
        if (Values.PluginOf(v) is string p) _plugin.TryAdd(tag, p);
        return _plugin.GetValueOrDefault(tag);
    }
}
