namespace GraphDl.Train;

/// <summary>Momentum (TF1's <c>MomentumOptimizer</c>): <c>accum = momentum * accum + grad; var -= lr * accum</c>, or with
/// Nesterov <c>var -= lr * (grad + momentum * accum)</c>. Slot <c>momentum</c>, named <c>&lt;var&gt;/Momentum</c>.</summary>
public sealed class MomentumOptimizer : Optimizer
{
    readonly double lr;
    readonly Tensor? lrTensor;
    readonly double momentum;
    readonly bool nesterov;

    /// <summary>A constant learning rate.</summary>
    public MomentumOptimizer(double lr, double momentum, bool useNesterov = false, string name = "Momentum") : base(name)
    {
        this.lr = lr; this.momentum = momentum; nesterov = useNesterov;
    }

    /// <summary>A learning rate computed in the graph.</summary>
    public MomentumOptimizer(Tensor lr, double momentum, bool useNesterov = false, string name = "Momentum") : base(name)
    {
        lrTensor = CheckScalar(lr, "learning rate"); this.momentum = momentum; nesterov = useNesterov;
    }

    /// <inheritdoc/>
    protected override void CreateSlots(Graph g, IReadOnlyList<Variable> vars)
    {
        foreach (var v in vars) GetOrMakeSlot(v, "momentum", Name, 0);
    }

    /// <inheritdoc/>
    protected override Operation ApplyDense(Graph g, Tensor grad, Variable var)
    {
        var t = var.DType;
        var alpha = lrTensor != null ? Hyper("learning_rate", lrTensor, t) : Hyper("learning_rate", lr, t);
        return g.ApplyMomentum(var, GetSlot(var, "momentum")!, alpha, grad, Hyper("momentum", momentum, t), nesterov).Op;
    }
}
