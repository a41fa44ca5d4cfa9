namespace GraphDl.Train;

/// <summary>Adam (TF1's <c>AdamOptimizer</c>): <c>lr_t = lr √(1 - β₂ᵗ) / (1 - β₁ᵗ); m = β₁ m + (1 - β₁) g;
/// v = β₂ v + (1 - β₂) g²; var -= lr_t m / (√v + ε)</c>. Slots <c>m</c> and <c>v</c> named <c>&lt;var&gt;/Adam</c> and
/// <c>&lt;var&gt;/Adam_1</c>; the powers β₁ᵗ and β₂ᵗ are the non-trainable variables <c>beta1_power</c> and
/// <c>beta2_power</c> (one pair per optimizer and graph, starting at β₁ and β₂), advanced after every update of a step.</summary>
/// <remarks>TF1 keeps the β powers in float32 whatever the variables' dtype; here they take the dtype of the first variable
/// (by name), so a float64 model trains in float64 throughout.</remarks>
public sealed class AdamOptimizer : Optimizer
{
    readonly double lr;
    readonly Tensor? lrTensor;
    readonly double beta1, beta2, epsilon;
    readonly Dictionary<Graph, (Variable B1, Variable B2)> powers = [];

    /// <summary>A constant learning rate.</summary>
    public AdamOptimizer(double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, string name = "Adam") : base(name)
    {
        this.lr = lr; this.beta1 = beta1; this.beta2 = beta2; this.epsilon = epsilon;
    }

    /// <summary>A learning rate computed in the graph.</summary>
    public AdamOptimizer(Tensor lr, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, string name = "Adam") : base(name)
    {
        lrTensor = CheckScalar(lr, "learning rate"); this.beta1 = beta1; this.beta2 = beta2; this.epsilon = epsilon;
    }

    /// <summary>The <c>beta1_power</c> and <c>beta2_power</c> variables of this optimizer in <paramref name="g"/>, or null
    /// before the first <see cref="Optimizer.ApplyGradients"/>.</summary>
    public (Variable Beta1Power, Variable Beta2Power)? GetBetaAccumulators(Graph g) => powers.TryGetValue(g, out var p) ? p : null;

    /// <inheritdoc/>
    protected override void CreateSlots(Graph g, IReadOnlyList<Variable> vars)
    {
        if (!powers.ContainsKey(g))
        {
            var first = vars.OrderBy(v => v.Name, StringComparer.Ordinal).First();
            // On the host, wherever the variables are (TF1 colocates them with the first variable): the update kernels
            // read their scalar hyperparameters on the host, so β powers on a GPU would cost a copy to the host and a
            // wait on the GPU in every step. Their own update (two scalar multiplications) runs on the CPU.
            using (g.Device("/cpu:0"))
            using (g.NameScope(""))
            {
                var b1 = g.Variable(Scalar(beta1, first.DType), "beta1_power", trainable: false);
                var b2 = g.Variable(Scalar(beta2, first.DType), "beta2_power", trainable: false);
                powers[g] = (b1, b2);
            }
        }
        foreach (var v in vars)
        {
            GetOrMakeSlot(v, "m", Name, 0);
            GetOrMakeSlot(v, "v", Name + "_1", 0);
        }
    }

    static NDArray Scalar(double v, DType t) => t == DType.Float64 ? NDArray.Scalar(v) : NDArray.Scalar((float)v);

    /// <inheritdoc/>
    protected override Operation ApplyDense(Graph g, Tensor grad, Variable var)
    {
        var t = var.DType;
        var (b1p, b2p) = powers[g];
        var alpha = lrTensor != null ? Hyper("learning_rate", lrTensor, t) : Hyper("learning_rate", lr, t);
        return g.ApplyAdam(var, GetSlot(var, "m")!, GetSlot(var, "v")!,
            Hyper("beta1_power", b1p.Value, t), Hyper("beta2_power", b2p.Value, t), alpha,
            Hyper("beta1", beta1, t), Hyper("beta2", beta2, t), Hyper("epsilon", epsilon, t), grad).Op;
    }

    /// <inheritdoc/>
    protected override Operation Finish(Graph g, IReadOnlyList<Operation> updates, string name)
    {
        var (b1p, b2p) = powers[g];
        Operation u1, u2;
        using (g.ControlDependencies([.. updates]))
        using (g.Device("/cpu:0"))
        {
            u1 = b1p.Assign(b1p.Value * Hyper("beta1", beta1, b1p.DType)).Op;
            u2 = b2p.Assign(b2p.Value * Hyper("beta2", beta2, b2p.DType)).Op;
        }
        return g.Group([.. updates, u1, u2], name);
    }
}
