namespace GraphDl.Train;

/// <summary>Weight penalties for <see cref="Graph.GetVariable"/> and <c>Dense</c> (TF1's <c>tf.contrib.layers.*_regularizer</c>):
/// each maps a weight tensor to a scalar added to <see cref="GraphKeys.RegularizationLosses"/>.</summary>
public static class Regularizers
{
    /// <summary><c>scale * sum(w²) / 2</c> (TF1's <c>l2_regularizer</c>, which uses <c>l2_loss</c>).</summary>
    public static Func<Tensor, Tensor> L2(double scale)
    {
        Check(scale, nameof(scale));
        return w => { using var _ = w.Graph.NameScope("l2_regularizer"); return L2Term(w, scale); };
    }

    /// <summary><c>scale * sum(|w|)</c> (TF1's <c>l1_regularizer</c>).</summary>
    public static Func<Tensor, Tensor> L1(double scale)
    {
        Check(scale, nameof(scale));
        return w => { using var _ = w.Graph.NameScope("l1_regularizer"); return L1Term(w, scale); };
    }

    /// <summary><c>l1 * sum(|w|) + l2 * sum(w²) / 2</c> (TF1's <c>l1_l2_regularizer</c>).</summary>
    public static Func<Tensor, Tensor> L1L2(double l1, double l2)
    {
        Check(l1, nameof(l1));
        Check(l2, nameof(l2));
        return w =>
        {
            var g = w.Graph;
            using var _ = g.NameScope("l1_l2_regularizer");
            return g.Add(L1Term(w, l1), L2Term(w, l2), "value");
        };
    }

    static Tensor L2Term(Tensor w, double scale)
    {
        var g = w.Graph;
        return g.Mul(g.Scalar(scale, w.DType, "scale"), g.Sum(g.Square(w)) * 0.5, "value");
    }

    static Tensor L1Term(Tensor w, double scale)
    {
        var g = w.Graph;
        return g.Mul(g.Scalar(scale, w.DType, "scale"), g.Sum(g.Abs(w)), "value");
    }

    static void Check(double scale, string name)
    {
        if (!(scale >= 0)) throw new ArgumentOutOfRangeException(name, scale, "regularization scale must be non-negative");
    }
}

/// <summary>Loss helpers (TF1's <c>tf.losses</c>).</summary>
public static class Losses
{
    /// <summary>The sum of <see cref="GraphKeys.RegularizationLosses"/> (TF1's <c>get_regularization_loss</c>); a float32 0
    /// when the collection is empty.</summary>
    public static Tensor RegularizationLoss(Graph g)
    {
        var terms = g.GetCollection<Tensor>(GraphKeys.RegularizationLosses);
        if (terms.Count == 0) return g.Scalar(0, DType.Float32, "total_regularization_loss");
        if (terms.Count == 1) return g.Identity(terms[0], "total_regularization_loss");
        var dt = terms[0].DType;
        return g.AddN(terms.Select(t => t.DType == dt ? t : g.Cast(t, dt)).ToList(), "total_regularization_loss");
    }
}
