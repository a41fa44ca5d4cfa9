using System.Globalization;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;
using Value = GraphDl.Summaries.Proto.Summary.Types.Value;

namespace GraphDl.Tests.Summaries;

/// <summary>
/// GraphDl's reader reproduces Golden/tensorboard-logdir.manifest.json exactly: the manifest was made from the same
/// files with TensorBoard's own protobuf classes; here the same JSON structure is rebuilt from GraphDl's decoded
/// events and compared as a parsed JSON tree, numbers by their printed text (Python's float repr, e.g. 200.0).
/// </summary>
public sealed class GoldenManifestTests
{
    static readonly string Golden = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden");
    static readonly string LogDir = Path.Combine(Golden, "tensorboard-logdir");
    static readonly string ManifestPath = Path.Combine(Golden, "tensorboard-logdir.manifest.json");

    [Test]
    public void ReaderReproducesTheManifestExactly()
    {
        using var expected = JsonDocument.Parse(File.ReadAllBytes(ManifestPath));
        using var actual = JsonDocument.Parse(BuildManifest(LogDir));
        var diffs = new List<string>();
        Compare(expected.RootElement, actual.RootElement, "$", diffs);
        Assert.That(diffs, Is.Empty, "first differences:\n" + string.Join("\n", diffs.Take(20)));
    }

    [Test]
    public void TheComparisonSeesAChangedNumber()
    {
        // Guard against a comparison that passes vacuously: a float printed differently is a difference.
        using var a = JsonDocument.Parse("""{"x": [200.0, 1], "y": "s"}""");
        using var b = JsonDocument.Parse("""{"x": [200, 1], "y": "s"}""");
        using var c = JsonDocument.Parse("""{"y": "s", "x": [200.0, 1]}""");
        var diffs = new List<string>();
        Compare(a.RootElement, b.RootElement, "$", diffs);
        Assert.That(diffs, Has.Count.EqualTo(1));
        diffs.Clear();
        Compare(a.RootElement, c.RootElement, "$", diffs);
        Assert.That(diffs, Is.Empty); // objects are unordered
    }

    [TestCase(200.0, "200.0")]
    [TestCase(1.0, "1.0")]
    [TestCase(-0.0, "-0.0")]
    [TestCase(0.1, "0.1")]
    [TestCase(1.2000000476837158, "1.2000000476837158")]
    [TestCase(1e-5, "1e-05")]
    [TestCase(1.5e-7, "1.5e-07")]
    [TestCase(0.0001, "0.0001")]
    [TestCase(1e15, "1000000000000000.0")]
    [TestCase(1e16, "1e+16")]
    [TestCase(1.25e300, "1.25e+300")]
    public void PythonFloatRepr(double x, string repr) => Assert.That(PyFloat(x), Is.EqualTo(repr));

    /// <summary>The manifest's structure, built from GraphDl's reader: runs → file name → events.</summary>
    static byte[] BuildManifest(string logDir)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteStartObject("runs");
            foreach (string run in EventFileReader.Runs(logDir))
            {
                w.WriteStartObject(run);
                foreach (string file in Directory.EnumerateFiles(Path.Combine(logDir, run)).Order(StringComparer.Ordinal))
                {
                    if (!Path.GetFileName(file).Contains("tfevents", StringComparison.Ordinal)) continue;
                    w.WriteStartArray(Path.GetFileName(file));
                    foreach (var e in EventFileReader.ReadEvents(file, tolerateTruncatedTail: false)) WriteEvent(w, e);
                    w.WriteEndArray();
                }
                w.WriteEndObject();
            }
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static void WriteEvent(Utf8JsonWriter w, Event e)
    {
        w.WriteStartObject();
        w.WriteNumber("step", e.Step);
        switch (e.WhatCase)
        {
            case Event.WhatOneofCase.FileVersion:
                w.WriteString("kind", "file_version");
                w.WriteString("file_version", e.FileVersion);
                break;
            case Event.WhatOneofCase.GraphDef:
                w.WriteString("kind", "graph_def");
                WriteGraph(w, GraphDef.Parser.ParseFrom(e.GraphDef));
                break;
            case Event.WhatOneofCase.Summary:
                w.WriteString("kind", "summary");
                w.WriteStartArray("values");
                foreach (var v in e.Summary.Value) WriteValue(w, v);
                w.WriteEndArray();
                break;
            case Event.WhatOneofCase.TaggedRunMetadata:
                w.WriteString("kind", "tagged_run_metadata");
                w.WriteString("run_metadata_tag", e.TaggedRunMetadata.Tag);
                break;
            default:
                throw new AssertionException($"event at step {e.Step}: kind {e.WhatCase} is not in the golden files");
        }
        w.WriteEndObject();
    }

