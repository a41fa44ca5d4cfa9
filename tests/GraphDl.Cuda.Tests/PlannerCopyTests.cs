using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>What the planner copies between the host and the GPU: dims-only ops read GPU tensors without a copy, and a
/// feed whose shape changes reuses (frees) its old device copy.</summary>
public class PlannerCopyTests
{
    static SessionOptions OnGpu(bool streams) => new() { Devices = [GpuFixture.For(streams)], DefaultDevice = "/gpu:0" };

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
}
