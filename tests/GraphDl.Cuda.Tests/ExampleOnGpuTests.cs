using GraphDl.Cuda.Kernels;
using GraphDl.Examples;
using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Examples with <c>--device /gpu:0</c> on the simulated GPU (<see cref="GpuFixture"/>) reach the CPU run's
/// final metrics, with every node that has a GPU kernel placed on <c>/gpu:0</c>; without a GPU the run falls back to
/// the CPU.</summary>
public sealed class ExampleOnGpuTests
{
    const double Tolerance = 1e-5;
    string logDir = "";

    [SetUp]
    public void SetUp() => logDir = Path.Combine(Path.GetTempPath(), "graphdl-gpu-examples-" + Guid.NewGuid().ToString("N"));

    [TearDown]
    public void TearDown()
    {
        try { Directory.Delete(logDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>Runs an example in-process; <c>/gpu:N</c> opens the shared simulated GPU.</summary>
    ExampleResult Run(StringWriter output, params string[] args)
    {
        var result = ExampleProgram.RunExample([.. args, "--log-dir", logDir], output, SimulatedGpu);
        TestContext.Out.WriteLine(result.ToString());
        return result;
    }

    static CudaDevice? SimulatedGpu(int ordinal, out string why)
    {
        Assert.That(ordinal, Is.Zero, "the tests ask for /gpu:0");
        why = "";
        return GpuFixture.Gpu;
    }

    /// <summary>Runs <paramref name="args"/> on the CPU and on the simulated GPU (with placement logged) and compares the
    /// final metrics: each within <see cref="Tolerance"/> of the CPU's value, relative to max(1, |value|). The GPU's
    /// reductions and matrix products add in another order and its exp/log/tanh are the device's, so the float32 results
    /// differ in the last bits (measured: at most 3e-8 relative at these sizes); accuracies are counts and match exactly
    /// here, where no example sits on a decision boundary.</summary>
    (ExampleResult Cpu, ExampleResult Gpu, string GpuText) CpuAndGpu(params string[] args)
    {
        var cpu = Run(new StringWriter(), args);
        var text = new StringWriter();
        var gpu = Run(text, [.. args, "--device", "/gpu:0", "--log-device-placement"]);
        Assert.That(cpu.Device, Is.EqualTo("/cpu:0"));
        Assert.That(gpu.Device, Is.EqualTo("/gpu:0"));
        Assert.That(gpu.Metrics.Keys, Is.EquivalentTo(cpu.Metrics.Keys));
        foreach (var (key, value) in cpu.Metrics)
            TestContext.Out.WriteLine($"{key}: cpu {value:R}, gpu {gpu.Metrics[key]:R}");
        foreach (var (key, value) in cpu.Metrics)
            Assert.That(gpu.Metrics[key], Is.EqualTo(value).Within(Tolerance * Math.Max(1, Math.Abs(value))), key);
        AssertPlacedOnGpu(text.ToString());
        return (cpu, gpu, text.ToString());
    }

    /// <summary>The placement log (TF1's <c>name: (Type): device</c>, one line per node, with why for a node that asked
    /// for the GPU and runs on the CPU) puts every node whose op has a GPU kernel on <c>/gpu:0</c> and the CPU-only ones
    /// on <c>/cpu:0</c>, saying why. The exceptions: what asks for the CPU itself (Adam's β powers and their update,
    /// which <c>AdamOptimizer</c> pins to <c>/cpu:0</c>: the update kernels read them on the host), and pure ops the
    /// planner moves to the host because only host readers use their value or because they make a few elements from host
    /// inputs (the log says so).</summary>
    static void AssertPlacedOnGpu(string text)
    {
        var byName = OpCatalog.All.ToDictionary(d => d.Name);
        var lines = text.Split('\n').Select(l => l.TrimEnd('\r'))
            .Select(l => System.Text.RegularExpressions.Regex.Match(l, @"^(\S+): \((\w+)\): (/\w+:\d+)( \(asked for /gpu:0: .+\))?$"))
            .Where(m => m.Success).ToList();
        Assert.That(lines, Is.Not.Empty, "no placement lines in the output");
        static bool PinnedToCpu(string node, string type) =>
            node.StartsWith("beta1_power", StringComparison.Ordinal) || node.StartsWith("beta2_power", StringComparison.Ordinal) ||
            (node.StartsWith("Adam/", StringComparison.Ordinal) && type is "Mul" or "Assign" or "Const");
        var wrong = lines.Where(m =>
        {
            string node = m.Groups[1].Value, type = m.Groups[2].Value, device = m.Groups[3].Value;
            bool saysWhy = m.Groups[4].Success;
            bool pinned = device == "/cpu:0" && !saysWhy && PinnedToCpu(node, type);
            if (!GpuKernels.Has(byName[type]))
                return device != "/cpu:0" || !(saysWhy || pinned);
            // A pure op whose value only host readers use (a learning-rate schedule), or whose small result comes from
            // host inputs (a mean gradient's count), is moved to the host, saying so.
            bool movedToHost = device == "/cpu:0" && saysWhy && (m.Groups[4].Value.Contains("its value is read on the host by")
                || m.Groups[4].Value.Contains("its inputs are on the host and it makes"));
            return device != "/gpu:0" && !pinned && !movedToHost;
        }).Select(m => m.Value).ToList();
        Assert.That(wrong, Is.Empty, "nodes on the wrong device");
        // The heavy op of each example (its GPU kernel puts it on /gpu:0, checked above) is in the log.
        Assert.That(lines.Select(m => m.Groups[2].Value), Does.Contain("MatMul").Or.Contain("Conv2D"));
    }

    [Test]
    public void LinearRegression_OnTheGpu_ReachesTheCpuMetrics()
    {
        // --smoke: 256 rows and one epoch, here of 8 mini-batches of 32.
        var (_, gpu, text) = CpuAndGpu("linear-regression", "--smoke", "--batch-size", "32");
        Assert.That(gpu.Metric("test/r2"), Is.GreaterThan(0));
        Assert.That(text, Does.Contain("  device: /gpu:0"));
    }

    [Test]
    public void Xor_OnTheGpu_ReachesTheCpuMetrics()
    {
        var (cpu, gpu, _) = CpuAndGpu("xor", "--epochs", "10");
        Assert.That(gpu.Variants, Is.EqualTo(cpu.Variants));
    }

    [Test]
    public void LogisticRegression_OnTheGpu_ReachesTheCpuMetrics()
    {
        CpuAndGpu("logistic-regression", "--smoke");
    }

    [Test]
    public void EdgeDetection_OnTheGpu_ReachesTheCpuMetrics()
    {
        // Conv2D with the fixed edge kernels on the course's 6x6 image and a smoke-size batch of Fashion-MNIST.
        var (_, gpu, _) = CpuAndGpu("edge-detection", "--smoke");
        Assert.That(gpu.Metric("course/edge_max"), Is.EqualTo(30));
    }

    [Test]
    public void WithoutAGpu_TheRunFallsBackToTheCpu_WithTheSameNumbers()
    {
        // The real device opener: /gpu:99 exists on no machine, so this falls back with or without a GPU.
        using var cpuText = new StringWriter();
        var cpu = ExampleProgram.RunExample(["linear-regression", "--smoke", "--log-dir", logDir], cpuText);
        using var text = new StringWriter();
        var r = ExampleProgram.RunExample(["linear-regression", "--smoke", "--device", "/gpu:99", "--log-dir", logDir], text);
        Assert.That(r.Device, Is.EqualTo("/cpu:0"));
        Assert.That(text.ToString(), Does.Match(@"--device /gpu:99: no GPU \(.+\); running on /cpu:0"));
        Assert.That(r.Metrics, Is.EqualTo(cpu.Metrics), "the fallback run is the CPU run");
    }

    [Test]
    public void OnThisMachine_Gpu0FallsBackToTheCpu_WhenTryCreateFindsNone()
    {
        // /gpu:0 through CudaDevice.TryCreate itself: on a machine without a GPU (CI) it returns null with the reason.
        using var probe = CudaDevice.TryCreate(0, out string reason);
        using var text = new StringWriter();
        var r = ExampleProgram.RunExample(["linear-regression", "--smoke", "--device", "/gpu:0", "--log-dir", logDir], text);
        if (probe == null)
        {
            Assert.That(r.Device, Is.EqualTo("/cpu:0"));
            Assert.That(text.ToString(), Does.Contain($"--device /gpu:0: no GPU ({reason}); running on /cpu:0"));
        }
        else
        {
            Assert.That(r.Device, Is.EqualTo("/gpu:0"));
            Assert.That(text.ToString(), Does.Contain("  device: /gpu:0").And.Not.Contain("no GPU"));
        }
    }

    [TestCase("/tpu:0")]
    [TestCase("/cpu:1")]
    [TestCase("gpu:0")]
    [TestCase("/gpu:-1")]
    [TestCase("/gpu:")]
    public void AnotherDeviceName_IsAUsageError(string device)
    {
        var e = Assert.Throws<UsageException>(() =>
            ExampleProgram.RunExample(["linear-regression", "--smoke", "--device", device, "--log-dir", logDir], new StringWriter()));
        Assert.That(e!.Message, Does.Contain("--device").And.Contain($"'{device}'"));
        Assert.That(ExampleProgram.Run(["linear-regression", "--device", device, "--log-dir", logDir], new StringWriter()),
            Is.EqualTo(ExampleProgram.UsageExitCode));
    }
}