    static void WriteGraph(Utf8JsonWriter w, GraphDef g)
    {
        w.WriteStartArray("graph_nodes");
        foreach (var n in g.Node)
        {
            w.WriteStartObject();
            w.WriteString("name", n.Name);
            w.WriteString("op", n.Op);
            w.WriteStartArray("input");
            foreach (string i in n.Input) w.WriteStringValue(i);
            w.WriteEndArray();
            w.WriteString("device", n.Device);
            w.WriteStartArray("attr_keys");
            foreach (string k in n.Attr.Keys.Order(StringComparer.Ordinal)) w.WriteStringValue(k);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteNumber("versions_producer", g.Versions?.Producer ?? 0);
    }

    static void WriteValue(Utf8JsonWriter w, Value v)
    {
        w.WriteStartObject();
        w.WriteString("tag", v.Tag);
        w.WriteString("plugin", v.Metadata?.PluginData?.PluginName ?? "");
        w.WriteString("value_kind", ValueKind(v));
        switch (v.ValueCase)
        {
            case Value.ValueOneofCase.SimpleValue:
                w.WritePropertyName("simple_value");
                w.WriteRawValue(PyFloat(v.SimpleValue)); // the float widened to double, as Python reads it
                break;
            case Value.ValueOneofCase.Histo:
                var h = v.Histo;
                w.WriteStartObject("histo");
                WriteFloat(w, "min", h.Min);
                WriteFloat(w, "max", h.Max);
                WriteFloat(w, "num", h.Num);
                WriteFloat(w, "sum", h.Sum);
                WriteFloat(w, "sum_squares", h.SumSquares);
                w.WriteNumber("buckets", h.Bucket.Count);
                w.WriteEndObject();
                break;
            case Value.ValueOneofCase.Image:
                var img = v.Image;
                w.WriteStartObject("image");
                w.WriteNumber("height", img.Height);
                w.WriteNumber("width", img.Width);
                w.WriteNumber("colorspace", img.Colorspace);
                w.WriteNumber("png_bytes", img.EncodedImageString.Length);
                w.WriteEndObject();
                break;
            case Value.ValueOneofCase.Tensor:
                var t = v.Tensor;
                w.WriteStartObject("tensor");
                w.WriteNumber("dtype", (int)t.Dtype);
                w.WriteStartArray("shape");
                foreach (var d in t.TensorShape?.Dim ?? []) w.WriteNumberValue(d.Size);
                w.WriteEndArray();
                w.WriteStartArray("float_val");
                foreach (float f in t.FloatVal) w.WriteRawValue(PyFloat(f));
                w.WriteEndArray();
                w.WriteNumber("string_val_count", t.StringVal.Count);
                // The manifest shows the first string only for text values (image tensors hold sizes and PNG bytes).
                if (v.Metadata?.PluginData?.PluginName == "text" && t.StringVal.Count > 0)
                    w.WriteString("string_val_first", Utf8Strict(t.StringVal[0]));
                else
                    w.WriteNull("string_val_first");
                w.WriteEndObject();
                break;
            default:
                throw new AssertionException($"value '{v.Tag}': kind {v.ValueCase} is not in the golden files");
        }
        w.WriteEndObject();
    }

    /// <summary>The name of the summary value's oneof field as the proto spells it (simple_value, histo, image, tensor...).</summary>
    static string ValueKind(Value v) => v.ValueCase switch
    {
        Value.ValueOneofCase.SimpleValue => "simple_value",
        Value.ValueOneofCase.ObsoleteOldStyleHistogram => "obsolete_old_style_histogram",
        Value.ValueOneofCase.Image => "image",
        Value.ValueOneofCase.Histo => "histo",
        Value.ValueOneofCase.Audio => "audio",
        Value.ValueOneofCase.Tensor => "tensor",
        _ => "",
    };

    static string Utf8Strict(ByteString s) => new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(s.Span);

    static void WriteFloat(Utf8JsonWriter w, string name, double x)
    {
        w.WritePropertyName(name);
        w.WriteRawValue(PyFloat(x));
    }

    /// <summary>Python's repr of a float: shortest round-trip digits, ".0" on integral values, exponent below 1e-4 and from 1e16.</summary>
    static string PyFloat(double x)
    {
        if (!double.IsFinite(x)) throw new ArgumentOutOfRangeException(nameof(x), "JSON has no NaN or infinity");
        // "E16" then trimming would not be shortest; "R" is: parse its digits and exponent, then lay them out as Python does.
        string r = x.ToString("R", CultureInfo.InvariantCulture);
        bool negative = r.StartsWith('-');
        if (negative) r = r[1..];
        int exp = 0;
        int e = r.IndexOfAny(['E', 'e']);
        if (e >= 0)
        {
            exp = int.Parse(r[(e + 1)..], CultureInfo.InvariantCulture);
            r = r[..e];
        }
        int dot = r.IndexOf('.');
        string intPart = dot >= 0 ? r[..dot] : r, frac = dot >= 0 ? r[(dot + 1)..] : "";
        string digits = (intPart + frac).TrimStart('0');
        int lead = intPart.TrimStart('0').Length == 0 ? -(frac.Length - frac.TrimStart('0').Length) : intPart.TrimStart('0').Length;
        int decExp = lead - 1 + exp; // x = 0.d1d2... * 10^(decExp+1)
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) return (negative ? "-" : "") + "0.0";
        string body;
        if (decExp < -4 || decExp >= 16)
        {
            string mant = digits.Length == 1 ? digits : digits[0] + "." + digits[1..];
            body = mant + "e" + (decExp < 0 ? "-" : "+") + Math.Abs(decExp).ToString("00", CultureInfo.InvariantCulture);
        }
        else if (decExp < 0)
            body = "0." + new string('0', -decExp - 1) + digits;
        else if (digits.Length <= decExp + 1)
            body = digits + new string('0', decExp + 1 - digits.Length) + ".0";
        else
            body = digits[..(decExp + 1)] + "." + digits[(decExp + 1)..];
        return (negative ? "-" : "") + body;
    }

