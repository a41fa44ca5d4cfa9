using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Memory;
using GraphDl.Ops;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

public class CatalogTests
{
    [Test]
    public void EveryOp_HasAGpuKernel_OrACpuOnlyEntry_NotBoth()
    {
        var unaccounted = OpCatalog.All.Where(op => !GpuKernels.Has(op) && !CpuOnlyOps.Reasons.ContainsKey(op)).Select(op => op.Name).ToList();
        Assert.That(unaccounted, Is.Empty, "ops with neither a GPU kernel nor a CpuOnlyOps entry");
        var both = CpuOnlyOps.Reasons.Keys.Where(GpuKernels.Has).Select(op => op.Name).ToList();
        Assert.That(both, Is.Empty, "ops listed as CPU-only that have a GPU kernel");
        var strangers = GpuKernels.Ops.Concat(CpuOnlyOps.Reasons.Keys).Where(op => Array.IndexOf(OpCatalog.All, op) < 0).Select(op => op.Name).ToList();
        Assert.That(strangers, Is.Empty, "ops not in OpCatalog.All");
    }

    [Test]
    public void CanRun_IsTrueExactlyForOpsWithAGpuKernel()
    {
        foreach (var op in OpCatalog.All)
            Assert.That(GpuFixture.Gpu.CanRun(op), Is.EqualTo(!CpuOnlyOps.Reasons.ContainsKey(op)), op.Name);
    }
}

public class PlacementTests
{
    [Test]
    public void MlpTrainingSteps_OnTheGpu_MatchTheCpu([Values(true, false)] bool streams)
    {
        // A 2-layer MLP with softmax cross-entropy and SGD, all on /gpu:0 (the default device): forward, backward,
        // and the variables with their updates.
        Graph Build(out Tensor x, out Tensor y, out Tensor loss, out Operation train, out Operation init)
        {
            var g = new Graph();
            x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
            y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            var r = new Random(7);
            NDArray W(int a, int b) => NDArray.From(Enumerable.Range(0, a * b).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), a, b);
            var w1 = g.Variable(W(6, 10), "w1"); var b1 = g.Variable(NDArray.Zeros(DType.Float32, 10), "b1");
            var w2 = g.Variable(W(10, 3), "w2"); var b2 = g.Variable(NDArray.Zeros(DType.Float32, 3), "b2");
            var h = g.Relu(g.MatMul(x, w1) + b1);
            var logits = g.MatMul(h, w2) + b2;
            loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
            train = new GradientDescentOptimizer(0.5).Minimize(loss);
            init = g.GlobalVariablesInitializer();
            return g;
        }
        var xs = NDArray.From(Enumerable.Range(0, 9 * 6).Select(i => (float)Math.Sin(i * 0.7)).ToArray(), 9, 6);
        var ys = NDArray.From(Enumerable.Range(0, 9).Select(i => i % 3).ToArray(), 9);

        float[] Losses(SessionOptions? options, out StepTrace trace)
        {
            var g = Build(out var x, out var y, out var loss, out var train, out var init);
            using var s = new Session(g, options);
            s.Run(init);
            var losses = new List<float>();
            trace = new StepTrace();
            for (int step = 0; step < 5; step++)
            {
                var r = s.Run([loss], [(x, xs), (y, ys)], [train], step == 4 ? new RunOptions { TraceLevel = RunTraceLevel.FullTrace } : null, step == 4 ? trace : null);
                losses.Add(r[0].Item<float>());
            }
            return losses.ToArray();
        }

