using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Variables on /gpu:0: values in device memory, Assign* and Apply* as GPU kernels updating them in place.</summary>
public class GpuVariableTests
{
    static SessionOptions OnGpu(bool log = false, List<string>? lines = null, bool streams = true) =>
        new() { Devices = [GpuFixture.For(streams)], DefaultDevice = "/gpu:0", LogDevicePlacement = log, PlacementLog = lines == null ? null : lines.Add };

    public static readonly (string Name, Func<Optimizer> Make)[] Optimizers =
    [
        ("GradientDescent", () => new GradientDescentOptimizer(0.1)),
        ("Momentum", () => new MomentumOptimizer(0.05, 0.9)),
        ("MomentumNesterov", () => new MomentumOptimizer(0.05, 0.9, useNesterov: true)),
        ("Adagrad", () => new AdagradOptimizer(0.3)),
        ("RMSProp", () => new RMSPropOptimizer(0.01, momentum: 0.5)),
        ("CenteredRMSProp", () => new RMSPropOptimizer(0.01, momentum: 0.5, centered: true)),
        ("Adam", () => new AdamOptimizer(0.05)),
    ];

    static IEnumerable<TestCaseData> OptimizerCases() => Optimizers.Select(o => new TestCaseData(o.Name).SetName($"{{m}}({o.Name})"));

    /// <summary>Each optimizer with streams (the fixture's device) and without (one stream, synchronous copies).</summary>
    static IEnumerable<TestCaseData> OptimizerStreamCases() =>
        Optimizers.SelectMany(o => new[] { true, false }.Select(streams =>
            new TestCaseData(o.Name, streams).SetName($"{{m}}({o.Name}, {(streams ? "streams" : "one stream")})")));

    static Optimizer Make(string name) => Optimizers.Single(o => o.Name == name).Make();

    static IEnumerable<TestCaseData> OptimizerDTypeCases() =>
        Optimizers.SelectMany(o => new[] { DType.Float32, DType.Float64 }.Select(t => new TestCaseData(o.Name, t).SetName($"{{m}}({o.Name}, {t.Name()})")));

    static NDArray Arr(DType t, double[] v, params int[] dims) =>
        t == DType.Float32 ? NDArray.From(v.Select(x => (float)x).ToArray(), dims) : NDArray.From(v, dims);

