using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Parity;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Every GPU kernel, run on the simulated GPU (ILGPU's CPU accelerator), against the CPU kernels in float32
/// (<see cref="ParityCases"/>), with every GPU buffer poisoned with NaN when allocated (an element a kernel forgets to
/// write shows up as NaN). Twice: with streams (the fixture's device: copies deferred by the simulated stream backend until
/// a kernel or the host waits for them, so a missing wait shows as NaN or stale values) and without (one stream,
/// synchronous copies).</summary>
public class KernelParityTests
{
    public static IEnumerable<ParityCase> Cases() => ParityCases.All();

    [TestCaseSource(nameof(Cases))]
    public void GpuMatchesCpu(ParityCase pc)
    {
        var failures = ParityRunner.Run(pc, GpuFixture.Gpu);
        Assert.That(failures, Is.Empty, pc.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void GpuMatchesCpu_WithoutStreams(ParityCase pc)
    {
        var failures = ParityRunner.Run(pc, GpuFixture.SyncGpu);
        Assert.That(failures, Is.Empty, pc.Name);
    }

    [Test]
    public void EveryGpuKernel_HasAParityCase()
    {
        var covered = ParityCases.All().Select(c => c.Op).ToHashSet();
        var missing = GpuKernels.Ops.Where(op => !covered.Contains(op)).Select(op => op.Name).ToList();
        Assert.That(missing, Is.Empty, "GPU kernels without a parity case");
    }
}