        var cpu = Losses(null, out _);
        var gpu = Losses(new SessionOptions { Devices = [GpuFixture.For(streams)], DefaultDevice = "/gpu:0" }, out var trace);
        Assert.That(cpu[4], Is.LessThan(cpu[0]), "the model should learn");
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(1e-3).Percent, $"loss at step {i} (relative 1e-5)");
        var onGpu = trace.Nodes.Where(n => n.Device == "/gpu:0").Select(n => n.OpType).ToHashSet();
        Assert.That(onGpu, Is.SupersetOf(new[] { "MatMul", "Relu", "ReluGrad", "SparseSoftmaxCrossEntropyWithLogits", "Mean", "_Copy" }));
        // The default device holds the variables too: they and their updates live on the GPU (GpuVariableTests).
        Assert.That(onGpu, Does.Contain("ApplyGradientDescent").And.Contain("VariableV2"));
    }

    [Test]
    public void OpWithoutGpuKernel_RunsOnTheCpu_SoftPlacement()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(4), "x");
        Tensor p, sq;
        using (g.Device("/gpu:0")) { sq = g.Square(x); p = sq * g.Cast(g.Size(sq, name: "n"), DType.Float32); }
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        var trace = new StepTrace();
        var r = s.Run([p, sq], [(x, NDArray.From(new float[] { 1, -5, 2, 3 }))], [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new float[] { 4, 100, 16, 36 }));
        Assert.That(r[1].ToArray<float>(), Is.EqualTo(new float[] { 1, 25, 4, 9 }));
        Assert.That(trace.Nodes.Single(n => n.OpType == "Square").Device, Is.EqualTo("/gpu:0"));
        Assert.That(trace.Nodes.Single(n => n.OpType == "Size").Device, Is.EqualTo("/cpu:0"));
        Assert.That(trace.Nodes.Single(n => n.OpType == "Cast").Device, Is.EqualTo("/gpu:0"));
        Assert.That(trace.Nodes.Single(n => n.OpType == "Mul").Device, Is.EqualTo("/gpu:0"));
        // x goes to the GPU, Size's result back to the GPU for Cast; Size reads only Square's dims, so Square's result
        // is not copied to the host inside the run (fetches are copied out after it).
        var copies = trace.Nodes.Where(n => n.OpType == "_Copy").ToList();
        Assert.That(copies.Select(n => n.Device), Is.EqualTo(new[] { "/gpu:0", "/gpu:0" }));
    }

    [Test]
    public void OutOfMemory_OnTheGpu_NamesTheNode()
    {
        // A cap far below one 2 MiB segment: the first GPU allocation of the run fails.
        using var tiny = CudaDevice.CreateSimulated(0, new GpuMemoryOptions { MemoryFraction = 1e-15 });
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        Tensor y;
        using (g.Device("/gpu:0")) y = g.Exp(x, name: "big_exp");
        using var s = new Session(g, new SessionOptions { Devices = [tiny] });
        var e = Assert.Throws<GpuOutOfMemoryException>(() => s.Run(y, (x, NDArray.Zeros(DType.Float32, 1000))))!;
        Assert.That(e.Message, Does.Contain("/gpu:0").And.Contain("in use").And.Contain("reserved").And.Contain("largest free block"));
        Assert.That(e.Requester, Is.EqualTo("a copy").Or.EqualTo("big_exp"));
    }

    [Test]
    public void OutOfMemory_InsideAKernel_NamesThatNode()
    {
        // A 3 MiB cap: the 2.4 MB input copy fits (a segment of its own), the kernel's 2.4 MB output does not.
        var total = GpuFixture.Gpu.TotalMemoryBytes;
        using var small = CudaDevice.CreateSimulated(0, new GpuMemoryOptions { MemoryFraction = 3.0 * (1 << 20) / total });
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        Tensor y;
        using (g.Device("/gpu:0")) y = g.Exp(x, name: "exp_a");
        using var s = new Session(g, new SessionOptions { Devices = [small] });
        var e = Assert.Throws<GpuOutOfMemoryException>(() => s.Run(y, (x, NDArray.Zeros(DType.Float32, 600_000))))!;
        Assert.That(e.Requester, Is.EqualTo("exp_a"));
        Assert.That(e.RequestedBytes, Is.EqualTo(2_400_000));
        Assert.That(e.Stats.InUseBytes, Is.EqualTo(CachingAllocator.RoundUp(2_400_000)));
        Assert.That(e.Message, Does.StartWith("/gpu:0: out of memory allocating 2.29 MiB for exp_a: in use 2.29 MiB, reserved 2.29 MiB, largest free block 0 B, limit 3 MiB"));
    }

    [Test]
    public void TryCreate_WithoutADriver_ReturnsNullAndSaysWhy()
    {
        if (Native.CudaDriver.Query().Gpus.Count > 0) Assert.Ignore("this machine has a GPU: the no-driver path cannot be checked here");
        var d = CudaDevice.TryCreate(0, out var reason);
        Assert.That(d, Is.Null);
        Assert.That(reason, Is.Not.Empty);
        TestContext.Out.WriteLine(reason);
    }
}

public class PlacementLogTests
{
    [Test]
    public void LogDevicePlacement_SaysWhereEachNodeRuns_AndWhy()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(3), "x");
        Tensor y;
        using (g.Device("/gpu:0")) y = g.Size(g.Exp(x, name: "e"), name: "sz");
        var lines = new List<string>();
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu], LogDevicePlacement = true, PlacementLog = lines.Add });
        s.Run(y, (x, NDArray.From(new float[] { 1, 3, 2 })));
        Assert.That(lines, Does.Contain("e: (Exp): /gpu:0"));
        Assert.That(lines, Does.Contain("sz: (Size): /cpu:0 (asked for /gpu:0: /gpu:0 has no kernel for Size)"));
        Assert.That(lines, Has.Count.EqualTo(2), "one line per placed node; the fed placeholder is not a step");

        using var none = new Session(g, new SessionOptions { LogDevicePlacement = true, PlacementLog = lines.Add });
        lines.Clear();
        none.Run(y, (x, NDArray.From(new float[] { 1, 3, 2 })));
        Assert.That(lines, Does.Contain("e: (Exp): /cpu:0 (asked for /gpu:0: no device /gpu:0 in this session)"));
    }
}

public class SessionMemoryTests
{
    [Test]
    public void DisposingASession_GivesItsGpuBuffersBack()
    {
        var gpu = GpuFixture.Gpu;
        long before = gpu.Allocator.Stats.InUseBytes;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 8), "x");
        Tensor y;
        using (g.Device("/gpu:0")) y = g.Sum(g.Tanh(g.MatMul(x, x, transposeB: true)) * 2.0, [1]);
        var xs = NDArray.From(Enumerable.Range(0, 80).Select(i => (float)Math.Cos(i)).ToArray(), 10, 8);
        var s = new Session(g, new SessionOptions { Devices = [gpu] });
        var first = s.Run(y, (x, xs)).ToArray<float>();
        long during = gpu.Allocator.Stats.InUseBytes;
        Assert.That(during, Is.GreaterThan(before), "the session's frame keeps its GPU buffers between runs");
        Assert.That(s.Run(y, (x, xs)).ToArray<float>(), Is.EqualTo(first));
        Assert.That(gpu.Allocator.Stats.InUseBytes, Is.EqualTo(during), "a second run reuses the same buffers");
        s.Dispose();
        Assert.That(gpu.Allocator.Stats.InUseBytes, Is.EqualTo(before));
        gpu.Allocator.Validate();
    }
}