    /// <summary>Only the updates differ in placement: the gradients are fed, so a GPU step runs the Apply kernels on
    /// GPU-resident variables and slots, and the CPU step the CPU kernels. On the simulator: bit for bit, float32 and float64.</summary>
    [TestCaseSource(nameof(OptimizerDTypeCases))]
    public void ApplyKernels_OnGpuVariables_MatchTheCpuExactly(string opt, DType t)
    {
        double[][] Run(SessionOptions? options)
        {
            var g = new Graph();
            // 37 elements: not a multiple of the CPU's vector width, so its vector loop and scalar tail both run.
            var w = g.Variable(Arr(t, Enumerable.Range(0, 37).Select(i => Math.Sin(i * 1.3)).ToArray(), 37), "w");
            var b = g.Variable(Arr(t, [0.25], 1), "b");
            var gw = g.Placeholder(t, Shape.Of(37), "gw");
            var gb = g.Placeholder(t, Shape.Of(1), "gb");
            var o = Make(opt);
            var train = o.ApplyGradients([(gw, w), (gb, b)]);
            var init = g.GlobalVariablesInitializer();
            using var s = new Session(g, options);
            s.Run(init);
            for (int step = 0; step < 6; step++)
            {
                // Gradients of varied magnitude, zeros, and tiny ones whose squares (and the decaying accumulators built
                // on them) fall below the smallest normal float, where the kernels flush to zero.
                var gws = Enumerable.Range(0, 37).Select(i => i % 7 == 0 ? 0 : i % 11 == 1 ? 1e-21 * (step + 1)
                    : i % 13 == 2 ? 1e-160 : Math.Cos(i * 0.9 + step) * Math.Pow(10, (i % 5) - 3)).ToArray();
                s.Run([], [(gw, Arr(t, gws, 37)), (gb, Arr(t, [0.5 - step], 1))], [train]);
            }
            var outs = new List<double[]> { w.Eval(s).ToDoubleArray(), b.Eval(s).ToDoubleArray() };
            foreach (var slot in o.GetSlotNames()) outs.Add(s.Run(o.GetSlot(w, slot)!.Value).ToDoubleArray());
            return outs.ToArray();
        }
        var cpu = Run(null);
        var gpu = Run(OnGpu());
        Assert.That(gpu, Has.Length.EqualTo(cpu.Length));
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]), $"array {i} (variable, bias, then w's slots)");
    }

    static float[] LinearRegression(string opt, SessionOptions? options, out float[] w)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var y = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
        var wv = g.Variable(NDArray.From(new float[] { 0.1f, -0.2f, 0.3f }, 3, 1), "w");
        var bv = g.Variable(NDArray.From(new float[] { 0f }, 1), "b");
        var loss = g.MeanSquaredError(y, g.MatMul(x, wv) + bv);
        var train = Make(opt).Minimize(loss);
        var init = g.GlobalVariablesInitializer();
        var xs = NDArray.From(Enumerable.Range(0, 8 * 3).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), 8, 3);
        var ys = NDArray.From(Enumerable.Range(0, 8).Select(i => (float)(2 * Math.Sin(i * 1.11) - 1)).ToArray(), 8, 1);
        using var s = new Session(g, options);
        s.Run(init);
        var losses = new float[6];
        for (int step = 0; step < losses.Length; step++) losses[step] = s.Run([loss], [(x, xs), (y, ys)], [train])[0].Item<float>();
        w = wv.Eval(s).ToArray<float>();
        return losses;
    }

    /// <summary>Forward and backward also on the GPU: its reductions sum in another order than the CPU's, so the results
    /// agree to rtol 1e-4 (observed: at most 2.2e-7 relative on the losses).</summary>
    [TestCaseSource(nameof(OptimizerCases))]
    public void LinearRegression_WithVariablesOnTheGpu_MatchesTheCpu(string opt)
    {
        var cpu = LinearRegression(opt, null, out var wc);
        var gpu = LinearRegression(opt, OnGpu(), out var wg);
        Assert.That(cpu[^1], Is.LessThan(cpu[0]), "the model should learn");
        TestContext.Out.WriteLine($"{opt}: largest relative loss difference {cpu.Zip(gpu, (c, g) => Math.Abs(g - c) / Math.Abs(c)).Max():G3}");
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(1e-2).Percent, $"loss at step {i}");
        for (int i = 0; i < wc.Length; i++) Assert.That(wg[i], Is.EqualTo(wc[i]).Within(1e-4).Percent.Or.EqualTo(wc[i]).Within(1e-6), $"w[{i}]");
    }

    [TestCaseSource(nameof(OptimizerStreamCases))]
    public void Mlp_WithVariablesOnTheGpu_MatchesTheCpu(string opt, bool streams)
    {
        float[] Losses(SessionOptions? options, out StepTrace trace)
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
            var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            var r = new Random(7);
            NDArray W(int a, int b) => NDArray.From(Enumerable.Range(0, a * b).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), a, b);
            var w1 = g.Variable(W(6, 10), "w1"); var b1 = g.Variable(NDArray.Zeros(DType.Float32, 10), "b1");
            var w2 = g.Variable(W(10, 3), "w2"); var b2 = g.Variable(NDArray.Zeros(DType.Float32, 3), "b2");
            var logits = g.MatMul(g.Relu(g.MatMul(x, w1) + b1), w2) + b2;
            var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
            var train = Make(opt).Minimize(loss);
            var init = g.GlobalVariablesInitializer();
            var xs = NDArray.From(Enumerable.Range(0, 9 * 6).Select(i => (float)Math.Sin(i * 0.7)).ToArray(), 9, 6);
            var ys = NDArray.From(Enumerable.Range(0, 9).Select(i => i % 3).ToArray(), 9);
            using var s = new Session(g, options);
            s.Run(init);
            var losses = new float[5];
            trace = new StepTrace();
            for (int step = 0; step < losses.Length; step++)
            {
                bool last = step == losses.Length - 1;
                losses[step] = s.Run([loss], [(x, xs), (y, ys)], [train], last ? new RunOptions { TraceLevel = RunTraceLevel.FullTrace } : null,
                    last ? trace : null)[0].Item<float>();
            }
            return losses;
        }
        var cpu = Losses(null, out _);
        var gpu = Losses(OnGpu(streams: streams), out var trace);
        Assert.That(cpu[^1], Is.LessThan(cpu[0]), "the model should learn");
        TestContext.Out.WriteLine($"{opt}: largest relative loss difference {cpu.Zip(gpu, (c, g) => Math.Abs(g - c) / Math.Abs(c)).Max():G3}");
        for (int i = 0; i < cpu.Length; i++) Assert.That(gpu[i], Is.EqualTo(cpu[i]).Within(1e-2).Percent, $"loss at step {i} (relative 1e-4)");
        var onGpu = trace.Nodes.Where(n => n.Device == "/gpu:0").Select(n => n.OpType).ToHashSet();
        Assert.That(onGpu, Does.Contain("VariableV2"));
        Assert.That(onGpu.Where(t => t.StartsWith("Apply")), Is.Not.Empty, "the updates run on the GPU");
        // Every variable and update on the GPU, except Adam's β powers: scalars the update kernels read on the host.
        bool betaPower(NodeTrace n) => n.Node is "beta1_power" or "beta2_power";
        Assert.That(trace.Nodes.Where(n => (n.OpType.StartsWith("Apply") || n.OpType == "VariableV2") && !betaPower(n)).Select(n => n.Device), Is.All.EqualTo("/gpu:0"));
        Assert.That(trace.Nodes.Where(betaPower).Select(n => n.Device), Is.All.EqualTo("/cpu:0"));
    }

    [Test]
    public void GpuVariable_ReadByACpuOp_IsCopied_AndFetchesReturnHostArrays()
    {
        var g = new Graph();
        Variable v;
        Tensor size, doubled;
        using (g.Device("/gpu:0")) v = g.Variable(NDArray.From(new float[] { 1, 2, 3, 4 }, 2, 2), "v");
        using (g.Device("/cpu:0")) { doubled = v.Value * 2.0; size = g.Size(v.Value); }
        var bump = v.AssignAdd(g.Const(NDArray.From(new float[] { 10, 20, 30, 40 }, 2, 2)));
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        s.Run(v.Initializer);
        var trace = new StepTrace();
        var r = s.Run([doubled, size, v.Ref, v.Value], [], [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        Assert.That(r[0].ToArray<float>(), Is.EqualTo(new float[] { 2, 4, 6, 8 }));
        Assert.That(r[1].Item<int>(), Is.EqualTo(4));
        Assert.That(r[2].ToArray<float>(), Is.EqualTo(new float[] { 1, 2, 3, 4 }), "the ref, fetched, comes back as a host array");
        Assert.That(r[3].Dims.ToArray(), Is.EqualTo(new[] { 2, 2 }));
        Assert.That(trace.Nodes.Single(n => n.OpType == "VariableV2").Device, Is.EqualTo("/gpu:0"));
        Assert.That(trace.Nodes.Single(n => n.OpType == "Mul").Device, Is.EqualTo("/cpu:0"));
        Assert.That(trace.Nodes.Any(n => n.OpType == "_Copy" && n.Device == "/cpu:0"), Is.True, "the value is copied to the CPU");

        var fetched = s.Run(bump);
        Assert.That(fetched.ToArray<float>(), Is.EqualTo(new float[] { 11, 22, 33, 44 }));
        fetched.AsSpan<float>()[0] = -1;   // a host copy: writing it leaves the variable alone
        Assert.That(v.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 11, 22, 33, 44 }));
        Assert.That(s.Run(doubled).ToArray<float>(), Is.EqualTo(new float[] { 22, 44, 66, 88 }), "the CPU reader sees the update");

        v.Load(NDArray.From(new float[] { 5, 6, 7, 8 }, 2, 2), s);
        Assert.That(s.Run(doubled).ToArray<float>(), Is.EqualTo(new float[] { 10, 12, 14, 16 }), "Load writes the GPU value");
    }

    [Test]
    public void UninitializedGpuVariable_GivesTheSameTypedError()
    {
        var g = new Graph();
        Variable v;
        using (g.Device("/gpu:0")) v = g.Variable(NDArray.From(new float[] { 1, 2 }, 2), "weights");
        Tensor onGpu, onCpu;
        using (g.Device("/gpu:0")) onGpu = g.Exp(v.Value);
        using (g.Device("/cpu:0")) onCpu = v.Value * 2.0;
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        var e1 = Assert.Throws<UninitializedVariableException>(() => s.Run(onGpu))!;
        Assert.That(e1.Message, Does.StartWith("Attempting to use uninitialized value weights"));
        var e2 = Assert.Throws<UninitializedVariableException>(() => s.Run(onCpu))!;
        Assert.That(e2.Message, Does.StartWith("Attempting to use uninitialized value weights"));
        var e3 = Assert.Throws<UninitializedVariableException>(() => s.Run(v.Ref))!;
        Assert.That(e3.Message, Does.StartWith("Attempting to use uninitialized value weights"));
        // The same error as in a CPU-only session.
        using var cpu = new Session(g);
        Assert.That(Assert.Throws<UninitializedVariableException>(() => cpu.Run(onGpu))!.Message, Does.StartWith("Attempting to use uninitialized value weights"));
        Assert.That(Assert.Throws<UninitializedVariableException>(() => cpu.Run(v.Ref))!.Message, Does.StartWith("Attempting to use uninitialized value weights"));
    }

    [Test]
    public void DisposingASession_GivesItsGpuVariablesBack()
    {
        var gpu = GpuFixture.Gpu;
        long before = gpu.Allocator.Stats.InUseBytes;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 64), "x");
        Variable w;
        using (g.Device("/gpu:0")) w = g.Variable(NDArray.Zeros(DType.Float32, 64, 32), "w");
        var loss = g.Mean(g.Square(g.MatMul(x, w) - 1.0));
        var train = new AdamOptimizer(0.01).Minimize(loss);
        var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = "/gpu:0" });
        s.Run(g.GlobalVariablesInitializer());
        long afterInit = gpu.Allocator.Stats.InUseBytes;
        Assert.That(afterInit - before, Is.GreaterThanOrEqualTo(3L * 64 * 32 * 4), "w and Adam's two slots live on the GPU");
        var xs = NDArray.From(Enumerable.Range(0, 4 * 64).Select(i => (float)Math.Cos(i)).ToArray(), 4, 64);
        s.Run([], [(x, xs)], [train]);
        s.Run([], [(x, xs)], [train]);
        s.Dispose();
        Assert.That(gpu.Allocator.Stats.InUseBytes, Is.EqualTo(before));
        gpu.Allocator.Validate();
    }

    [Test]
    public void PlacementLog_ListsTheVariablesAndUpdatesOnTheGpu()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        Variable w, c;
        using (g.Device("/gpu:0")) w = g.Variable(NDArray.From(new float[] { 1, 2 }, 2, 1), "w");
        c = g.Variable(NDArray.From(new float[] { 3 }, 1), "c");
        var loss = g.Mean(g.Square(g.MatMul(x, w) + c));
        var train = new MomentumOptimizer(0.1, 0.9).Minimize(loss);
        var lines = new List<string>();
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu], LogDevicePlacement = true, PlacementLog = lines.Add });
        s.Run(g.GlobalVariablesInitializer());
        lines.Clear();
        s.Run([], [(x, NDArray.From(new float[] { 1, 1, 2, 0 }, 2, 2))], [train]);
        Assert.That(lines, Does.Contain("w: (VariableV2): /gpu:0"));
        Assert.That(lines, Does.Contain("w/Momentum: (VariableV2): /gpu:0"), "the slot is colocated with its variable");
        Assert.That(lines, Does.Contain("c: (VariableV2): /cpu:0"));
        Assert.That(lines, Does.Contain("c/Momentum: (VariableV2): /cpu:0"));
        Assert.That(lines.Single(l => l.StartsWith("Momentum/update_w/")), Does.EndWith("(ApplyMomentum): /gpu:0"));
        Assert.That(lines.Single(l => l.StartsWith("Momentum/update_c/")), Does.EndWith("(ApplyMomentum): /cpu:0"));
    }

    [Test]
    public void SeededInitializers_GiveTheSameValuesOnTheGpu()
    {
        // Glorot-uniform and random-uniform initializers draw on the GPU (RandomUniform has a kernel), the truncated
        // normal one on the CPU (copied to the GPU variable): every value is the CPU's, bit for bit, and so is every later
        // draw of a sampler (the session's run counter).
        (float[][] Values, float[][] Draws, List<string> Log) Run(SessionOptions? options)
        {
            var g = new Graph { Seed = 42 };
            var a = g.GetVariable("a", Shape.Of(17, 9), initializer: Initializers.GlorotUniform());
            var b = g.GetVariable("b", Shape.Of(33), initializer: Initializers.RandomUniform(-2, 3, seed: 7));
            var c = g.GetVariable("c", Shape.Of(4, 6), initializer: Initializers.TruncatedNormal(0, 0.5));
            var u = g.RandomUniform(Shape.Of(50), dtype: DType.Float32, name: "draw");
            var lines = new List<string>();
            using var s = new Session(g, options == null ? null : new SessionOptions
            {
                Devices = options.Devices, DefaultDevice = options.DefaultDevice, LogDevicePlacement = true, PlacementLog = lines.Add,
            });
            s.Run(g.GlobalVariablesInitializer());
            var values = new[] { a, b, c }.Select(v => v.Eval(s).ToArray<float>()).ToArray();
            var draws = Enumerable.Range(0, 3).Select(_ => s.Run(u).ToArray<float>()).ToArray();
            return (values, draws, lines);
        }
        var cpu = Run(null);
        var gpu = Run(OnGpu());
        for (int i = 0; i < cpu.Values.Length; i++) Assert.That(gpu.Values[i], Is.EqualTo(cpu.Values[i]), $"variable {i}");
        for (int i = 0; i < cpu.Draws.Length; i++) Assert.That(gpu.Draws[i], Is.EqualTo(cpu.Draws[i]), $"draw {i}");
        Assert.That(cpu.Draws[1], Is.Not.EqualTo(cpu.Draws[0]), "each run draws new numbers");
        Assert.That(gpu.Log, Does.Contain("draw/RandomUniform: (RandomUniform): /gpu:0"));
        Assert.That(gpu.Log.Single(l => l.Contains("(TruncatedNormal)")),
            Does.EndWith(": /cpu:0 (asked for /gpu:0: /gpu:0 has no kernel for TruncatedNormal)"));
        Assert.That(gpu.Log, Does.Contain("a: (VariableV2): /gpu:0"));
    }

    [Test]
    public void AnUpdateOfVariablesOnTwoDevices_IsATypedError()
    {
        var g = new Graph();
        Variable a, m;
        using (g.Device("/gpu:0")) a = g.Variable(NDArray.From(new float[] { 1, 2 }, 2), "a");
        m = g.Variable(NDArray.From(new float[] { 0, 0 }, 2), "m");
        var upd = g.ApplyMomentum(a, m, g.Scalar(0.1, DType.Float32), g.Const(NDArray.From(new float[] { 1, 1 }, 2)), g.Scalar(0.9, DType.Float32), name: "mixed");
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        var e = Assert.Throws<SessionRunException>(() => s.Run(upd.Op))!;
        Assert.That(e.Message, Does.Contain("mixed").And.Contain("'a' on /gpu:0").And.Contain("'m' on /cpu:0"));
    }
}
