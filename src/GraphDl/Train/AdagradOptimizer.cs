namespace GraphDl.Train;

/// <summary>Adagrad (TF1's <c>AdagradOptimizer</c>): <c>accum += grad²; var -= lr * grad / √accum</c>, no epsilon; the
/// accumulator starts at <c>initialAccumulatorValue</c>. Slot <c>accumulator</c>, named <c>&lt;var&gt;/Adagrad</c>.</summary>
public sealed class AdagradOptimizer : Optimizer
{
    readonly double lr;
    readonly Tensor? lrTensor;
    readonly double initial;

    /// <summary>A constant learning rate.</summary>
    public AdagradOptimizer(double lr, double initialAccumulatorValue = 0.1, string name = "Adagrad") : base(name)
    {
        this.lr = lr; initial = Check(initialAccumulatorValue);
    }

    /// <summary>A learning rate computed in the graph.</summary>
    public AdagradOptimizer(Tensor lr, double initialAccumulatorValue = 0.1, string name = "Adagrad") : base(name)
    {
        lrTensor = CheckScalar(lr, "learning rate"); initial = Check(initialAccumulatorValue);
    }

    static double Check(double v) => v > 0 ? v :
        throw new ArgumentOutOfRangeException(nameof(v), v, "initial accumulator value must be positive");

    /// <inheritdoc/>
    protected override void CreateSlots(Graph g, IReadOnlyList<Variable> vars)
    {
        foreach (var v in vars) GetOrMakeSlot(v, "accumulator", Name, initial);
    }

    /// <inheritdoc/>
    protected override Operation ApplyDense(Graph g, Tensor grad, Variable var)
    {
        var alpha = lrTensor != null ? Hyper("learning_rate", lrTensor, var.DType) : Hyper("learning_rate", lr, var.DType);
        return g.ApplyAdagrad(var, GetSlot(var, "accumulator")!, alpha, grad).Op;
    }
}
