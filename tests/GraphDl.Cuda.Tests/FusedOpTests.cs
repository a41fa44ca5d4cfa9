using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Fused pairs on the GPU (<see cref="CudaDevice.FuseOps"/>): a bias add and the ReLU that alone reads its sum run
/// as one kernel, with the two kernels' results bit for bit, and only when nothing else reads the sum.</summary>
public class FusedOpTests
{
    static SessionOptions On(CudaDevice gpu) => new() { Devices = [gpu], DefaultDevice = gpu.Name };

    static NDArray Values(int seed, params int[] dims)
    {
        var r = new Random(seed);
        int n = dims.Aggregate(1, (a, b) => a * b);
        return NDArray.From(Enumerable.Range(0, n).Select(_ => (float)(r.NextDouble() * 2 - 1)).ToArray(), dims);
    }

    /// <summary>A small CNN (convolution, BiasAdd, ReLU; pooling; two dense ReLU layers; logits) trained with SGD: three
    /// fused launches per step (the conv layer and the two hidden dense layers), the losses and every variable bit for bit
    /// those of the unfused kernels.</summary>
    [Test]
    public void ConvAndDenseReluLayers_AreFused_BitForBitTheUnfusedResult([Values(true, false)] bool streams)
    {
        var gpu = GpuFixture.For(streams);
        (float[] Losses, float[][] Vars, long Fused) Train(bool fuse)
        {
            var g = new Graph { Seed = 5 };
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6, 6, 1), "x");
            var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            Func<Tensor, Tensor> relu = t => g.Relu(t);
            var h = g.Conv2D(x, 3, 3, padding: "same", activation: relu);
            h = g.MaxPooling2D(h, 2);
            h = g.Flatten(h);
            h = g.Dense(h, 8, relu);
            h = g.Dense(h, 6, relu);
            var loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(y, g.Dense(h, 3)), name: "loss");
            var train = new GradientDescentOptimizer(0.2).Minimize(loss);
            bool before = gpu.FuseOps;
            gpu.FuseOps = fuse;
            try
            {
                using var s = new Session(g, On(gpu));
                s.Run(g.GlobalVariablesInitializer());
                var feeds = new (Tensor, NDArray)[] { (x, Values(1, 4, 6, 6, 1)), (y, NDArray.From(new[] { 0, 1, 2, 1 }, 4)) };
                long f0 = gpu.FusedLaunches;
                var losses = Enumerable.Range(0, 5).Select(_ => s.Run([loss], feeds, [train])[0].Item<float>()).ToArray();
                return (losses, g.TrainableVariables.Select(v => v.Eval(s).ToArray<float>()).ToArray(), gpu.FusedLaunches - f0);
            }
            finally { gpu.FuseOps = before; }
        }
        var fused = Train(true);
        var plain = Train(false);
        Assert.That(fused.Losses[^1], Is.LessThan(fused.Losses[0]), "the model should learn");
        Assert.That(fused.Fused, Is.EqualTo(5 * 3), "conv + 2 dense ReLU layers per step");
        Assert.That(plain.Fused, Is.Zero);
        Assert.That(fused.Losses.Select(BitConverter.SingleToInt32Bits), Is.EqualTo(plain.Losses.Select(BitConverter.SingleToInt32Bits)));
        for (int k = 0; k < fused.Vars.Length; k++)
            Assert.That(fused.Vars[k].Select(BitConverter.SingleToInt32Bits), Is.EqualTo(plain.Vars[k].Select(BitConverter.SingleToInt32Bits)), $"variable {k}");
    }

    /// <summary>A sum that is fetched, or read by another op too, is stored: no fusion, and the values are the CPU's.</summary>
    [Test]
    public void ASumReadElsewhere_IsNotFused()
    {
        var gpu = GpuFixture.Gpu;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
        var b = g.Const(NDArray.From(new float[] { 0.5f, -0.5f, 1, -1 }), "b");
        var sum = g.Add(x, b, "sum");
        var r = g.Relu(sum, "r");
        var twice = g.Mul(sum, g.Scalar(2, DType.Float32), "twice");
        var xs = Values(3, 5, 4);
        using var cpu = new Session(g);
        using var s = new Session(g, On(gpu));
        long f0 = gpu.FusedLaunches;
        foreach (var fetches in new[] { new[] { r, twice }, [r, sum] })
        {
            var want = cpu.Run(fetches, (x, xs));
            var got = s.Run(fetches, (x, xs));
            for (int i = 0; i < fetches.Length; i++) Assert.That(got[i].ToArray<float>(), Is.EqualTo(want[i].ToArray<float>()), fetches[i].Name);
        }
        Assert.That(gpu.FusedLaunches, Is.EqualTo(f0), "the sum has another reader");
        var alone = s.Run(r, (x, xs));
        Assert.That(gpu.FusedLaunches, Is.EqualTo(f0 + 1), "fetching only the ReLU fuses");
        Assert.That(alone.ToArray<float>(), Is.EqualTo(cpu.Run(r, (x, xs)).ToArray<float>()));
    }

    /// <summary>Operands the fused kernel does not cover (an Add broadcasting a [1, n] matrix) run as the two kernels; a bad
    /// BiasAdd fails naming itself, as it does unfused.</summary>
    [Test]
    public void OtherOperands_RunUnfused_AndABadBiasAddNamesItself()
    {
        var gpu = GpuFixture.Gpu;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var row = g.Const(NDArray.From(new float[] { 1, -2, 0.25f }, 1, 3), "row");
        var r = g.Relu(g.Add(x, row, "add_row"), "r");
        var bias = g.Placeholder(DType.Float32, Shape.Of(-1), "bias");
        var rb = g.Relu(g.BiasAdd(x, bias, "bias_add"), "rb");
        var xs = Values(4, 2, 3);
        using var cpu = new Session(g);
        using var s = new Session(g, On(gpu));
        long f0 = gpu.FusedLaunches;
        Assert.That(s.Run(r, (x, xs)).ToArray<float>(), Is.EqualTo(cpu.Run(r, (x, xs)).ToArray<float>()));
        Assert.That(gpu.FusedLaunches, Is.EqualTo(f0), "a [1, n] addend runs the Add kernel, then the ReLU");
        var good = NDArray.From(new float[] { 0.5f, 0, -0.5f });
        Assert.That(s.Run(rb, (x, xs), (bias, good)).ToArray<float>(), Is.EqualTo(cpu.Run(rb, (x, xs), (bias, good)).ToArray<float>()));
        Assert.That(gpu.FusedLaunches, Is.EqualTo(f0 + 1));
        var e = Assert.Catch<GraphDlException>(() => s.Run(rb, (x, xs), (bias, NDArray.From(new float[] { 1, 2 }))));
        Assert.That(e!.Message, Does.Contain("bias_add").And.Contain("bias must be a vector matching the last dimension"));
    }
}
