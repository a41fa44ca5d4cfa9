// TEMPORARY stand-ins for APIs that are being added on main (GraphDl.Train optimizers, Dense, NN ops and losses).
// Delete this file when main has them.
namespace GraphDl.Train
{
    public abstract class Optimizer
    {
        protected Optimizer(double lr) => LearningRate = lr;
        public double LearningRate { get; }
        public Operation Minimize(Tensor loss, Variable? globalStep = null, IReadOnlyList<Variable>? varList = null)
        {
            var g = loss.Graph;
            var vars = varList ?? g.TrainableVariables;
            var grads = g.Gradients([loss], vars.Select(v => v.Value).ToArray());
            var updates = new List<Operation>();
            for (int i = 0; i < vars.Count; i++)
                if (grads[i] is { } gr)
                    updates.Add(Apply(g, vars[i], gr).Op);
            if (globalStep != null)
                using (g.ControlDependencies(updates.ToArray()))
                    updates.Add(globalStep.AssignAdd(g.Scalar(1, globalStep.DType)).Op);
            return g.Group(updates);
        }
        protected abstract Tensor Apply(Graph g, Variable v, Tensor grad);
        protected static Variable Slot(Graph g, Variable v, string name) => g.Variable(g.Zeros(v.Shape, v.DType), v.Name.Replace('/', '_') + "_" + name, trainable: false);
    }

    public sealed class GradientDescentOptimizer(double lr) : Optimizer(lr)
    {
        protected override Tensor Apply(Graph g, Variable v, Tensor grad) => v.AssignSub(grad * LearningRate);
    }

    public sealed class MomentumOptimizer(double lr, double momentum, bool useNesterov = false) : Optimizer(lr)
    {
        protected override Tensor Apply(Graph g, Variable v, Tensor grad)
        {
            var acc = Slot(g, v, "Momentum");
            var a = acc.Assign(acc.Value * momentum + grad);
            return v.AssignSub(useNesterov ? (grad + a * momentum) * LearningRate : a * LearningRate);
        }
    }

    public sealed class RMSPropOptimizer(double lr, double decay = 0.9, double momentum = 0, double epsilon = 1e-10) : Optimizer(lr)
    {
        protected override Tensor Apply(Graph g, Variable v, Tensor grad)
        {
            var ms = Slot(g, v, "RMSProp");
            var mom = Slot(g, v, "Momentum");
            var msNew = ms.Assign(ms.Value * decay + g.Square(grad) * (1 - decay));
            var momNew = mom.Assign(mom.Value * momentum + grad * LearningRate / g.Sqrt(msNew + epsilon));
            return v.AssignSub(momNew);
        }
    }

    public sealed class AdamOptimizer(double lr = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8) : Optimizer(lr)
    {
        protected override Tensor Apply(Graph g, Variable v, Tensor grad)
        {
            var m = Slot(g, v, "Adam");
            var s = Slot(g, v, "Adam_1");
            var t = g.Variable(g.Scalar(0, v.DType), v.Name.Replace('/', '_') + "_t", trainable: false);
            var tNew = t.AssignAdd(g.Scalar(1, v.DType));
            var mNew = m.Assign(m.Value * beta1 + grad * (1 - beta1));
            var sNew = s.Assign(s.Value * beta2 + g.Square(grad) * (1 - beta2));
            var lrT = LearningRate * g.Sqrt(1 - Pow(g, beta2, tNew)) / (1 - Pow(g, beta1, tNew));
            return v.AssignSub(lrT * mNew / (g.Sqrt(sNew) + epsilon));
        }
        static Tensor Pow(Graph g, double b, Tensor t) => g.Exp(t * Math.Log(b));
    }

    public static class Regularizers
    {
        public static Func<Tensor, Tensor> L2(double scale) => x => x.Graph.Sum(x.Graph.Square(x)) * (scale / 2);
        public static Func<Tensor, Tensor> L1(double scale) => x => x.Graph.Sum(x.Graph.Abs(x)) * scale;
    }

    public static class Losses
    {
        public static Tensor RegularizationLoss(Graph g)
        {
            var l = g.GetCollection<Tensor>(GraphKeys.RegularizationLosses);
            return l.Count == 0 ? g.Scalar(0, DType.Float32) : g.AddN(l.ToList());
        }
    }
}

namespace GraphDl
{
    public static class TempShimBuilders
    {
        static readonly System.Runtime.CompilerServices.ConditionalWeakTable<Graph, Dictionary<string, int>> s_names = new();

        public static Tensor Dense(this Graph g, Tensor x, int units, Func<Tensor, Tensor>? activation = null, bool useBias = true,
            IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null, Func<Tensor, Tensor>? kernelRegularizer = null,
            string? name = null)
        {
            var counts = s_names.GetOrCreateValue(g);
            string baseName = name ?? "dense";
            counts.TryGetValue(baseName, out int n);
            counts[baseName] = n + 1;
            string scope = n == 0 ? baseName : $"{baseName}_{n}";
            using (g.VariableScope(scope))
            {
                var k = g.GetVariable("kernel", Shape.Of(x.Shape[-1], units), initializer: kernelInitializer, regularizer: kernelRegularizer);
                Tensor y = g.MatMul(x, k);
                if (useBias)
                    y = y + g.GetVariable("bias", Shape.Of(units), initializer: biasInitializer ?? Train.Initializers.Zeros());
                return activation != null ? activation(y) : y;
            }
        }

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

namespace GraphDl
{
    public static class TempShimDropout
    {
        // TEMPORARY: identity until main has DropoutLayer.
        public static Tensor DropoutLayer(this Graph g, Tensor x, double rate, Tensor training, int? seed = null) => x;
    }
}
