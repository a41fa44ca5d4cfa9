using GraphDl.Devices;
using GraphDl.Ops;
using GraphDl.Runtime;
using NUnit.Framework;

namespace GraphDl.Tests.Runtime;

public class SessionTests
{
    static (Graph g, Tensor x, Tensor y, Tensor z) Small()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        var y = g.Sum(x * x, [1]);
        var z = g.Mean(y);
        return (g, x, y, z);
    }

    [Test]
    public void Run_ReusesCachedPlan_WhateverTheOrderOfFetchesAndFeeds()
    {
        var (g, x, y, z) = Small();
        var w = g.Placeholder(DType.Float32, Shape.Scalar, "w");
        var u = z * w;
        using var s = new Session(g);
        var a = s.Run([y, u], (x, new float[,] { { 1, 2 } }), (w, 2f));
        Assert.That(s.CachedPlanCount, Is.EqualTo(1));
        var b = s.Run([u, y], (w, 2f), (x, new float[,] { { 1, 2 } }));
        Assert.That(s.CachedPlanCount, Is.EqualTo(1));
        Assert.That(b[0].ToArray<float>(), Is.EqualTo(a[1].ToArray<float>()));
        Assert.That(b[1].ToArray<float>(), Is.EqualTo(a[0].ToArray<float>()));
        s.Run(y, (x, new float[,] { { 1, 2 } }));
        Assert.That(s.CachedPlanCount, Is.EqualTo(2));
    }

    [Test]
    public void Run_OnlyNeededSubgraphRuns_UnneededPlaceholderNeedNotBeFed()
    {
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Scalar, "a");
        var b = g.Placeholder(DType.Float32, Shape.Scalar, "b");
        var sa = a * 3.0;
        _ = b * 4.0;
        using var s = new Session(g);
        Assert.That(s.Run(sa, (a, 2f)).Item<float>(), Is.EqualTo(6f));
        var plan = s.PlanFor([a], [sa], []);
        Assert.That(plan.Steps.Select(st => st.Node!.Name), Does.Not.Contain("b"));
    }

    [Test]
    public void Run_AnyTensorMayBeFed()
    {
        var (g, x, y, z) = Small();
        using var s = new Session(g);
        Assert.That(s.Run(z, (y, new float[] { 1, 3 })).Item<float>(), Is.EqualTo(2f));
    }

    [Test]
    public void Feed_Errors_AreTypedAndNameThePlaceholder()
    {
        var (g, x, y, z) = Small();
        using var s = new Session(g);
        var dtype = Assert.Throws<FeedException>(() => s.Run(z, (x, new double[,] { { 1, 2 } })));
        Assert.That(dtype!.Message, Does.Contain("'x'").And.Contain("float64").And.Contain("float32"));
        var shape = Assert.Throws<FeedException>(() => s.Run(z, (x, new float[,] { { 1, 2, 3 } })));
        Assert.That(shape!.Message, Does.Contain("[1,3]").And.Contain("[?,2]"));
        var other = new Graph().Placeholder(DType.Float32, Shape.Scalar, "stranger");
        var unknown = Assert.Throws<FeedException>(() => s.Run(z, (x, new float[,] { { 1, 2 } }), (other, 1f)));
        Assert.That(unknown!.Message, Does.Contain("stranger"));
    }

    [Test]
    public void Variable_ReadBeforeInit_NamesTheVariable()
    {
        var g = new Graph();
        var v = g.Variable(NDArray.From(new float[] { 1, 2 }), "weights");
        var y = v.Value * 2.0;
        using var s = new Session(g);
        var e = Assert.Throws<UninitializedVariableException>(() => s.Run(y));
        Assert.That(e!.Message, Does.Contain("weights"));
        v.Load(NDArray.From(new float[] { 3, 4 }), s);
        Assert.That(s.Run(y).ToArray<float>(), Is.EqualTo(new float[] { 6, 8 }));
        Assert.Throws<FeedException>(() => v.Load(NDArray.From(new float[] { 3, 4, 5 }), s));
    }

    [Test]
    public void EvalAndOpRun_WorkAsInTf1()
    {
        var g = new Graph();
        var v = g.Variable(NDArray.From(new float[] { 1 }), "v");
        var inc = v.AssignAdd(g.Const(NDArray.From(new float[] { 2 })));
        using var s = new Session(g);
        g.GlobalVariablesInitializer().Run(s);
        inc.Op.Run(s);
        Assert.That(v.Value.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 3 }));
    }

    [Test]
    public void Finalize_MakesAddingANodeThrow()
    {
        var g = new Graph();
        var a = g.Const(1f);
        g.Finalize();
        var e = Assert.Throws<GraphBuildException>(() => _ = a * 2.0);
        Assert.That(e!.Message, Does.Contain("finalized"));
    }

    [Test]
    public void GrowthWarning_FiresWhenOpsAreBuiltInTheLoop_AndNotForAStaticGraph()
    {
        var warnings = new List<string>();
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Scalar, "x");
        var y = x * 2.0;
        using (var s = new Session(g, new SessionOptions { WarningSink = warnings.Add }))
        {
            for (int i = 0; i < 20; i++) s.Run(y, (x, (float)i));
            Assert.That(warnings, Is.Empty);
        }
        using (var s = new Session(g, new SessionOptions { WarningSink = warnings.Add }))
        {
            for (int i = 0; i < 20; i++) s.Run(x * (double)i, (x, 1f)); // the leak: a new op every step
            Assert.That(warnings, Has.Count.EqualTo(1));
            Assert.That(warnings[0], Does.Contain("training loop"));
        }
    }

    [Test]
    public void TrainingStep_AllocatesAtMost1KiBPerRunBeyondItsResults()
    {
        foreach (int n in new[] { 4, 256 })
        {
            var g = new Graph { Seed = 1 };
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, n), "x");
            var w = g.Variable(g.RandomNormal(Shape.Of(n, n), stddev: 0.01), "w");
            var b = g.Variable(NDArray.Zeros(DType.Float32, n), "b");
            var h = g.Tanh(g.MatMul(x, w.Value) + b.Value);
            var loss = g.Mean(g.Square(h - 1.0));
            var grads = g.Gradients([loss], [w.Value, b.Value]);
            var step = g.Group([w.AssignSub(grads[0]! * 0.1).Op, b.AssignSub(grads[1]! * 0.1).Op]);
            using var s = new Session(g);
            s.Run(g.GlobalVariablesInitializer());
            var xs = NDArray.From(Enumerable.Range(0, 32 * n).Select(i => (float)Math.Sin(i)).ToArray(), 32, n);
            var feeds = new[] { (x, xs) };
            for (int i = 0; i < 10; i++) s.Run([loss], feeds, [step]);
            // GC.GetTotalAllocatedBytes(true) also counts the test host's threads (a few hundred bytes now and
            // then), so take the best of three windows; a real per-step allocation shows in every window.
            long perRun = long.MaxValue;
            for (int attempt = 0; attempt < 3; attempt++)
            {
                long before = GC.GetTotalAllocatedBytes(true);
                for (int i = 0; i < 100; i++) s.Run([loss], feeds, [step]);
                perRun = Math.Min(perRun, (GC.GetTotalAllocatedBytes(true) - before) / 100);
            }
            TestContext.Out.WriteLine($"n={n}: {perRun} bytes per Run");
            Assert.That(perRun, Is.LessThanOrEqualTo(1024 + 200), $"n={n}: {perRun} bytes per Run");
        }
    }

    [Test]
    public void ConcurrentRuns_GiveResultsBitIdenticalToSequentialRuns()
    {
        var g = new Graph { Seed = 3 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 8), "x");
        var w = g.Const(NDArray.From(Enumerable.Range(0, 64).Select(i => (float)Math.Cos(i)).ToArray(), 8, 8));
        var h = g.Tanh(g.MatMul(x, w));
        var outs = new[] { g.Sum(h, [1]), g.ReduceMax(h), g.Mean(h * h, [0]) };
        using var s = new Session(g);
        NDArray Input(int t, int i) => NDArray.From(Enumerable.Range(0, 8 * (1 + (t + i) % 5)).Select(k => (float)Math.Sin(k * 0.1 + t + i * 0.01)).ToArray(), 1 + (t + i) % 5, 8);
        const int threads = 4, calls = 1000;
        var expected = new float[threads, calls][];
        using (var seq = new Session(g))
            for (int t = 0; t < threads; t++)
                for (int i = 0; i < calls; i++)
                    expected[t, i] = seq.Run([outs[(t + i) % 3]], (x, Input(t, i)))[0].ToArray<float>();
        var actual = new float[threads, calls][];
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (int i = 0; i < calls; i++) actual[t, i] = s.Run([outs[(t + i) % 3]], (x, Input(t, i)))[0].ToArray<float>();
        })).ToList();
        workers.ForEach(th => th.Start());
        workers.ForEach(th => th.Join());
        for (int t = 0; t < threads; t++)
            for (int i = 0; i < calls; i++)
                Assert.That(actual[t, i], Is.EqualTo(expected[t, i]), $"thread {t} call {i}");
    }

    [Test]
    public void SameSeedGraphAndFeeds_AreBitIdenticalWith1_2And3Threads()
    {
        float[][] Train(int threads)
        {
            var g = new Graph { Seed = 42 };
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 96), "x");
            var w1 = g.Variable(g.RandomNormal(Shape.Of(96, 160), stddev: 0.1), "w1");
            var w2 = g.Variable(g.TruncatedNormal(Shape.Of(160, 3), stddev: 0.1), "w2");
            var y = g.MatMul(g.Tanh(g.MatMul(x, w1.Value)), w2.Value);
            var loss = g.Mean(g.Square(y));
            var grads = g.Gradients([loss], [w1.Value, w2.Value]);
            var step = g.Group([w1.AssignSub(grads[0]! * 0.05).Op, w2.AssignSub(grads[1]! * 0.05).Op]);
            using var s = new Session(g, new SessionOptions { IntraOpThreads = threads });
            s.Run(g.GlobalVariablesInitializer());
            var xs = NDArray.From(Enumerable.Range(0, 200 * 96).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), 200, 96);
            for (int i = 0; i < 5; i++) s.Run([loss], [(x, xs)], [step]);
            return [s.Run(loss, (x, xs)).ToArray<float>(), w1.Eval(s).ToArray<float>(), w2.Eval(s).ToArray<float>()];
        }
        var one = Train(1);
        Assert.That(Train(2), Is.EqualTo(one));
        Assert.That(Train(3), Is.EqualTo(one));
    }
}

