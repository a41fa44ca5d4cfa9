using GraphDl.Ops;

namespace GraphDl;

public static partial class LayerBuilders
{
    /// <summary>TF1's <c>tf.layers.dropout</c>: while <paramref name="training"/> (a bool scalar, typically a
    /// <c>PlaceholderWithDefault(false)</c>) is true, each element is kept with probability 1 - <paramref name="rate"/> and
    /// scaled by 1 / (1 - rate), else zeroed; while it is false the result equals <paramref name="x"/>. The mask is drawn
    /// afresh on every run from a counter-based stream (same seed, same sequence of masks).</summary>
    /// <remarks>Without control flow, the mask is drawn on every run, training or not; with <c>training</c> false the
    /// rate used is 0 and the scale 1, so <c>x * 1 * 1</c> is <c>x</c> exactly.</remarks>
    public static Tensor DropoutLayer(this Graph g, Tensor x, double rate, Tensor training, int? seed = null, string? name = null)
    {
        if (!(rate >= 0 && rate < 1)) throw new ArgumentOutOfRangeException(nameof(rate), rate, "dropout rate must be in [0, 1)");
        if (!x.DType.IsFloating())
            throw new GraphBuildException($"DropoutLayer: input {x.Name} must be float32 or float64, got {x.DType.Name()}{CallSite.Describe()}");
        if (training.DType != DType.Bool || (training.Shape.HasRank && training.Shape.Rank != 0))
            throw new GraphBuildException($"DropoutLayer: training must be a bool scalar, got {training}{CallSite.Describe()}");
        using var _ = g.NameScope(name ?? "dropout");
        var known = ConstantFolding.TryGetValue(training);
        if (rate == 0 || (known != null && !known.Item<bool>())) return g.Identity(x, "Identity");

        var t = x.DType;
        var shape = x.Shape.IsFullyDefined ? g.Const(NDArray.From(x.Shape.Dims), "Shape") : g.ShapeOf(x);
        var (s1, s2) = RandomOps.Seeds(g, seed, "random_uniform");
        var u = g.Add1(RandomOps.RandomUniform, [shape], new Attrs { ["dtype"] = t, ["seed"] = s1, ["seed2"] = s2 }, "random_uniform");
        Tensor effRate, scale;
        if (known != null)
        {
            effRate = g.Scalar(rate, t, "rate");
            scale = g.Scalar(1 / (1 - rate), t, "scale");
        }
        else
        {
            effRate = g.Where(training, g.Scalar(rate, t, "rate"), g.Scalar(0, t), "rate_if_training");
            scale = g.Where(training, g.Scalar(1 / (1 - rate), t, "scale"), g.Scalar(1, t), "scale_if_training");
        }
        // NOTE: TF1's nn.dropout: keep where uniform >= rate, then x * scale * mask.
        var keep = g.Cast(g.GreaterEqual(u, effRate), t, "keep_mask");
        return g.Mul(g.Mul(x, scale), keep, "dropout");
    }
}
