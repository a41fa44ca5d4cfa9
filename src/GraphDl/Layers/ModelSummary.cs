using System.Runtime.CompilerServices;
using System.Text;

namespace GraphDl;

/// <summary>A Keras-style model summary: each layer built by the layer builders (Conv2D, pooling, Flatten, Dense,
/// BatchNormalization) with its output shape and parameter count, and the totals.</summary>
public static class ModelSummary
{
    /// <summary>One recorded layer: its scope name, type, output and variables.</summary>
    public sealed record Layer(string Name, string Type, Tensor Output, IReadOnlyList<Variable> Variables)
    {
        /// <summary>Elements of the layer's variables.</summary>
        public long Parameters => Variables.Sum(v => v.Shape.NumElements);
    }

    static readonly ConditionalWeakTable<Graph, List<Layer>> layers = new();

    internal static void Record(Graph g, string name, string type, Tensor output, IReadOnlyList<Variable> variables)
    {
        var list = layers.GetOrCreateValue(g);
        lock (list) list.Add(new Layer(name, type, output, variables));
    }

    /// <summary>The layers built in <paramref name="g"/>, in build order.</summary>
    public static IReadOnlyList<Layer> Layers(Graph g)
    {
        var list = layers.GetOrCreateValue(g);
        lock (list) return list.ToArray();
    }

    /// <summary>The table for every layer built in <paramref name="g"/>.</summary>
    public static string Describe(Graph g) => Format(Layers(g));

    /// <summary>The table for the layers whose outputs are given, in that order (a tensor no layer builder made shows as its op, with 0 parameters).</summary>
    public static string Describe(IEnumerable<Tensor> outputs)
    {
        var rows = new List<Layer>();
        foreach (var t in outputs)
        {
            var rec = Layers(t.Graph).LastOrDefault(l => l.Output == t);
            rows.Add(rec ?? new Layer(t.Op.Name, t.Op.Type, t, []));
        }
        return Format(rows);
    }

    /// <summary>An output shape as <c>(None, 28, 28, 6)</c>.</summary>
    public static string FormatShape(Shape s) =>
        !s.HasRank ? "<unknown>" : "(" + string.Join(", ", s.Dims.Select(d => d < 0 ? "None" : d.ToString())) + ")";

    static string N(long v) => v.ToString("N0", System.Globalization.CultureInfo.InvariantCulture);

    static string Format(IReadOnlyList<Layer> rows)
    {
        const int w1 = 32, w2 = 24, w3 = 12;
        int width = w1 + w2 + w3;
        var sb = new StringBuilder();
        sb.AppendLine(new string('_', width));
        sb.AppendLine("Layer (type)".PadRight(w1) + "Output Shape".PadRight(w2) + "Param #".PadLeft(w3));
        sb.AppendLine(new string('=', width));
        foreach (var l in rows)
            sb.AppendLine($"{l.Name} ({l.Type})".PadRight(w1 - 1) + " " + FormatShape(l.Output.Shape).PadRight(w2) + N(l.Parameters).PadLeft(w3));
        var vars = rows.SelectMany(l => l.Variables).Distinct().ToList();
        long total = vars.Sum(v => v.Shape.NumElements), trainable = vars.Where(v => v.Trainable).Sum(v => v.Shape.NumElements);
        sb.AppendLine(new string('=', width));
        sb.AppendLine($"Total params: {N(total)}");
        sb.AppendLine($"Trainable params: {N(trainable)}");
        sb.AppendLine($"Non-trainable params: {N(total - trainable)}");
        sb.Append(new string('_', width));
        return sb.ToString();
    }
}