public class DeviceSeamTests
{
    /// <summary>A second device that keeps its own buffers and refuses host arrays: proves the planner copies at
    /// device boundaries.</summary>
    sealed class FakeDevice : Device
    {
        public int CopiesIn, CopiesOut, Kernels;
        public readonly List<string> Calls = [];
        public override string Name => "/device:FAKE:0";
        protected override void SynchronizeCore() => Calls.Add("sync");
        public override bool CanRun(OpDef op) => op.Name is "MatMul" or "Add" or "Relu" or "Tanh" or "Mul";
        protected override NDArray AllocateCore(DType dtype, ReadOnlySpan<int> dims) => NDArray.Zeros(dtype, dims.ToArray());
        protected override void CopyInCore(NDArray host, NDArray destination) { CopiesIn++; Array.Copy(host.data, destination.data, host.Size); }
        protected override void CopyOutCore(NDArray source, NDArray host) { CopiesOut++; Array.Copy(source.data, host.data, source.Size); }
        protected override void RunCore(KernelContext context)
        {
            for (int i = 0; i < context.InputCount; i++)
                if (context.Input(i).device != this) throw new InvalidOperationException($"{context.Node} got a buffer that is not on {Name}");
            Kernels++;
            Calls.Add(context.Node.Type);
            context.Node.Def.Cpu(context);
        }
    }

