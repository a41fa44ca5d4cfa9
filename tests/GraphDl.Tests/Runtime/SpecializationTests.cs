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
        public readonly Tensor X, Y, Logits, Loss;
        public readonly Variable W, B;
        public readonly Operation Train;

        public LogReg()
        {
            X = G.Placeholder(DType.Float32, Shape.Of(-1, 64), "x");
            Y = G.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
            W = G.Variable(G.RandomNormal(Shape.Of(64, 1), stddev: 0.1), "w");
            B = G.Variable(NDArray.Zeros(DType.Float32, 1), "b");
            Logits = G.MatMul(X, W) + B;
            Loss = G.Mean(G.SigmoidCrossEntropyWithLogits(Y, Logits));
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

    static void AssertBitIdentical(NDArray actual, NDArray expected, string what)
    {
        Assert.That(actual.Dims.ToArray(), Is.EqualTo(expected.Dims.ToArray()), what + " dims");
        Assert.That(actual.ToArray<float>().Select(BitConverter.SingleToInt32Bits), Is.EqualTo(expected.ToArray<float>().Select(BitConverter.SingleToInt32Bits)), what);
    }

    [Test]
    public void MlpWithSoftmaxCrossEntropyAndAdam_IsBitIdenticalWithAndWithoutSpecialization()
    {
        var g = new Graph { Seed = 7 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 12), "x");
        var labels = g.Placeholder(DType.Float32, Shape.Of(-1, 5), "labels");
        var h = g.Dense(x, 16, t => g.Relu(t), name: "hidden");
        var logits = g.Dense(h, 5, name: "out");
        var loss = g.SoftmaxCrossEntropyLoss(labels, logits);
        var train = new AdamOptimizer(0.01).Minimize(loss);
        using var on = Open(g, true);
        using var off = Open(g, false);
        (Tensor, NDArray)[] Feeds(int batch, int seed) =>
            [(x, NDArray.From(Values(batch * 12, seed), batch, 12)),
             (labels, NDArray.From(Enumerable.Range(0, batch * 5).Select(i => i % 5 == (i / 5 + seed) % 5 ? 1f : 0f).ToArray(), batch, 5))];
        for (int step = 0; step < 10; step++)
        {
            var feeds = Feeds(step < 6 ? 8 : 3, step);   // the batch changes: a second specialization
            AssertBitIdentical(on.Run([loss], feeds, [train])[0], off.Run([loss], feeds, [train])[0], $"loss at step {step}");
        }
        foreach (var v in g.TrainableVariables) AssertBitIdentical(v.Eval(on), v.Eval(off), v.Name);
        var general = on.PlanFor([x, labels], [loss], [train]);
        Assert.That(general.Specializations.Select(sp => sp.FeedDims[0][0]), Is.EquivalentTo(new[] { 8, 3 }));
        Assert.That(general.Specializations.All(sp => sp.Plan != general && sp.Plan.Steps.Length < general.Steps.Length));
    }

    [Test]
    public void BroadcastingGradients_AreBitIdenticalWithAndWithoutSpecialization()
    {
        var g = new Graph { Seed = 3 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
        var row = g.Variable(NDArray.From(Values(4, 1), 4), "row");            // broadcast over the batch
        var col = g.Variable(NDArray.From(Values(1, 2), 1, 1), "col");         // broadcast over everything
        var scale = g.Variable(NDArray.From(Values(1, 3, 0.5f)), "scale");     // [1] against [?, 4]
        var y = g.Tanh(x * row + col) * scale;
        var loss = g.Mean(g.Square(y - g.ReduceMax(y, [1], keepDims: true)));
        var grads = g.Gradients([loss], [row.Value, col.Value, scale.Value, x]);
        using var on = Open(g, true);
        using var off = Open(g, false);
        foreach (int batch in new[] { 5, 1, 5, 2, 1 })
        {
            var feeds = new[] { (x, NDArray.From(Values(batch * 4, batch), batch, 4)) };
            var a = on.Run(grads.Select(t => t!).Append(loss).ToArray(), feeds);
            var b = off.Run(grads.Select(t => t!).Append(loss).ToArray(), feeds);
            for (int i = 0; i < a.Length; i++) AssertBitIdentical(a[i], b[i], $"output {i} at batch {batch}");
            Assert.That(a[3].Dims.ToArray(), Is.EqualTo(new[] { batch, 4 }));
        }
        // The sums over broadcast dims stay; those to the shape a gradient already has go.
        var general = on.PlanFor([x], grads.Select(t => t!).Append(loss).ToArray(), []);
        Assert.That(general.Specializations.Select(sp => sp.FeedDims[0][0]), Is.EquivalentTo(new[] { 5, 1, 2 }));
        int Sums(Plan p) => p.Steps.Count(st => st.Node?.Type == "SumToShape");
        foreach (var sp in general.Specializations) Assert.That(Sums(sp.Plan), Is.InRange(3, Sums(general) - 1), $"batch {sp.FeedDims[0][0]}");
    }

    [Test]
    public void BatchDimensionChangingBetweenRuns_GivesCorrectShapesForEach()
    {
        var lr = new LogReg();
        var logits = lr.Logits;
        using var s = Open(lr.G, true);
        foreach (int batch in new[] { 32, 7, 32, 7, 1 })
        {
            var feeds = lr.Feeds(batch, batch);
            for (int rep = 0; rep < 2; rep++)
            {
                var r = s.Run([logits, lr.Loss], feeds);
                Assert.That(r[0].Dims.ToArray(), Is.EqualTo(new[] { batch, 1 }));
                var xs = feeds[0].Item2.ToArray<float>();
                var ys = feeds[1].Item2.ToArray<float>();
                var w = lr.W.Eval(s).ToArray<float>();
                double expected = 0;
                for (int i = 0; i < batch; i++)
                {
                    double z = 0;
                    for (int k = 0; k < 64; k++) z += xs[i * 64 + k] * w[k];
                    Assert.That(r[0].ToArray<float>()[i], Is.EqualTo(z).Within(1e-5), $"logit {i} at batch {batch}");
                    expected += Math.Max(z, 0) - z * ys[i] + Math.Log(1 + Math.Exp(-Math.Abs(z)));
                }
                Assert.That(r[1].Item<float>(), Is.EqualTo(expected / batch).Within(1e-5), $"loss at batch {batch}");
            }
        }
        Assert.That(s.PlanFor([lr.X, lr.Y], [logits, lr.Loss], []).Specializations.Select(sp => sp.FeedDims[0][0]), Is.EquivalentTo(new[] { 32, 7, 1 }));
    }

    [Test]
    public void ReshapeToAFedShape_IsNotFolded()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(6), "x");
        var shape = g.Placeholder(DType.Int32, Shape.Of(2), "shape");
        var r = g.Reshape(x, shape);
        var y = g.Sum(r, [1]) + g.Sum(g.Cast(g.ShapeOf(r), DType.Float32));
        using var s = new Session(g);
        var xs = NDArray.From(new float[] { 1, 2, 3, 4, 5, 6 });
        foreach (var (dims, expected) in new[] { (new[] { 2, 3 }, new float[] { 11, 20 }), (new[] { 3, 2 }, new float[] { 8, 12, 16 }), (new[] { 2, 3 }, new float[] { 11, 20 }) })
            for (int rep = 0; rep < 2; rep++)
            {
                var feeds = new[] { (x, xs), (shape, NDArray.From(dims)) };
                Assert.That(s.Run([y], feeds)[0].ToArray<float>(), Is.EqualTo(expected), $"shape {string.Join(",", dims)}");
            }
        var special = s.PlanFor([(x, xs), (shape, NDArray.From(new[] { 2, 3 }))], [y], []);
        Assert.That(special.General, Is.Not.Null, "the run is specialized on the feed dims");
        Assert.That(special.Steps.Select(st => st.Node!.Type), Does.Contain("Reshape").And.Contain("Shape"));
    }

    [Test]
    public void TracedRuns_ReportTheSpecializedStepsThatRan()
    {
        var lr = new LogReg();
        using var s = Open(lr.G, true);
        var feeds = lr.Feeds(16, 1);
        s.Run([lr.Loss], feeds, [lr.Train]);
        var trace = new StepTrace();
        s.Run([lr.Loss], feeds, [lr.Train], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        var special = s.PlanFor(feeds, [lr.Loss], [lr.Train]);
        Assert.That(special.General, Is.Not.Null);
        Assert.That(trace.Nodes.Select(n => n.Node), Is.EqualTo(special.Steps.Select(st => st.Node!.Name)));
        var mm = trace.Nodes.Single(n => n.OpType == "MatMul" && !n.Node.StartsWith("gradients"));
        Assert.That(mm.Outputs.Single().Dims, Is.EqualTo(new[] { 16, 1 }));
        Assert.That(mm.OutputBytes, Is.EqualTo(16 * 4));
        Assert.That(trace.Nodes.Select(n => n.OpType), Does.Contain("ApplyGradientDescent").And.Contain("Softplus"));
    }

    [Test]
    public void ConcurrentFirstRunsAndSteadyRuns_OnOneSession_MatchSequentialResults()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
        var w = g.Const(NDArray.From(Values(6 * 3, 11), 6, 3));
        var h = g.Sigmoid(g.MatMul(x, w));
        var outs = new[] { g.Mean(h, [0]), g.Gradients([g.Mean(g.Square(h))], [x])[0]! };
        NDArray Input(int t, int i) => NDArray.From(Values(6 * (1 + (t * 7 + i) % 4), t * 1000 + i), 1 + (t * 7 + i) % 4, 6);
        const int threads = 4, calls = 300;
        var expected = new float[threads, calls][];
        using (var seq = new Session(g, new SessionOptions { OptimizePlans = false }))
            for (int t = 0; t < threads; t++)
                for (int i = 0; i < calls; i++)
                    expected[t, i] = seq.Run(outs[(t + i) % 2], (x, Input(t, i))).ToArray<float>();
        for (int round = 0; round < 3; round++)
        {
            using var s = new Session(g);
            var actual = new float[threads, calls][];
            using var start = new Barrier(threads);
            var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
            {
                start.SignalAndWait();   // first runs race to build the same specializations
                for (int i = 0; i < calls; i++) actual[t, i] = s.Run(outs[(t + i) % 2], (x, Input(t, i))).ToArray<float>();
            })).ToList();
            workers.ForEach(th => th.Start());
            workers.ForEach(th => th.Join());
            for (int t = 0; t < threads; t++)
                for (int i = 0; i < calls; i++)
                    Assert.That(actual[t, i], Is.EqualTo(expected[t, i]), $"round {round} thread {t} call {i}");
            for (int o = 0; o < 2; o++)
            {
                var batches = (from t in Enumerable.Range(0, threads) from i in Enumerable.Range(0, calls) where (t + i) % 2 == o select 1 + (t * 7 + i) % 4).Distinct();
                Assert.That(s.PlanFor([x], [outs[o]], []).Specializations.Select(sp => sp.FeedDims[0][0]), Is.EquivalentTo(batches), $"round {round} output {o}");
            }
        }
    }

    [Test]
    public void Errors_InASpecializedRun_NameTheNode_AndUninitializedVariablesStayTyped()
    {
        var g = new Graph();
        var table = g.Placeholder(DType.Float32, Shape.Of(-1), "table");
        var idx = g.Placeholder(DType.Int32, Shape.Of(2), "idx");
        var picked = g.Gather(table, idx, name: "pick") * 2.0;
        using var s = new Session(g);
        var t = NDArray.From(new float[] { 1, 2, 3 });
        for (int i = 0; i < 2; i++)
            Assert.That(s.Run(picked, (table, t), (idx, NDArray.From(new[] { 2, 0 }))).ToArray<float>(), Is.EqualTo(new float[] { 6, 2 }));
        Assert.That(s.PlanFor([(table, t), (idx, NDArray.From(new[] { 2, 0 }))], [picked], []).General, Is.Not.Null);
        var e = Assert.Throws<SessionRunException>(() => s.Run(picked, (table, t), (idx, NDArray.From(new[] { 5, 0 }))));
        Assert.That(e!.Message, Does.Contain("pick"));

        // A specialization built while a variable is initialized; a fresh session on the same graph has it uninitialized.
        var lr = new LogReg();
        using (var ready = Open(lr.G, true))
            for (int i = 0; i < 2; i++) ready.Run([lr.Loss], lr.Feeds(4, 1), [lr.Train]);
        using var fresh = new Session(lr.G);
        var u = Assert.Throws<UninitializedVariableException>(() => fresh.Run([lr.Loss], lr.Feeds(4, 1), [lr.Train]));
        Assert.That(u!.Message, Does.Contain("w").Or.Contain("b"));
    }

    [Test]
    public void OptimizePlansOff_KeepsTheGeneralPlan()
    {
        var lr = new LogReg();
        using var off = Open(lr.G, false);
        var feeds = lr.Feeds(8, 2);
        for (int i = 0; i < 3; i++) off.Run([lr.Loss], feeds, [lr.Train]);
        var plan = off.PlanFor(feeds, [lr.Loss], [lr.Train]);
        Assert.That(plan.General, Is.Null);
        Assert.That(plan.Specializations, Is.Empty);
        Assert.That(plan.Steps.Select(st => st.Node!.Type), Does.Contain("Shape").And.Contain("ZerosLike"));
    }
}
