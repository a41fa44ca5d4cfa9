using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>Exports a <see cref="Graph"/> as a TensorFlow 1.15-style <c>GraphDef</c> for TensorBoard's Graphs tab.</summary>
/// <remarks>
/// Node names keep their scopes (TensorBoard folds <c>a/b/...</c> into boxes); op types are GraphDl's op names, which are
/// TF 1.15's; inputs are <c>name</c> for output 0, <c>name:k</c> otherwise, then control inputs <c>^name</c>. Every attr of
/// the node is converted except those starting with "_"; <c>_output_shapes</c> lists each output's static shape
/// (-1 for unknown dims). Type attrs TF always carries are filled in when the builder did not store them:
/// <c>T</c> (dtype of the first input) and <c>Tidx</c> for reductions.
/// </remarks>
public static class GraphDefExport
{
    /// <summary>The GraphDef <c>versions.producer</c> written (the value in TensorBoard's own test logdir).</summary>
    public const int Producer = 27;

    static readonly HashSet<string> NoT = new(StringComparer.Ordinal)
    {
        "Const", "Placeholder", "VariableV2", "NoOp", "Cast", "MergeSummary", "RandomUniform", "RandomStandardNormal",
        "TruncatedNormal",
    };

    static readonly HashSet<string> Reductions = new(StringComparer.Ordinal)
    {
        "Sum", "Mean", "Max", "Min", "Prod", "ArgMax", "ArgMin", "All", "Any",
    };

    /// <summary>The GraphDef of every node of <paramref name="graph"/>, in the order the nodes were added.</summary>
    public static GraphDef ToGraphDef(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var def = new GraphDef { Versions = new VersionDef { Producer = Producer } };
        foreach (var op in graph.Operations.ToArray()) def.Node.Add(ToNodeDef(op));
        return def;
    }

    /// <summary>One node.</summary>
    public static NodeDef ToNodeDef(Operation op)
    {
        var n = new NodeDef { Name = op.Name, Op = op.Type, Device = CanonicalDevice(op.Device) };
        foreach (var t in op.Inputs) n.Input.Add(InputName(t));
        foreach (var c in op.ControlInputs) n.Input.Add("^" + c.Name);
        foreach (var (key, value) in op.Attrs.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (key.StartsWith('_')) continue;
            if (ProtoConvert.ToAttrValue(value) is { } av) n.Attr[key] = av;
        }
        if (!n.Attr.ContainsKey("T") && !NoT.Contains(op.Type) && op.Inputs.Length > 0)
            n.Attr["T"] = new AttrValue { Type = op.Inputs[0].DType.ToProto() };
        if (Reductions.Contains(op.Type) && !n.Attr.ContainsKey("Tidx") && op.Inputs.Length > 1)
            n.Attr["Tidx"] = new AttrValue { Type = op.Inputs[1].DType.ToProto() };
        if (op.Outputs.Length > 0)
        {
            var list = new AttrValue.Types.ListValue();
            foreach (var t in op.Outputs) list.Shape.Add(t.Shape.ToProto());
            n.Attr["_output_shapes"] = new AttrValue { List = list };
        }
        return n;
    }

    /// <summary><c>name</c> for output 0, else <c>name:k</c> (TensorFlow's input string).</summary>
    public static string InputName(Tensor t) => t.Index == 0 ? t.Op.Name : $"{t.Op.Name}:{t.Index}";

    /// <summary>TensorFlow's canonical spelling of a device (<c>/cpu:0</c> → <c>/device:CPU:0</c>); empty if none.</summary>
    public static string CanonicalDevice(string? device)
    {
        if (string.IsNullOrEmpty(device)) return "";
        var parts = device.Split('/', StringSplitOptions.RemoveEmptyEntries);
        for (int i = 0; i < parts.Length; i++)
        {
            string p = parts[i];
            int colon = p.IndexOf(':');
            if (colon < 0) continue;
            string kind = p[..colon];
            if (kind.Equals("cpu", StringComparison.OrdinalIgnoreCase) || kind.Equals("gpu", StringComparison.OrdinalIgnoreCase))
                parts[i] = "device:" + kind.ToUpperInvariant() + p[colon..];
        }
        return "/" + string.Join('/', parts);
    }

    /// <summary>Problems a viewer would hide silently: duplicate names, inputs naming no node (or an output index the node
    /// lacks), names TensorFlow would reject. Empty when the GraphDef is well formed.</summary>
    public static IReadOnlyList<string> Validate(GraphDef def)
    {
        var problems = new List<string>();
        var outputs = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var n in def.Node)
        {
            if (!outputs.TryAdd(n.Name, n.Attr.TryGetValue("_output_shapes", out var s) ? s.List.Shape.Count : -1))
                problems.Add($"duplicate node name '{n.Name}'");
            if (!ValidName(n.Name)) problems.Add($"invalid node name '{n.Name}'");
        }
        foreach (var n in def.Node)
        {
            bool control = false;
            foreach (string input in n.Input)
            {
                if (input.StartsWith('^')) { control = true; if (!outputs.ContainsKey(input[1..])) problems.Add($"{n.Name}: control input '{input}' names no node"); continue; }
                if (control) problems.Add($"{n.Name}: data input '{input}' after a control input");
                int colon = input.LastIndexOf(':');
                string name = colon < 0 ? input : input[..colon];
                int index = colon < 0 ? 0 : int.Parse(input[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                if (!outputs.TryGetValue(name, out int count)) problems.Add($"{n.Name}: input '{input}' names no node");
                else if (count >= 0 && index >= count) problems.Add($"{n.Name}: input '{input}' but '{name}' has {count} outputs");
            }
        }
        return problems;
    }

    static bool ValidName(string name)
    {
        if (name.Length == 0 || !(char.IsAsciiLetterOrDigit(name[0]) || name[0] == '.')) return false;
        foreach (char c in name)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '_' or '>' or '.' or '/')) return false;
        return true;
    }
}
