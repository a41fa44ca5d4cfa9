using GraphDl.Cuda.Memory;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>One simulated GPU (ILGPU's CPU accelerator, default preset: 4 warps of 4 threads) for the whole test
/// process: kernels compile once per process and are shared by the tests.</summary>
[SetUpFixture]
public sealed class GpuFixture
{
    static CudaDevice? gpu;

    public static CudaDevice Gpu => gpu ??= CreateDevice();

    static CudaDevice CreateDevice()
    {
        var d = CudaDevice.CreateSimulated(0, new GpuMemoryOptions { MemoryFraction = 0.25 });
        d.PoisonNewBuffers = true;
        return d;
    }

    [OneTimeTearDown]
    public void TearDown() => gpu?.Dispose();
}
