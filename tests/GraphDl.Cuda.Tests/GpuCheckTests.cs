using System.Diagnostics;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>The GPU check program (tools/GraphDl.GpuCheck) runs on the simulated GPU: it starts, finds no driver here,
/// runs a parity case and the MLP, LeNet-5 and LSTM training steps against the CPU, and prints its summary table and the
/// closing count.</summary>
public class GpuCheckTests
{
    [Test]
    public void CheckProgram_RunsSimulated_AndPrintsTheSummary()
    {
        string testDir = TestContext.CurrentContext.TestDirectory;   // tests/GraphDl.Cuda.Tests/bin/<config>/net10.0
        string dll = Path.GetFullPath(Path.Combine(testDir, "..", "..", "..", "..", "..", "tools", "GraphDl.GpuCheck", "bin",
            new DirectoryInfo(testDir).Parent!.Name, "net10.0", "GraphDl.GpuCheck.dll"));
        Assert.That(File.Exists(dll), dll);
        string json = Path.Combine(Path.GetTempPath(), $"gpucheck-{Guid.NewGuid():N}.json");
        var psi = new ProcessStartInfo("dotnet", ["exec", dll, "--simulate", "--only", "Add [5,7]", "--seed", "3", "--json", json])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        string output = p.StandardOutput.ReadToEnd();
        string err = p.StandardError.ReadToEnd();
        Assert.That(p.WaitForExit(120_000), "the check program did not finish");
        Assert.That(p.ExitCode, Is.EqualTo(0), output + err);
        Assert.That(output, Does.Contain("parity: 1 passed, 0 failed").And.Contain("== summary").And.Contain("mlp 5 steps vs cpu")
            .And.Contain("lenet5 5 steps vs cpu").And.Contain("lstm 5 steps vs cpu").And.EndWith("4 passed, 0 failed\n"));
        Assert.That(File.ReadAllText(json), Does.Contain("\"passed\": 4").And.Contain("\"failed\": 0"));
        File.Delete(json);
    }
}