    [Test]
    public void TracedRun_WaitsForEachDeviceStep_SoItsDurationCoversTheWork()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        Tensor h;
        using (g.Device("/device:FAKE:0")) h = g.Relu(g.Tanh(x));
        var fake = new FakeDevice();
        using var s = new Session(g, new SessionOptions { Devices = [fake] });
        var xs = NDArray.From(new float[] { 1, -2, 3, -4 }, 2, 2);
        s.Run(h, (x, xs));
        Assert.That(fake.Calls, Is.EqualTo(new[] { "Tanh", "Relu" }), "an untraced run never waits for the device");
        fake.Calls.Clear();
        var trace = new StepTrace();
        s.Run([h], [(x, xs)], [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        // The copy of x in, then each kernel, each followed by a wait (a GPU's work is asynchronous).
        Assert.That(fake.Calls, Is.EqualTo(new[] { "sync", "Tanh", "sync", "Relu", "sync" }));
        Assert.That(trace.Nodes.Select(n => n.OpType), Is.EqualTo(new[] { "_Copy", "Tanh", "Relu" }));
    }

    [Test]
    public void Planner_InsertsCopiesAtDeviceBoundaries_AndResultsMatchCpu()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var w = g.Const(NDArray.From(new float[] { 1, -2, 3, 0.5f, 1, -1 }, 3, 2));
        Tensor h;
        using (g.Device("/device:FAKE:0"))
            h = g.Tanh(g.MatMul(x, w)) * 2.0;
        var y = g.Sum(h, [1]);
        var xs = NDArray.From(new float[] { 0.1f, 0.2f, 0.3f, -1, 0, 1 }, 2, 3);
        using var cpu = new Session(g);
        var expected = cpu.Run([y, h], (x, xs));
        var fake = new FakeDevice();
        using var s = new Session(g, new SessionOptions { Devices = [fake] });
        var actual = s.Run([y, h], (x, xs));
        Assert.That(actual[0].ToArray<float>(), Is.EqualTo(expected[0].ToArray<float>()));
        Assert.That(actual[1].ToArray<float>(), Is.EqualTo(expected[1].ToArray<float>()));
        var plan = s.PlanFor([x], [y, h], []);
        Assert.That(plan.Steps.Where(st => st.Node != null && st.Device == fake).Select(st => st.Node!.Type), Is.EquivalentTo(new[] { "MatMul", "Tanh", "Mul" }));
        // x, w and the scalar 2.0 go in; h comes back for Sum, and again as a fetch.
        Assert.That(plan.StepCopies, Is.EqualTo(4));
        Assert.That(fake.Kernels, Is.EqualTo(3));
        Assert.That(fake.CopiesIn, Is.EqualTo(3));
        Assert.That(fake.CopiesOut, Is.EqualTo(2));
        // A plan with device steps is not specialized on its feed dims (it keeps one set of device buffers per frame).
        Assert.That(s.Run([y, h], (x, xs))[0].ToArray<float>(), Is.EqualTo(expected[0].ToArray<float>()));
        Assert.That(s.PlanFor([(x, xs)], [y, h], []), Is.SameAs(plan));
        Assert.That(plan.Specializations, Is.Empty);
    }
}

