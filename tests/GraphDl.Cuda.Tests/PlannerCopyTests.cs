using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>What the planner copies between the host and the GPU: dims-only ops read GPU tensors without a copy, and a
/// feed whose shape changes reuses (frees) its old device copy.</summary>
public class PlannerCopyTests
{
    static SessionOptions OnGpu(bool streams) => new() { Devices = [GpuFixture.For(streams)], DefaultDevice = "/gpu:0" };

    /// <summary>The options with the placement log on, into <paramref name="log"/>.</summary>
    static SessionOptions Logged(SessionOptions options, List<string> log) =>
        new() { Devices = options.Devices, DefaultDevice = options.DefaultDevice, LogDevicePlacement = true, PlacementLog = log.Add };

    /// <summary>Trains the graph <paramref name="build"/> makes for <paramref name="steps"/> steps on one batch in a new
    /// session, tracing the last step; returns every step's loss.</summary>
    static float[] TrainLosses(Func<(Graph G, Tensor X, Tensor Y, Tensor Loss, Operation Train)> build, SessionOptions? options,
        NDArray xs, NDArray ys, int steps, out StepTrace trace)
    {
        var (g, x, y, loss, train) = build();
        using var s = new Session(g, options);
        s.Run(g.GlobalVariablesInitializer());
        var losses = new float[steps];
        for (int i = 0; i < steps - 1; i++) losses[i] = s.Run([loss], [(x, xs), (y, ys)], [train])[0].Item<float>();
        trace = Trace(s, [loss], [(x, xs), (y, ys)], [train], out var last);
        losses[^1] = last[0].Item<float>();
        return losses;
    }

    static StepTrace Trace(Session s, Tensor[] fetches, (Tensor, NDArray)[] feeds, Operation[] targets, out NDArray[] results)
    {
        var trace = new StepTrace();
        results = s.Run(fetches, feeds, targets, new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        return trace;
    }

    [Test]
    public void ShapeSizeAndRank_OfAGpuTensor_AreReadWithoutCopyingItToTheHost([Values(true, false)] bool streams)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
        var y = g.Relu(x, "y");
        var shape = g.ShapeOf(y, "shape_y");
        var size = g.Size(y, "size_y");
        var rank = g.Rank(y, "rank_y");
        using var s = new Session(g, OnGpu(streams));
        var xs = NDArray.From(Enumerable.Range(0, 12).Select(i => (float)i - 5).ToArray(), 3, 4);
        var trace = Trace(s, [shape, size, rank], [(x, xs)], [], out var r);
        Assert.That(r[0].AsSpan<int>().ToArray(), Is.EqualTo(new[] { 3, 4 }));
        Assert.That(r[1].Item<int>(), Is.EqualTo(12));
        Assert.That(r[2].Item<int>(), Is.EqualTo(2));
        var y1 = trace.Nodes.Single(n => n.Node == "y");
        Assert.That(y1.Device, Is.EqualTo("/gpu:0"), "Relu runs on the GPU");
        Assert.That(trace.Nodes.Single(n => n.Node == "shape_y").Device, Is.EqualTo("/cpu:0"), "Shape is CPU-only");
        var toHost = trace.Nodes.Where(n => n.OpType == "_Copy" && n.Device == "/cpu:0").Select(n => n.Node).ToList();
        Assert.That(toHost, Is.Empty, "no copy of y to the host: Shape, Size and Rank read only its dims");
    }

