using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Shared by the run-time error tests of the GPU kernels.</summary>
internal static class ErrorParity
{
    /// <summary>Builds the op on /gpu:0 over placeholders of unknown shape, runs it on the CPU and on the simulated GPU with
    /// <paramref name="inputs"/>, and checks both fail with the same error type and message, the CPU's naming
    /// <paramref name="expect"/>.</summary>
    public static void AssertSameErrorOnGpu(string name, Func<Graph, Tensor[], Tensor> build, NDArray[] inputs, string expect)
    {
        var g = new Graph();
        var ph = inputs.Select((a, i) => g.Placeholder(a.DType, Shape.Unknown, $"in{i}")).ToArray();
        Tensor y;
        using (g.Device("/gpu:0")) y = build(g, ph);
        var feeds = ph.Zip(inputs, (t, v) => (t, v)).ToArray();
        using var cpu = new Session(g);
        var cpuError = Assert.Catch(() => cpu.Run([y], feeds), name)!;
        using var gpu = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        var gpuError = Assert.Catch(() => gpu.Run([y], feeds), name)!;
        Assert.That(cpuError.Message, Does.Contain(expect), name);
        Assert.That(gpuError.GetType(), Is.EqualTo(cpuError.GetType()), name);
        Assert.That(gpuError.Message, Is.EqualTo(cpuError.Message), name);
    }
}
