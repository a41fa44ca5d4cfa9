namespace GraphDl.Train;

/// <summary>Plain gradient descent, <c>var -= learning_rate * grad</c> (TF1's <c>GradientDescentOptimizer</c>).</summary>
public sealed class GradientDescentOptimizer : Optimizer
{
    readonly double lr;
    readonly Tensor? lrTensor;

    /// <summary>A constant learning rate.</summary>
    public GradientDescentOptimizer(double learningRate, string name = "GradientDescent") : base(name) => lr = learningRate;

    /// <summary>A learning rate computed in the graph (a decay schedule, a placeholder).</summary>
    public GradientDescentOptimizer(Tensor learningRate, string name = "GradientDescent") : base(name) =>
        lrTensor = CheckScalar(learningRate, "learning rate");

    /// <inheritdoc/>
    protected override Operation ApplyDense(Graph g, Tensor grad, Variable var)
    {
        var alpha = lrTensor != null ? Hyper("learning_rate", lrTensor, var.DType) : Hyper("learning_rate", lr, var.DType);
        return g.ApplyGradientDescent(var, alpha, grad).Op;
    }
}
