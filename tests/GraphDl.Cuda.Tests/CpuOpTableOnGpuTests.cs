using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Parity;
using GraphDl.Tests.Ops;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>The CPU op test table (tests/GraphDl.Tests/Ops/OpCases*.cs, compiled into this project) run on the simulated
/// GPU: every row whose op has a GPU kernel, with its float64 inputs converted to float32, against the CPU.
/// A second fixture next to <see cref="KernelParityTests"/>: other shapes, attrs and compositions, the same rows the
/// CPU kernels are tested with. Tolerance rtol 1e-5, atol 1e-5 in float32.</summary>
public class CpuOpTableOnGpuTests
{
    public static IEnumerable<OpCase> GpuRows() => OpCases.All().Where(c => GpuKernels.Has(c.Def));

    [Test]
    public void TheSharedTable_HasRowsForMostGpuOps()
    {
        var covered = GpuRows().Select(c => c.Def).ToHashSet();
        Assert.That(covered.Count, Is.GreaterThan(GpuKernels.Ops.Count * 3 / 4), "rows with a GPU kernel");
    }

    [TestCaseSource(nameof(GpuRows))]
    public void Row_OnTheGpu_MatchesTheCpu(OpCase c)
    {
        var f32 = c.Inputs.Select(a => a.DType == DType.Float64 ? NDArray.From(a.ToArray<double>().Select(v => (float)v).ToArray(), a.Dims.ToArray()) : a).ToArray();
        var failures = Run(c, f32, 1e-5, 1e-5);
        Assert.That(failures, Is.Empty, c.Name);
    }

    static List<string> Run(OpCase c, NDArray[] inputs, double rtol, double atol)
    {
        var g = new Graph();
        var ph = inputs.Select((a, i) => g.Placeholder(a.DType, a.Shape, $"in{i}")).ToArray();
        Tensor y;
        using (g.Device("/gpu:0")) y = c.Build(g, ph);
        var feeds = ph.Zip(inputs, (t, v) => (t, v)).ToArray();
        using var cpu = new Session(g);
        var expect = cpu.Run([y], feeds)[0];
        using var s = new Session(g, new SessionOptions { Devices = [GpuFixture.Gpu] });
        var trace = new StepTrace();
        var got = s.Run([y], feeds, [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace)[0];
        var failures = new List<string>();
        var placed = trace.Nodes.Where(n => n.OpType == c.Def.Name).Select(n => n.Device).ToList();
        if (placed.Count == 0 || placed.Any(p => p != "/gpu:0")) failures.Add($"{c.Def.Name} ran on [{string.Join(", ", placed)}], not /gpu:0");
        if (Numeric.Compare(got, expect, rtol, atol, c.Name) is { } e) failures.Add(e);
        return failures;
    }
}
