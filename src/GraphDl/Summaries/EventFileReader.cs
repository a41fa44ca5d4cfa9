using System.Buffers.Binary;
using Google.Protobuf;
using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>One scalar point of a tag.</summary>
public readonly record struct ScalarPoint(string Tag, long Step, double WallTime, double Value);

/// <summary>Reads event files and log directories the way TensorBoard finds them.</summary>
public static class EventFileReader
{
    /// <summary>Reads the events of one file in order; a truncated last record ends reading quietly if tolerated.</summary>
    public static IEnumerable<Event> ReadEvents(string path, bool tolerateTruncatedTail = true)
    {
        using var reader = RecordReader.Open(path, tolerateTruncatedTail);
        while (true)
        {
            long offset = reader.Offset;
            if (!reader.TryRead(out var payload)) yield break;
            yield return ParseEvent(payload, path, offset);
        }
    }

    /// <summary>Every scalar of an event file (or of the event files directly inside a run directory), in file order.</summary>
    public static IReadOnlyList<ScalarPoint> ReadScalars(string path) => ReadScalarsCore(path, null);

    /// <summary>The scalars of one tag of an event file (or of a run directory), in file order.</summary>
    public static IReadOnlyList<ScalarPoint> ReadScalars(string path, string tag)
    {
        ArgumentNullException.ThrowIfNull(tag);
        return ReadScalarsCore(path, tag);
    }

    /// <summary>All event files under <paramref name="logDir"/> (basename contains "tfevents"), recursively, sorted by path.</summary>
    public static IEnumerable<string> FindEventFiles(string logDir) =>
        Directory.EnumerateFiles(logDir, "*", SearchOption.AllDirectories)
            .Where(IsEventFile)
            .Order(StringComparer.Ordinal)
            .ToList();

    /// <summary>Run names: directories (relative to <paramref name="logDir"/>, "." for itself) that directly hold an event file.</summary>
    public static IReadOnlyList<string> Runs(string logDir) =>
        FindEventFiles(logDir)
            .Select(f => Path.GetRelativePath(logDir, Path.GetDirectoryName(f)!))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();

    static bool IsEventFile(string path) => Path.GetFileName(path).Contains("tfevents", StringComparison.Ordinal);

    static Event ParseEvent(byte[] payload, string path, long offset)
    {
        try { return Event.Parser.ParseFrom(payload); }
        catch (InvalidProtocolBufferException ex)
        {
            throw new CorruptRecordException(path, offset, RecordDamage.InvalidPayload, ex.Message, ex);
        }
    }

    static List<ScalarPoint> ReadScalarsCore(string path, string? onlyTag)
    {
        IEnumerable<string> files = Directory.Exists(path)
            ? Directory.EnumerateFiles(path).Where(IsEventFile).Order(StringComparer.Ordinal)
            : [path];
        var points = new List<ScalarPoint>();
        var pluginOfTag = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            foreach (var e in ReadEvents(file))
            {
                if (e.WhatCase != Event.WhatOneofCase.Summary) continue;
                foreach (var v in e.Summary.Value)
                {
                    string tag = v.Tag.Length > 0 ? v.Tag : v.NodeName;
                    // TensorBoard keeps the plugin of the first value of a tag that names one.
                    if (v.Metadata?.PluginData is { PluginName.Length: > 0 } pd) pluginOfTag.TryAdd(tag, pd.PluginName);
                    if (onlyTag is not null && tag != onlyTag) continue;
                    double? value = v.ValueCase switch
                    {
                        Summary.Types.Value.ValueOneofCase.SimpleValue => v.SimpleValue,
                        Summary.Types.Value.ValueOneofCase.Tensor when pluginOfTag.GetValueOrDefault(tag) == "scalars"
                            => ScalarOf(v.Tensor),
                        _ => null,
                    };
                    if (value is double x) points.Add(new ScalarPoint(tag, e.Step, e.WallTime, x));
                }
            }
        }
        return points;
    }

    /// <summary>The value of a one-element DT_FLOAT or DT_DOUBLE tensor, else null.</summary>
    static double? ScalarOf(TensorProto t)
    {
        long elements = 1;
        foreach (var d in t.TensorShape?.Dim ?? []) elements *= d.Size;
        if (elements != 1) return null;
        var raw = t.TensorContent.Span;
        return t.Dtype switch
        {
            DataType.DtFloat when raw.Length == 4 => BinaryPrimitives.ReadSingleLittleEndian(raw),
            DataType.DtFloat when raw.IsEmpty && t.FloatVal.Count == 1 => t.FloatVal[0],
            DataType.DtDouble when raw.Length == 8 => BinaryPrimitives.ReadDoubleLittleEndian(raw),
            DataType.DtDouble when raw.IsEmpty && t.DoubleVal.Count == 1 => t.DoubleVal[0],
            _ => null,
        };
    }
}