    static void Compare(JsonElement expected, JsonElement actual, string path, List<string> diffs)
    {
        if (expected.ValueKind != actual.ValueKind)
        {
            diffs.Add($"{path}: expected {expected.ValueKind} {expected.GetRawText()}, got {actual.ValueKind} {actual.GetRawText()}");
            return;
        }
        switch (expected.ValueKind)
        {
            case JsonValueKind.Object:
                var got = actual.EnumerateObject().ToDictionary(p => p.Name, p => p.Value);
                foreach (var p in expected.EnumerateObject())
                {
                    if (got.Remove(p.Name, out var a)) Compare(p.Value, a, $"{path}.{p.Name}", diffs);
                    else diffs.Add($"{path}: missing key '{p.Name}'");
                }
                foreach (string extra in got.Keys) diffs.Add($"{path}: unexpected key '{extra}'");
                break;
            case JsonValueKind.Array:
                int n = expected.GetArrayLength(), m = actual.GetArrayLength();
                if (n != m) diffs.Add($"{path}: expected {n} elements, got {m}");
                for (int i = 0; i < Math.Min(n, m); i++) Compare(expected[i], actual[i], $"{path}[{i}]", diffs);
                break;
            case JsonValueKind.String:
                if (expected.GetString() != actual.GetString())
                    diffs.Add($"{path}: expected \"{expected.GetString()}\", got \"{actual.GetString()}\"");
                break;
            case JsonValueKind.Number:
                if (expected.GetRawText() != actual.GetRawText())
                    diffs.Add($"{path}: expected {expected.GetRawText()}, got {actual.GetRawText()}");
                break;
        }
    }
}
