using GraphDl.Cuda.Kernels;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Batched optimizer updates on the GPU (<see cref="CudaDevice.BatchUpdates"/>, a multi-tensor apply): consecutive
/// update steps of one op run as one launch per six variables (ApplyGradientDescent), four (ApplyMomentum, ApplyAdagrad),
/// three (ApplyAdam) or two (the RMSProps), with the same results bit for bit as one launch per variable, and never when
/// the order of the updates could matter.</summary>
public class BatchedUpdateTests
{
    /// <summary>An MLP of four dense layers (8 variables), mean sparse softmax cross-entropy, the named optimizer.
    /// Returns the losses and the final variables.</summary>
    static (float[] Losses, float[][] Vars) Train(CudaDevice gpu, string optimizer, bool batch, int steps, out long launches, out long updates)
    {
        var g = new Graph { Seed = 11 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 5), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
        Func<Tensor, Tensor> relu = t => g.Relu(t);
        var h = g.Dense(x, 7, relu);
        h = g.Dense(h, 6, relu);
        h = g.Dense(h, 5, relu);
        var loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(y, g.Dense(h, 3)), name: "loss");
        Optimizer opt = optimizer switch
        {
            "sgd" => new GradientDescentOptimizer(0.3),
            "momentum" => new MomentumOptimizer(0.1, 0.9),
            "nesterov" => new MomentumOptimizer(0.1, 0.9, useNesterov: true),
            "adagrad" => new AdagradOptimizer(0.3),
            "rmsprop" => new RMSPropOptimizer(0.01, momentum: 0.5),
            "centered" => new RMSPropOptimizer(0.01, momentum: 0.5, centered: true),
            _ => new AdamOptimizer(0.05),
        };
        var train = opt.Minimize(loss);
        bool before = gpu.BatchUpdates;
        gpu.BatchUpdates = batch;
        try
        {
            using var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
            s.Run(g.GlobalVariablesInitializer());
            var xs = NDArray.From(Enumerable.Range(0, 9 * 5).Select(i => (float)Math.Sin(0.9 * i)).ToArray(), 9, 5);
            var ys = NDArray.From(Enumerable.Range(0, 9).Select(i => i % 3).ToArray(), 9);
            long l0 = gpu.BatchedLaunches, u0 = gpu.BatchedUpdates;
            var losses = new float[steps];
            for (int i = 0; i < steps; i++) losses[i] = s.Run([loss], [(x, xs), (y, ys)], [train])[0].Item<float>();
            launches = gpu.BatchedLaunches - l0;
            updates = gpu.BatchedUpdates - u0;
            Assert.That(g.TrainableVariables, Has.Count.EqualTo(8));
            return (losses, g.TrainableVariables.Select(v => v.Eval(s).ToArray<float>()).ToArray());
        }
        finally { gpu.BatchUpdates = before; }
    }

    /// <summary>Eight variables per step: SGD in 2 launches (6 + 2), Momentum and Adagrad in 2 (4 + 4), Adam in 3
    /// (3 + 3 + 2), the RMSProps in 4 (2 each).</summary>
    [Test]
    public void UpdatesOfEightVariables_AreBatched_BitForBitTheUnbatchedResult([Values(true, false)] bool streams,
        [Values("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "centered", "adam")] string optimizer)
    {
        var gpu = GpuFixture.For(streams);
        var batched = Train(gpu, optimizer, batch: true, steps: 5, out long launches, out long updates);
        var single = Train(gpu, optimizer, batch: false, steps: 5, out long launchesOff, out _);
        Assert.That(batched.Losses[^1], Is.LessThan(batched.Losses[0]), "the model should learn");
        int perStep = optimizer switch { "sgd" or "momentum" or "nesterov" or "adagrad" => 2, "adam" => 3, _ => 4 };
        Assert.That(launches, Is.EqualTo(5 * perStep), "launches per step");
        Assert.That(updates, Is.EqualTo(5 * 8));
        Assert.That(launchesOff, Is.Zero, "BatchUpdates off: one launch per variable");
        Assert.That(batched.Losses.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(single.Losses.Select(BitConverter.SingleToInt32Bits)));
        for (int k = 0; k < batched.Vars.Length; k++)
            Assert.That(batched.Vars[k].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(single.Vars[k].Select(BitConverter.SingleToInt32Bits)), $"variable {k}");
    }

    /// <summary>Updates whose order matters stay apart: a second update of the same variable, an update whose delta is
    /// (a view of) a variable the batch updates, and one whose delta is another update's output. Each result is the
    /// sequential one, computed here on the host.</summary>
    [Test]
    public void UpdatesWhoseOrderMatters_AreNotBatched_AndGiveTheSequentialResult([Values(true, false)] bool streams)
    {
        var gpu = GpuFixture.For(streams);
        var g = new Graph();
        var a = g.Variable(NDArray.From(new float[] { 1, 2, 3 }), "a");
        var b = g.Variable(NDArray.From(new float[] { 10, 20, 30 }), "b");
        var c = g.Variable(NDArray.From(new float[] { 5, 5, 5 }), "c");
        var lr = g.Scalar(0.5, DType.Float32, "lr");
        var one = g.Const(NDArray.From(new float[] { 1, 1, 1 }), "one");
        var u1 = g.ApplyGradientDescent(a, lr, one, "u1");          // a = 0.5, 1.5, 2.5
        var u2 = g.ApplyGradientDescent(a, lr, one, "u2");          // the same variable again: a = 0, 1, 2
        var u3 = g.ApplyGradientDescent(b, lr, a.Value, "u3");      // reads a (after u1, u2): b = 10, 19.5, 29
        var u4 = g.ApplyGradientDescent(c, lr, u3, "u4");           // reads u3's output: c = 0, -4.75, -9.5
        var ops = new[] { u1.Op, u2.Op, u3.Op, u4.Op };
        Assert.That(ApplyOp.CanBatch([u1.Op], u2.Op), Is.False, "same variable");
        Assert.That(ApplyOp.CanBatch([u2.Op], u3.Op), Is.False, "delta reads a variable of the batch");
        Assert.That(ApplyOp.CanBatch([u3.Op], u4.Op), Is.False, "delta is a member's output");
        var other = g.Variable(NDArray.From(new float[] { 7 }), "other");
        Assert.That(ApplyOp.CanBatch([u1.Op], g.ApplyGradientDescent(other, lr, g.Const(NDArray.From(new float[] { 2 }))).Op), Is.True,
            "independent variables batch");
        using var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
        s.Run(g.GlobalVariablesInitializer());
        long before = gpu.BatchedLaunches;
        s.Run([], [], ops);
        Assert.That(gpu.BatchedLaunches, Is.EqualTo(before), "nothing here may batch");
        Assert.That(a.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2 }));
        Assert.That(b.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 10, 19.5f, 29 }));
        Assert.That(c.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0, -4.75f, -9.5f }));
    }

    /// <summary>A bad member of a batch fails naming itself, as it does alone: here the second of two updates, fed a delta
    /// of the wrong size.</summary>
    [Test]
    public void ABadMemberOfABatch_FailsNamingItself([Values(true, false)] bool streams)
    {
        var gpu = GpuFixture.For(streams);
        var g = new Graph();
        var a = g.Variable(NDArray.From(new float[] { 1, 2, 3 }), "a");
        var b = g.Variable(NDArray.From(new float[] { 4, 5 }), "b");
        var lr = g.Scalar(0.5, DType.Float32, "lr");
        var da = g.Placeholder(DType.Float32, Shape.Of(-1), "da");
        var db = g.Placeholder(DType.Float32, Shape.Of(-1), "db");
        var ua = g.ApplyGradientDescent(a, lr, da, "update_a");
        var ub = g.ApplyGradientDescent(b, lr, db, "update_b");
        using var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
        s.Run(g.GlobalVariablesInitializer());
        long before = gpu.BatchedLaunches;
        s.Run([], [(da, NDArray.From(new float[] { 2, 2, 2 })), (db, NDArray.From(new float[] { 2, 2 }))], [ua.Op, ub.Op]);
        Assert.That(gpu.BatchedLaunches, Is.EqualTo(before + 1), "the two updates ran as one launch");
        Assert.That(a.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2 }));
        Assert.That(b.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 3, 4 }));
        var e = Assert.Catch<GraphDlException>(() =>
            s.Run([], [(da, NDArray.From(new float[] { 2, 2, 2 })), (db, NDArray.From(new float[] { 2, 2, 2 }))], [ua.Op, ub.Op]));
        Assert.That(e!.Message, Does.Contain("update_b").And.Contain("var 'b'"));
        Assert.That(b.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 3, 4 }), "nothing launched for the failed batch");
        Assert.That(a.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0, 1, 2 }));
    }

    /// <summary>An empty variable inside a batch takes no place in the launch; the others are updated.</summary>
    [Test]
    public void AnEmptyVariableInABatch_IsSkipped([Values(true, false)] bool streams)
    {
        var gpu = GpuFixture.For(streams);
        var g = new Graph();
        var a = g.Variable(NDArray.From(new float[] { 1, 2 }), "a");
        var empty = g.Variable(NDArray.Zeros(DType.Float32, 0), "empty");
        var b = g.Variable(NDArray.From(new float[] { 3 }), "b");
        var lr = g.Scalar(0.5, DType.Float32, "lr");
        var ua = g.ApplyGradientDescent(a, lr, g.Const(NDArray.From(new float[] { 2, 4 })), "ua");
        var ue = g.ApplyGradientDescent(empty, lr, g.Const(NDArray.Zeros(DType.Float32, 0)), "ue");
        var ub = g.ApplyGradientDescent(b, lr, g.Const(NDArray.From(new float[] { 6 })), "ub");
        using var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
        s.Run(g.GlobalVariablesInitializer());
        long launches = gpu.BatchedLaunches, updates = gpu.BatchedUpdates;
        s.Run([], [], [ua.Op, ue.Op, ub.Op]);
        Assert.That(gpu.BatchedLaunches - launches, Is.EqualTo(1));
        Assert.That(gpu.BatchedUpdates - updates, Is.EqualTo(2), "the empty variable is not launched");
        Assert.That(a.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0, 0 }));
        Assert.That(b.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 0 }));
        Assert.That(empty.Eval(s).Dims.ToArray(), Is.EqualTo(new[] { 0 }));
    }
}