public class BufferLifetimeTests
{
    [Test]
    public void ChainOfOps_ReusesBuffersWithinOneRun()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        var y = x;
        for (int i = 0; i < 20; i++) y = g.Tanh(y * 0.5 + 0.1);   // 60 intermediate tensors
        var z = g.Reshape(y, [-1, 2]) + 1.0;                        // a view must keep its buffer alive
        using var s = new Session(g);
        var xs = NDArray.From(Enumerable.Range(0, 1 << 18).Select(i => (float)Math.Sin(i)).ToArray());
        long before = GC.GetTotalAllocatedBytes(true);
        var r = s.Run([z, y], (x, xs));
        long bytes = GC.GetTotalAllocatedBytes(true) - before;
        long tensor = 4L << 18;
        // 60 separate buffers would be 60 tensors; with lifetimes a few suffice (plus the two fetched copies).
        Assert.That(bytes, Is.LessThan(8 * tensor), $"{bytes / (double)tensor:F1} tensors allocated");
        var expect = xs.ToArray<float>();
        for (int i = 0; i < 20; i++) expect = expect.Select(v => MathF.Tanh(v * 0.5f + 0.1f)).ToArray();
        // MathF.Tanh and the SIMD tanh differ in the last bits; any reuse bug would be far larger.
        GraphDl.Tests.Ops.NumericAssert.AllClose(r[1].ToDoubleArray(), expect.Select(v => (double)v).ToArray(), 1e-6, 1e-6, "y");
        GraphDl.Tests.Ops.NumericAssert.AllClose(r[0].ToDoubleArray(), expect.Select(v => v + 1.0).ToArray(), 1e-6, 1e-6, "z");
    }
}

public class ParallelKernelTests
{
    [Test]
    public void LargeElementwiseOps_AreBitIdenticalWith1_2And3Threads()
    {
        float[] Compute(int threads)
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
            var y = g.Sigmoid(g.Tanh(x * 1.7 + 0.3) * x) - g.Exp(x * 0.01);
            using var s = new Session(g, new SessionOptions { IntraOpThreads = threads });
            var xs = NDArray.From(Enumerable.Range(0, 300_001).Select(i => (float)Math.Sin(i * 0.001) * 3).ToArray());
            return s.Run(y, (x, xs)).ToArray<float>();
        }
        var one = Compute(1);
        Assert.That(Compute(2), Is.EqualTo(one));
        Assert.That(Compute(3), Is.EqualTo(one));
        Assert.That(one[12345], Is.EqualTo(1 / (1 + MathF.Exp(-MathF.Tanh(MathF.Sin(12.345f) * 3 * 1.7f + 0.3f) * MathF.Sin(12.345f) * 3)) - MathF.Exp(MathF.Sin(12.345f) * 3 * 0.01f)).Within(1e-5));
    }
}

public class CommonSubexpressionTests
{
    [Test]
    public void PureDuplicates_RunOnce_StatefulOnesDoNot()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var a = g.Tanh(x);
        var b = g.Tanh(x);                    // same op, same input: merged
        var c = g.Tanh(x * 1.0);              // another input: kept
        var r1 = g.RandomNormal(Shape.Of(3), seed: 5);
        var r2 = g.RandomNormal(Shape.Of(3), seed: 5);   // stateful: never merged
        using var s = new Session(g);
        var feed = NDArray.From(new float[] { 0.1f, 0.2f, 0.3f }, 1, 3);
        var res = s.Run([a, b, c, r1, r2], (x, feed));
        Assert.That(res[1].ToArray<float>(), Is.EqualTo(res[0].ToArray<float>()));
        var plan = s.PlanFor([x], [a, b, c, r1, r2], []);
        Assert.That(plan.Steps.Count(st => st.Node?.Type == "Tanh"), Is.EqualTo(2));
        Assert.That(plan.Steps.Count(st => st.Node?.Type == "RandomStandardNormal"), Is.EqualTo(2));
    }
}
