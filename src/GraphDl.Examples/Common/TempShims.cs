// TEMPORARY stand-ins for NN ops that are being added on main (Relu, LeakyRelu, losses). Delete when main has them.
namespace GraphDl
{
    public static class TempShimBuilders
    {
        public static Tensor Relu(this Graph g, Tensor x) => g.Maximum(x, g.Scalar(0, x.DType));
        public static Tensor LeakyRelu(this Graph g, Tensor x, double alpha = 0.2) => g.Maximum(x, x * alpha);
        public static Tensor SigmoidCrossEntropyWithLogits(this Graph g, Tensor labels, Tensor logits) =>
            g.Maximum(logits, g.Scalar(0, logits.DType)) - logits * labels + g.Log1p(g.Exp(-g.Abs(logits)));
        public static Tensor SparseSoftmaxCrossEntropyWithLogits(this Graph g, Tensor labels, Tensor logits)
        {
            int c = logits.Shape[-1];
            var classes = g.Const(NDArray.From(Enumerable.Range(0, c).ToArray(), 1, c));
            var oneHot = g.Cast(g.Equal(g.Reshape(labels, [-1, 1]), classes), logits.DType);
            return g.LogSumExp(logits, [1]) - g.Sum(oneHot * logits, [1]);
        }
        public static Tensor MeanSquaredError(this Graph g, Tensor labels, Tensor predictions) => g.Mean(g.Square(predictions - labels));
    }
}