    [Test]
    public void MlpTrainingStep_CopiesNothingBackToTheHostButTheFetchedLoss([Values(true, false)] bool streams, [Values("sgd", "adam")] string optimizer)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
        var r = new Random(3);
        NDArray W(int a, int b) => NDArray.From(Enumerable.Range(0, a * b).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), a, b);
        var w1 = g.Variable(W(6, 8), "w1"); var b1 = g.Variable(NDArray.Zeros(DType.Float32, 8), "b1");
        var w2 = g.Variable(W(8, 3), "w2"); var b2 = g.Variable(NDArray.Zeros(DType.Float32, 3), "b2");
        var logits = g.MatMul(g.Relu(g.MatMul(x, w1) + b1), w2) + b2;
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
        Optimizer opt = optimizer == "adam" ? new AdamOptimizer(0.01) : new GradientDescentOptimizer(0.5);
        var train = opt.Minimize(loss);
        using var s = new Session(g, OnGpu(streams));
        s.Run(g.GlobalVariablesInitializer());
        var xs = NDArray.From(Enumerable.Range(0, 5 * 6).Select(i => (float)Math.Cos(i)).ToArray(), 5, 6);
        var ys = NDArray.From(Enumerable.Range(0, 5).Select(i => i % 3).ToArray(), 5);
        s.Run([loss], [(x, xs), (y, ys)], [train]);
        var trace = Trace(s, [loss], [(x, xs), (y, ys)], [train], out _);
        var toHost = trace.Nodes.Where(n => n.OpType == "_Copy" && n.Device == "/cpu:0").Select(n => n.Node).ToList();
        Assert.That(toHost, Is.Empty, "a training step copies no GPU tensor to the host inside the step");
        var update = optimizer == "adam" ? "ApplyAdam" : "ApplyGradientDescent";
        Assert.That(trace.Nodes.Where(n => n.OpType == update).Select(n => n.Device).ToList(), Is.EqualTo(Enumerable.Repeat("/gpu:0", 4)));
        if (optimizer == "adam")   // the β powers, read on the host by ApplyAdam, live and advance there
            Assert.That(trace.Nodes.Where(n => n.Node.StartsWith("beta")).Select(n => n.Device), Is.Not.Empty.And.All.EqualTo("/cpu:0"));
    }

    [Test]
    public void AFeedWhoseShapeChanges_FreesItsOldDeviceCopy([Values(true, false)] bool streams)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 64), "x");
        var total = g.Sum(g.Square(x), [0, 1]);
        var gpu = GpuFixture.For(streams);
        using var s = new Session(g, OnGpu(streams));
        NDArray Batch(int rows) => NDArray.From(Enumerable.Range(0, rows * 64).Select(i => (float)(i % 7)).ToArray(), rows, 64);
        long InUse() { gpu.Synchronize(); return gpu.Allocator.Stats.InUseBytes; }
        var small = Batch(3); var large = Batch(2000);
        s.Run(total, (x, small)); s.Run(total, (x, large));
        long baseline = InUse();
        for (int i = 0; i < 6; i++)
        {
            Assert.That(s.Run(total, (x, i % 2 == 0 ? small : large)).Item<float>(), Is.EqualTo(i % 2 == 0 ? Expected(small) : Expected(large)));
            Assert.That(InUse(), Is.LessThanOrEqualTo(baseline), $"device memory in use after run {i}: alternating batch sizes must not leak");
        }

        static float Expected(NDArray a) { float t = 0; foreach (var v in a.AsSpan<float>()) t += v * v; return t; }
    }

    /// <summary>A learning-rate schedule of <c>global_step</c> (on the host) read by the GPU update kernels on the host:
    /// placed on the GPU only by the default device, it runs on the CPU instead (said in the placement log), so the step
    /// copies nothing back and waits for nothing; the same schedule under an explicit GPU scope stays there.</summary>
    [Test]
    public void LearningRateSchedule_ReadOnTheHost_RunsThere_UnlessScopedToTheGpu([Values(true, false)] bool scoped)
    {
        (Graph, Tensor, Tensor, Tensor, Operation) Build()
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
            var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            var r = new Random(3);
            var w = g.Variable(NDArray.From(Enumerable.Range(0, 18).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), 6, 3), "w");
            var loss = g.SparseSoftmaxCrossEntropyLoss(y, g.MatMul(x, w));
            var step = TrainUtil.GetOrCreateGlobalStep(g);
            Tensor lr;
            if (scoped) using (g.Device("/gpu:0")) lr = LearningRates.ExponentialDecay(g, 0.5, step.Value, 2, 0.7);
            else lr = LearningRates.ExponentialDecay(g, 0.5, step.Value, 2, 0.7);
            return (g, x, y, loss, new GradientDescentOptimizer(lr).Minimize(loss, step));
        }
        var xs = NDArray.From(Enumerable.Range(0, 5 * 6).Select(i => (float)Math.Cos(i)).ToArray(), 5, 6);
        var ys = NDArray.From(Enumerable.Range(0, 5).Select(i => i % 3).ToArray(), 5);
        var log = new List<string>();
        var cpu = TrainLosses(Build, null, xs, ys, 5, out _);
        var gpu = TrainLosses(Build, Logged(OnGpu(streams: true), log), xs, ys, 5, out var trace);
        Assert.That(cpu[4], Is.LessThan(cpu[0]), "the model should learn");
        // Bit for bit when the schedule runs on the host (same float64 arithmetic); within 1e-5 relative otherwise.
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(1e-3).Percent, $"loss at step {i}");
        var schedule = trace.Nodes.Where(n => n.Node.StartsWith("ExponentialDecay/")).ToList();
        Assert.That(schedule, Is.Not.Empty);
        Assert.That(trace.Nodes.Single(n => n.OpType == "ApplyGradientDescent").Device, Is.EqualTo("/gpu:0"));
        Assert.That(trace.Nodes.Single(n => n.Node == "global_step").Device, Is.EqualTo("/cpu:0"), "global_step lives on the host");
        var toHost = trace.Nodes.Where(n => n.OpType == "_Copy" && n.Device == "/cpu:0").ToList();
        if (scoped)
        {
            Assert.That(schedule.Where(n => n.OpType != "Const").Select(n => n.Device), Is.All.EqualTo("/gpu:0"), "an explicit device scope is kept");
            Assert.That(toHost, Is.Not.Empty, "the rate computed on the GPU is copied back for the update kernel");
        }
        else
        {
            Assert.That(schedule.Select(n => n.Device), Is.All.EqualTo("/cpu:0"));
            Assert.That(toHost, Is.Empty, "nothing copied back inside the step");
            // global_step's value is on the host, so the schedule's scalars are made there (the small-result rule applies
            // first; the read-on-host rule would move them as well).
            Assert.That(log, Has.Some.Match(@"^ExponentialDecay/learning_rate: \(Cast\): /cpu:0 \(asked for /gpu:0: its inputs are on the host and it makes 1 element: .+\)$"));
        }
    }

    /// <summary>Constants the GPU reads are copied to it once per session frame, not every run; fed values every run.</summary>
    [Test]
    public void Constants_AreCopiedToTheGpuOnce_FeedsEveryRun()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var w = g.Const(NDArray.From(new float[] { 1, -2, 0.5f, 3, 0, -1 }, 3, 2), "w");
        Tensor y;
        using (g.Device("/gpu:0")) y = g.MatMul(x, w) * 2.0 + 1.0;
        using var gpu = CudaDevice.CreateSimulated(0, streams: true);
        gpu.PoisonNewBuffers = true;
        using var s = new Session(g, new SessionOptions { Devices = [gpu] });
        using var cpu = new Session(g);
        var sim = gpu.SimulatedStreams!;
        long before = sim.CopiesToDevice;
        for (int run = 0; run < 4; run++)
        {
            var xs = NDArray.From(Enumerable.Range(0, 12).Select(i => (float)Math.Sin(i + run)).ToArray(), 4, 3);
            Assert.That(s.Run(y, (x, xs)).ToArray<float>(), Is.EqualTo(cpu.Run(y, (x, xs)).ToArray<float>()).Within(1e-6), $"run {run}");
        }
        // w, 2.0 and 1.0 once, x four times.
        Assert.That(sim.CopiesToDevice - before, Is.EqualTo(3 + 4));
    }

    /// <summary>A mean loss's gradient on the GPU: its seed (ones of the loss's static shape) and the count it divides by
    /// (<c>Cast(Size(x)) / Cast(Size(y))</c>, from dims on the host) are a few elements made from host inputs, so they are
    /// computed on the CPU and one scalar is copied, not launched as GPU kernels (OnesLike, two Casts, two RealDivs) with
    /// two scalars copied. The losses match the CPU's.</summary>
    [Test]
    public void AMeanLossGradient_IsDividedOnTheHost_AndOneScalarIsCopied([Values(true, false)] bool streams)
    {
        (Graph, Tensor, Tensor, Tensor, Operation) Build()
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
            var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            var r = new Random(5);
            var w = g.Variable(NDArray.From(Enumerable.Range(0, 18).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), 6, 3), "w");
            var b = g.Variable(NDArray.Zeros(DType.Float32, 3), "b");
            var loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(y, g.MatMul(x, w) + b), name: "loss");
            return (g, x, y, loss, new GradientDescentOptimizer(0.5).Minimize(loss));
        }
        var xs = NDArray.From(Enumerable.Range(0, 7 * 6).Select(i => (float)Math.Sin(0.7 * i)).ToArray(), 7, 6);
        var ys = NDArray.From(Enumerable.Range(0, 7).Select(i => i % 3).ToArray(), 7);
        var cpu = TrainLosses(Build, null, xs, ys, 4, out _);
        var log = new List<string>();
        var gpu = TrainLosses(Build, Logged(OnGpu(streams), log), xs, ys, 4, out var trace);
        Assert.That(cpu[3], Is.LessThan(cpu[0]), "the model should learn");
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(1e-3).Percent, $"loss at step {i}");
        var grad = trace.Nodes.Where(n => n.Node.StartsWith("gradients/loss_grad/") || n.Node.StartsWith("gradients/grad_ys")).ToList();
        foreach (var op in new[] { "Cast", "RealDiv", "Fill" })
            Assert.That(grad.Where(n => n.OpType == op).Select(n => n.Device), Is.Not.Empty.And.All.EqualTo("/cpu:0"), op);
        Assert.That(grad.Single(n => n.OpType == "BroadcastTo").Device, Is.EqualTo("/gpu:0"), "the batch-sized broadcast stays on the GPU");
        Assert.That(trace.Nodes.Where(n => n.OpType == "OnesLike"), Is.Empty);
        var toGpu = trace.Nodes.Where(n => n.OpType == "_Copy" && n.Device == "/gpu:0").ToList();
        Assert.That(toGpu.Select(n => n.Outputs[0].Dims.Length == 0 ? "scalar" : "feed"), Is.EquivalentTo(new[] { "feed", "feed", "scalar" }),
            "the two feeds and the mean's scaled seed; nothing else is copied in the step");
        Assert.That(log, Has.Some.Match(@"^gradients/loss_grad/RealDiv: \(RealDiv\): /cpu:0 \(asked for /gpu:0: its inputs are on the host and it makes 1 element: .+\)$"));
    }

    /// <summary>The small-result rule's limits: a Fill from host inputs of at most 64 elements runs on the CPU, a larger one
    /// on the GPU; an op scoped to the GPU stays there however small; a pure op of unknown static shape read only by a host
    /// op (a histogram summary of a fed batch times 2) moves to the host for its reader, saying so.</summary>
    [Test]
    public void SmallResultsFromHostInputs_RunOnTheHost_LargeOrScopedOnesDoNot()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        var small = g.Fill(g.Const(NDArray.From(new[] { 8, 8 }), "small_shape"), g.Scalar(2, DType.Float32), "small");
        var large = g.Fill(g.Const(NDArray.From(new[] { 8, 9 }), "large_shape"), g.Scalar(2, DType.Float32), "large");
        Tensor scoped;
        using (g.Device("/gpu:0")) scoped = g.Cast(g.Size(x), DType.Float32, "scoped");
        var doubled = g.Mul(x, g.Scalar(2, DType.Float32), "doubled");
        var hist = g.HistogramSummary("doubled", doubled);
        var gpuSum = g.Sum(g.Relu(x), [0]) + g.Sum(small, [0, 1]) + g.Sum(large, [0, 1]) + scoped;
        var log = new List<string>();
        using var s = new Session(g, Logged(OnGpu(streams: true), log));
        var xs = NDArray.From(new float[] { 1, -2, 3 }, 3);
        var trace = Trace(s, [gpuSum, hist], [(x, xs)], [], out var r);
        Assert.That(r[0].Item<float>(), Is.EqualTo(4f + 128f + 144f + 3f));
        string Where(string node) => trace.Nodes.Single(n => n.Node == node).Device;
        Assert.That(Where("small"), Is.EqualTo("/cpu:0"), "64 elements from host inputs");
        Assert.That(Where("large"), Is.EqualTo("/gpu:0"), "72 elements: a kernel writes them on the GPU");
        Assert.That(Where("scoped"), Is.EqualTo("/gpu:0"), "an explicit device scope is kept");
        Assert.That(Where("doubled"), Is.EqualTo("/cpu:0"), "only the summary (on the host) reads it");
        Assert.That(log, Has.Some.Match(@"^small: \(Fill\): /cpu:0 \(asked for /gpu:0: its inputs are on the host and it makes 64 elements: .+\)$"));
        Assert.That(log, Has.Some.Match(@"^doubled: \(Mul\): /cpu:0 \(asked for /gpu:0: its value is read on the host by doubled_1 and its inputs are there\)$"));
    }
}
