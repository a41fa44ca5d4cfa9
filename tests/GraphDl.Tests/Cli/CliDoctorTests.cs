using GraphDl.Cli;
using NUnit.Framework;
using static GraphDl.Tests.Cli.CliHarness;

namespace GraphDl.Tests.Cli;

/// <summary><c>graphdl doctor</c> on a machine without a GPU (CI): a clear "no GPU" report, exit 0.</summary>
public sealed class CliDoctorTests
{
    static bool HasDriver() => GraphDl.Cuda.Native.NativeLibraries.TryLoadDriver(out _, out _);

    [Test]
    public void WithoutADriver_ReportsNoGpu_AndExitsZero()
    {
        if (HasDriver()) Assert.Ignore("a CUDA driver is installed here: the no-driver report cannot be checked");
        var r = Run("doctor");
        Assert.That(r.Code, Is.EqualTo(ExitCodes.Ok), r.ToString());
        Assert.That(r.Out, Does.Contain("CUDA driver:  not found").And.Contain("GPUs:         none")
            .And.Contain("Result: no GPU: GraphDl will run on the CPU.").And.Contain("libcuda.so.1").And.Contain("install the NVIDIA driver"));
        Assert.That(r.Out, Does.Contain("cuBLAS:"));
        Assert.That(r.Err, Is.Empty);
    }

    [Test]
    public void RequireGpu_WithoutADriver_ExitsFour()
    {
        if (HasDriver()) Assert.Ignore("a CUDA driver is installed here");
        var r = Run("doctor", "--require-gpu");
        Assert.That(r.Code, Is.EqualTo(ExitCodes.NoGpu), r.ToString());
        Assert.That(r.Out, Does.Contain("no GPU"));
    }

    [Test]
    public void HelpListsDoctor()
    {
        var r = Run("--help");
        Assert.That(r.Out, Does.Contain("doctor").And.Contain("4  doctor --require-gpu"));
    }
}
