using GraphDl.Runtime;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Runtime;

/// <summary>Plans specialized on feed dims (<see cref="SessionOptions.OptimizePlans"/>): the same results, bit for bit, as
/// the general plan, with the shape bookkeeping gone.</summary>
public class SpecializationTests
{
    static float[] Values(int n, int seed, float scale = 1)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1) * scale).ToArray();
    }

    /// <summary>The bench's logistic regression: 64 features, mean sigmoid cross-entropy, plain gradient descent.</summary>
    sealed class LogReg
    {
        public readonly Graph G = new() { Seed = 1 };
        public readonly Tensor X, Y, Loss;
        public readonly Variable W, B;
        public readonly Operation Train;

        public LogReg()
        {
            X = G.Placeholder(DType.Float32, Shape.Of(-1, 64), "x");
            Y = G.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
            W = G.Variable(G.RandomNormal(Shape.Of(64, 1), stddev: 0.1), "w");
            B = G.Variable(NDArray.Zeros(DType.Float32, 1), "b");
            Loss = G.Mean(G.SigmoidCrossEntropyWithLogits(Y, G.MatMul(X, W) + B));
            Train = new GradientDescentOptimizer(0.1).Minimize(Loss);
        }

        public (Tensor, NDArray)[] Feeds(int batch, int seed) =>
            [(X, NDArray.From(Values(batch * 64, seed), batch, 64)),
             (Y, NDArray.From(Values(batch, seed + 1000).Select(v => v > 0 ? 1f : 0f).ToArray(), batch, 1))];
    }

    static Session Open(Graph g, bool optimize)
    {
        var s = new Session(g, new SessionOptions { OptimizePlans = optimize });
        s.Run(g.GlobalVariablesInitializer());
        return s;
    }

    [Test]
    public void LogisticRegression_SpecializedStep_IsBitIdenticalToTheGeneralPlan_AndDropsTheShapeBookkeeping()
    {
        var lr = new LogReg();
        using var on = Open(lr.G, true);
        using var off = Open(lr.G, false);
        for (int step = 0; step < 12; step++)
        {
            var feeds = lr.Feeds(32, step % 4);
            float a = on.Run([lr.Loss], feeds, [lr.Train])[0].Item<float>();
            float b = off.Run([lr.Loss], feeds, [lr.Train])[0].Item<float>();
            Assert.That(BitConverter.SingleToInt32Bits(a), Is.EqualTo(BitConverter.SingleToInt32Bits(b)), $"loss at step {step}");
        }
        Assert.That(lr.W.Eval(on).ToArray<float>(), Is.EqualTo(lr.W.Eval(off).ToArray<float>()));
        Assert.That(lr.B.Eval(on).ToArray<float>(), Is.EqualTo(lr.B.Eval(off).ToArray<float>()));

        var general = on.PlanFor([lr.X, lr.Y], [lr.Loss], [lr.Train]);
        var special = on.PlanFor(lr.Feeds(32, 0), [lr.Loss], [lr.Train]);
        Assert.That(special, Is.Not.SameAs(general));
        Assert.That(off.PlanFor(lr.Feeds(32, 0), [lr.Loss], [lr.Train]).Specializations, Is.Empty);
        var types = special.Steps.Select(st => st.Node!.Type).ToList();
        TestContext.Out.WriteLine($"general {general.Steps.Length} steps, specialized {types.Count}: {string.Join(" ", types)}");
        Assert.That(types, Has.None.AnyOf("Shape", "Size", "ZerosLike", "OnesLike", "ReducedShape", "BroadcastTo", "Cast", "Identity", "Const"));
        Assert.That(types.Count(t => t == "MatMul"), Is.EqualTo(2));
        Assert.That(types.Count(t => t == "ApplyGradientDescent"), Is.EqualTo(2));
        Assert.That(types.Count, Is.LessThan(general.Steps.Length / 2));
    }
}
