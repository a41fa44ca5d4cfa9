using GraphDl.Cuda.Memory;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>One simulated GPU (ILGPU's CPU accelerator, default preset: 4 warps of 4 threads) for the whole test
/// process: kernels compile once per process and are shared by the tests. <see cref="Gpu"/> uses streams (its copies go
/// through <see cref="Streams.SimulatedStreamBackend"/>, deferred until something waits for them); <see cref="SyncGpu"/>
/// is the same device without streams (one stream, synchronous copies), for the tests run in both modes.</summary>
[SetUpFixture]
public sealed class GpuFixture
{
    static CudaDevice? gpu, syncGpu;

    public static CudaDevice Gpu => gpu ??= CreateDevice(streams: true);
    public static CudaDevice SyncGpu => syncGpu ??= CreateDevice(streams: false);

    /// <summary>The device of a test run in both modes.</summary>
    public static CudaDevice For(bool streams) => streams ? Gpu : SyncGpu;

    static CudaDevice CreateDevice(bool streams)
    {
        var d = CudaDevice.CreateSimulated(0, new GpuMemoryOptions { MemoryFraction = 0.25 }, streams: streams);
        d.PoisonNewBuffers = true;
        return d;
    }

    [OneTimeTearDown]
    public void TearDown()
    {
        gpu?.Dispose();
        syncGpu?.Dispose();
    }
}
