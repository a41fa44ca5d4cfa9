using System.Runtime.CompilerServices;
using GraphDl.Train;

namespace GraphDl;

/// <summary>TF1's <c>tf.layers</c> functions as graph extension methods.</summary>
public static partial class LayerBuilders
{
    // Default layer names are unique per variable-scope *entry*, as TF1 counts them: plain name scopes do not matter
    // (two towers at the root get dense and dense_1), but re-entering a variable scope restarts the count, so a reusing
    // scope finds dense, dense_1, ... again. An entry is told apart by the name scope it opened (model/, model_1/).
    static readonly ConditionalWeakTable<Graph, Dictionary<string, int>> layerCounts = new();

    /// <summary>A unique default layer name (<c>dense</c>, <c>dense_1</c>, ...) in the current variable scope.</summary>
    internal static string UniqueLayerName(Graph g, string baseName)
    {
        var counts = layerCounts.GetOrCreateValue(g);
        lock (counts)
        {
            string key = g.CurrentVariableScope + "|" + VariableScopeEntry(g) + "|" + baseName;
            int n = counts.GetValueOrDefault(key);
            counts[key] = n + 1;
            return n == 0 ? baseName : $"{baseName}_{n}";
        }
    }

    /// <summary>The name scope opened when the current variable scope was entered: the current name scope up to its last
    /// component named like the variable scope (<c>model</c> or <c>model_N</c>); empty at the root variable scope.</summary>
    static string VariableScopeEntry(Graph g)
    {
        string vs = g.CurrentVariableScope, ns = g.CurrentScope;
        if (vs.Length == 0) return "";
        string last = vs[(vs.LastIndexOf('/') + 1)..];
        var parts = ns.TrimEnd('/').Split('/');
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            string p = parts[i];
            bool match = p == last || (p.Length > last.Length + 1 && p.StartsWith(last + "_", StringComparison.Ordinal)
                                       && p.AsSpan(last.Length + 1).IndexOfAnyExceptInRange('0', '9') < 0);
            if (match) return string.Join("/", parts[..(i + 1)]) + "/";
        }
        return ns;
    }

    /// <summary>A fully connected layer, <c>activation(x · kernel + bias)</c> (TF1's <c>tf.layers.dense</c>): variables
    /// <c>dense/kernel</c> [in, units] (Glorot uniform unless the scope or <paramref name="kernelInitializer"/> says otherwise)
    /// and <c>dense/bias</c> [units] (zeros), in a variable scope named <paramref name="name"/> or a unique <c>dense</c>,
    /// <c>dense_1</c>, ...; a reusing scope shares them. Inputs of rank &gt; 2 apply to the last axis.</summary>
    public static Tensor Dense(this Graph g, Tensor x, int units, Func<Tensor, Tensor>? activation = null, bool useBias = true,
        IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null, Func<Tensor, Tensor>? kernelRegularizer = null,
        string? name = null)
    {
        if (units <= 0) throw new ArgumentOutOfRangeException(nameof(units), units, "units must be positive");
        if (!x.DType.IsFloating())
            throw new GraphBuildException($"Dense: input {x.Name} must be float32 or float64, got {x.DType.Name()}{CallSite.Describe()}");
        var shape = x.Shape;
        if (!shape.HasRank || shape.Rank < 2 || shape[-1] < 0)
            throw new GraphBuildException($"Dense: input {x.Name} needs rank ≥ 2 with a known last dimension, got {shape}{CallSite.Describe()}");
        int rank = shape.Rank, inDim = shape[-1];
        for (int d = 1; d < rank - 1; d++)
            if (shape[d] < 0)
                throw new GraphBuildException($"Dense: input {x.Name} of shape {shape}: only the first dimension may be unknown{CallSite.Describe()}");

        string scope = name ?? UniqueLayerName(g, "dense");
        using (g.VariableScope(scope))
        {
            var kernel = g.GetVariable("kernel", new Shape(inDim, units), x.DType, kernelInitializer, trainable: true, regularizer: kernelRegularizer);
            var bias = useBias ? g.GetVariable("bias", new Shape(units), x.DType, biasInitializer ?? Initializers.Zeros()) : null;
            var flat = rank == 2 ? x : g.Reshape(x, [-1, inDim]);
            var y = g.MatMul(flat, kernel.Value);
            if (bias != null) y = g.Add(y, bias.Value, "BiasAdd");
            if (rank > 2)
            {
                var outDims = shape.Dims;
                outDims[0] = -1;
                outDims[^1] = units;
                y = g.Reshape(y, outDims);
                if (shape[0] >= 0) y.SetShape(new Shape([shape[0], .. outDims[1..]]));
            }
            if (activation != null) y = activation(y);
            ModelSummary.Record(g, scope, "Dense", y, bias != null ? [kernel, bias] : [kernel]);
            return y;
        }
    }
}
