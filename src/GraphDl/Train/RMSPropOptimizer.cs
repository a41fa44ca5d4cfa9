namespace GraphDl.Train;

/// <summary>RMSProp (TF1's <c>RMSPropOptimizer</c>): <c>ms = decay * ms + (1 - decay) * grad²;
/// mom = momentum * mom + lr * grad / √(ms + epsilon); var -= mom</c>. Slots <c>rms</c> (starts at 1) named
/// <c>&lt;var&gt;/RMSProp</c> and <c>momentum</c> named <c>&lt;var&gt;/RMSProp_1</c>; centered adds <c>mg</c>
/// (the mean gradient, named <c>&lt;var&gt;/RMSProp_1</c>, momentum then being <c>RMSProp_2</c>) and divides by
/// <c>√(ms - mg² + epsilon)</c>.</summary>
public sealed class RMSPropOptimizer : Optimizer
{
    readonly double lr;
    readonly Tensor? lrTensor;
    readonly double decay, momentum, epsilon;
    readonly bool centered;

    /// <summary>A constant learning rate.</summary>
    public RMSPropOptimizer(double lr, double decay = 0.9, double momentum = 0.0, double epsilon = 1e-10, bool centered = false,
        string name = "RMSProp") : base(name)
    {
        this.lr = lr; this.decay = decay; this.momentum = momentum; this.epsilon = epsilon; this.centered = centered;
    }

    /// <summary>A learning rate computed in the graph.</summary>
    public RMSPropOptimizer(Tensor lr, double decay = 0.9, double momentum = 0.0, double epsilon = 1e-10, bool centered = false,
        string name = "RMSProp") : base(name)
    {
        lrTensor = CheckScalar(lr, "learning rate"); this.decay = decay; this.momentum = momentum; this.epsilon = epsilon; this.centered = centered;
    }

    /// <inheritdoc/>
    protected override void CreateSlots(Graph g, IReadOnlyList<Variable> vars)
    {
        foreach (var v in vars)
        {
            // NOTE: TF1 creates rms, [mg,] momentum, each with op name = the optimizer's name, uniquified in order.
            GetOrMakeSlot(v, "rms", Name, 1.0);
            if (centered) GetOrMakeSlot(v, "mg", Name + "_1", 0);
            GetOrMakeSlot(v, "momentum", Name + (centered ? "_2" : "_1"), 0);
        }
    }

    /// <inheritdoc/>
    protected override Operation ApplyDense(Graph g, Tensor grad, Variable var)
    {
        var t = var.DType;
        var alpha = lrTensor != null ? Hyper("learning_rate", lrTensor, t) : Hyper("learning_rate", lr, t);
        Tensor rho = Hyper("decay", decay, t), mu = Hyper("momentum", momentum, t), eps = Hyper("epsilon", epsilon, t);
        var ms = GetSlot(var, "rms")!;
        var mom = GetSlot(var, "momentum")!;
        return centered
            ? g.ApplyCenteredRMSProp(var, GetSlot(var, "mg")!, ms, mom, alpha, rho, mu, eps, grad).Op
            : g.ApplyRMSProp(var, ms, mom, alpha, rho, mu, eps, grad).Op;
    }
}
