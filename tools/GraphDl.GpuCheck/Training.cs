using System.Diagnostics;
using GraphDl.Train;
using CudaDevice = GraphDl.Cuda.CudaDevice;

namespace GraphDl.GpuCheck;

/// <summary>A model of the check: its graph from the input placeholder (the logits), the shape of one example, the
/// classes and the SGD learning rate. tools/gpu_check_torch.py builds the same models in PyTorch.</summary>
sealed record Model(string Name, int[] Example, int Classes, double LearningRate, Func<Graph, Tensor, Tensor> Logits)
{
    /// <summary>The MLP: <paramref name="features"/> → hidden → hidden (ReLU) → 10, SGD lr 0.1.</summary>
    public static Model Mlp(int features, int hidden) => new($"mlp {features}-{hidden}-{hidden}-10", [features], 10, 0.1, (g, x) =>
    {
        Func<Tensor, Tensor> relu = h => g.Relu(h);
        var h = g.Dense(x, hidden, relu);
        h = g.Dense(h, hidden, relu);
        return g.Dense(h, 10);
    });

    /// <summary>LeNet-5 as in the lenet5 example (src/GraphDl.Examples/Examples/LeNet5Example.cs): conv 5x5 (6, ReLU) →
    /// max pool 2 → conv 5x5 (16, ReLU) → max pool 2 → flatten → dense 120 (ReLU) → dense 84 (ReLU) → dense 10, on
    /// 28x28x1 images. The example pads its images to 32x32 and convolves "valid"; here the first convolution pads "same"
    /// instead (the same arithmetic: 2 zero pixels on each side), so the batch fed is 28x28. SGD lr 0.05. The simulated
    /// check shrinks the images (<paramref name="side"/>, at least 12) and the dense layers (<paramref name="fc1"/>,
    /// <paramref name="fc2"/>): the same layers and kernels at a size the CPU accelerator, slow at ILGPU's tiled GEMM,
    /// runs in about a second.</summary>
    public static Model LeNet5(int side = 28, int fc1 = 120, int fc2 = 84) =>
        new(side == 28 && fc1 == 120 && fc2 == 84 ? "lenet5" : $"lenet5 {side}x{side} fc{fc1}-{fc2}", [side, side, 1], 10, 0.05, (g, x) =>
    {
        Func<Tensor, Tensor> relu = h => g.Relu(h);
        var h = g.Conv2D(x, 6, 5, padding: "same", activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Conv2D(h, 16, 5, activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Flatten(h);
        h = g.Dense(h, fc1, relu);
        h = g.Dense(h, fc2, relu);
        return g.Dense(h, 10);
    });

    /// <summary>The sequence classifier's "lstm" variant (src/GraphDl.Examples/Examples/SequenceClassifierExample.cs): one
    /// LSTM layer on the fused sequence op (<see cref="RnnBuilders.DynamicRnn"/> with an <see cref="LSTMCell"/>, forget
    /// bias 1), its last hidden state → dense 10, on [batch, <paramref name="steps"/>, <paramref name="inputs"/>]
    /// sequences. SGD lr 0.5 (a plain-SGD LSTM with a small initial gradient needs a large rate to move in 5 steps).</summary>
    public static Model Lstm(int steps, int inputs, int units) => new($"lstm t{steps} i{inputs} h{units}", [steps, inputs], 10, 0.5, (g, x) =>
    {
        var last = g.DynamicRnn(new LSTMCell(units), x).State[^1];
        return g.Dense(last, 10, name: "output");
    });
}

/// <summary>SGD training steps of a <see cref="Model"/> on the CPU or a GPU, the way a GraphDl user runs them: one
/// <c>Session.Run</c> per step fetching the loss, with the batch (images or sequences and labels) fed from host
/// arrays. The initial weights come from the host (Glorot uniform from a seeded <see cref="Random"/>, biases zero), so the
/// CPU and the GPU start from the same values without depending on either device's random ops.</summary>
static class Training
{
    const int Batches = 4;   // distinct host batches fed in turn, as a data loader would

    /// <summary>The result of <see cref="Run"/>: the loss of every step, the median time of the steps after the
    /// warm-up, how many steps that median is of, and the first step's time (ILGPU compiles its kernels there);
    /// <see cref="Profile"/>: with <c>profile</c>, one more step traced, host time per op type (top 10).</summary>
    public sealed record Result(float[] Losses, double MedianMs, int Timed, double FirstMs, string Profile);

    /// <summary>Runs up to <paramref name="steps"/> steps (the first <paramref name="warmup"/> untimed). Timing stops
    /// early, after at least 3 timed steps, once the timed steps took <paramref name="maxTimedSeconds"/>.</summary>
    public static Result Run(CudaDevice? gpu, Model m, int batch, int steps, int seed, int warmup = 0, double maxTimedSeconds = double.PositiveInfinity,
        bool profile = false)
    {
        var g = new Graph { Seed = seed };
        var x = g.Placeholder(DType.Float32, new Shape([-1, .. m.Example]), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
        Tensor logits;
        using (g.VariableScope("model", initializer: new HostGlorot(seed)))
            logits = m.Logits(g, x);
        var loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(y, logits), name: "loss");
        var train = new GradientDescentOptimizer(m.LearningRate).Minimize(loss);
        using var s = new Session(g, gpu == null ? null : new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
        s.Run(g.GlobalVariablesInitializer());

        var feeds = new (Tensor, NDArray)[Batches][];
        int size = m.Example.Aggregate(1, (a, b) => a * b);
        for (int k = 0; k < Batches; k++)
        {
            var (xs, ys) = Batch(batch, size, m.Classes, k);
            feeds[k] = [(x, NDArray.From(xs, [batch, .. m.Example])), (y, NDArray.From(ys, batch))];
        }

        var losses = new List<float>();
        var times = new List<double>();
        double first = 0, timed = 0;
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            losses.Add(s.Run([loss], feeds[i % Batches], [train])[0].Item<float>());
            double ms = Stopwatch.GetElapsedTime(t0).TotalMilliseconds;
            if (i == 0) first = ms;
            if (i < warmup) continue;
            times.Add(ms);
            timed += ms / 1e3;
            if (times.Count >= 3 && timed >= maxTimedSeconds) break;
        }
        times.Sort();
        string summary = "";
        if (profile)
        {
            var trace = new StepTrace();
            s.Run([loss], feeds[steps % Batches], [train], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
            summary = $"{trace.Elapsed.TotalMilliseconds:F1} ms: " + string.Join(", ", trace.Nodes.GroupBy(n => n.OpType)
                .Select(grp => (op: grp.Key, ms: grp.Sum(n => n.DurationNanos) / 1e6, count: grp.Count())).OrderByDescending(t => t.ms).Take(10)
                .Select(t => $"{t.op} {t.ms:F2} ms ({t.count})"));
        }
        return new([.. losses], times.Count > 0 ? times[times.Count / 2] : 0, times.Count, first, summary);
    }

    /// <summary>Batch <paramref name="k"/>: labels <c>(7i + 3k) mod classes</c>; each example's values
    /// <c>0.5 sin(0.37 (i·size + j) + 0.9 k) + 0.5 sin(0.11 (label + 1) j)</c>, j the position in the example (a
    /// class-dependent wave under a varying one, so the loss falls within a few steps). tools/gpu_check_torch.py makes
    /// the same batches.</summary>
    public static (float[] X, int[] Y) Batch(int batch, int size, int classes, int k)
    {
        var xs = new float[batch * size];
        var ys = new int[batch];
        for (int i = 0; i < batch; i++)
        {
            ys[i] = (7 * i + 3 * k) % classes;
            for (int j = 0; j < size; j++)
                xs[i * size + j] = (float)(0.5 * Math.Sin(0.37 * (i * size + j) + 0.9 * k) + 0.5 * Math.Sin(0.11 * (ys[i] + 1) * j));
        }
        return (xs, ys);
    }

    /// <summary>Glorot uniform from a seeded host generator, as constants in the graph (biases keep their zeros).</summary>
    sealed class HostGlorot(int seed) : IInitializer
    {
        readonly Random r = new(seed);

        public Tensor Build(Graph g, Shape shape, DType dtype)
        {
            var (fanIn, fanOut) = Initializers.Fans(shape);
            double limit = Math.Sqrt(6 / Math.Max(1.0, fanIn + fanOut));
            var v = new float[shape.NumElements];
            for (int i = 0; i < v.Length; i++) v[i] = (float)((r.NextDouble() * 2 - 1) * limit);
            return g.Const(NDArray.From(v, shape.Dims), "host_glorot");
        }
    }
}
