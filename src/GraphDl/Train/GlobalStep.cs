namespace GraphDl.Train;

/// <summary>The global step: how many training steps have run (TF1's <c>tf.train.get_or_create_global_step</c>).</summary>
public static class TrainUtil
{
    /// <summary>The graph's global step, or null: the one variable in <see cref="GraphKeys.GlobalStep"/>, else a variable
    /// named <c>global_step</c>.</summary>
    public static Variable? GetGlobalStep(Graph g)
    {
        var list = g.GetCollection<Variable>(GraphKeys.GlobalStep);
        if (list.Count > 1) throw new GraphBuildException($"there are {list.Count} variables in the global_step collection, expected one");
        var step = list.Count == 1 ? list[0] : g.FindVariable("global_step");
        if (step != null && step.DType is not (DType.Int32 or DType.Int64))
            throw new GraphBuildException($"existing global step '{step.Name}' is not an integer: {step.DType.Name()}");
        return step;
    }

    /// <summary>The global step, created when missing: the int64 scalar variable <c>global_step</c> (at the root scope, on
    /// <c>/cpu:0</c>, initial value 0, non-trainable) in collection <see cref="GraphKeys.GlobalStep"/>.</summary>
    public static Variable GetOrCreateGlobalStep(Graph g)
    {
        var step = GetGlobalStep(g);
        if (step != null) return step;
        // On the host, as in TF1 in practice (no GPU kernel updated int64 variables there): learning-rate schedules read
        // it, and the update kernels read the rate on the host, so a GPU global_step would cost a wait every step.
        using (g.NameScope(""))
        using (g.Device("/cpu:0"))
            step = g.Variable(NDArray.Scalar(0L), "global_step", trainable: false);
        g.AddToCollection(GraphKeys.GlobalStep, step);
        return step;
    }
}
