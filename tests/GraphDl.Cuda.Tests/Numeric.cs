using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>Elementwise comparison: |gpu - cpu| &lt;= atol + rtol·|cpu|, NaN only where the CPU has NaN, infinities equal.</summary>
static class Numeric
{
    public static void AllClose(NDArray gpu, NDArray cpu, double rtol, double atol, string what)
    {
        Assert.That(gpu.DType, Is.EqualTo(cpu.DType), $"{what}: dtype");
        Assert.That(gpu.Dims.ToArray(), Is.EqualTo(cpu.Dims.ToArray()), $"{what}: dims");
        if (cpu.DType == DType.Bool)
        {
            // Raw bytes: a poisoned (never written) element is 0xFF, which would still read as true.
            var gb = System.Runtime.InteropServices.MemoryMarshal.AsBytes(gpu.AsSpan<bool>()).ToArray();
            var cb = System.Runtime.InteropServices.MemoryMarshal.AsBytes(cpu.AsSpan<bool>()).ToArray();
            Assert.That(gb, Is.EqualTo(cb), $"{what}: bool bytes");
            return;
        }
        var g = gpu.ToDoubleArray(); var c = cpu.ToDoubleArray();
        for (int i = 0; i < c.Length; i++)
        {
            if (double.IsNaN(c[i])) { Assert.That(double.IsNaN(g[i]), $"{what}[{i}]: CPU NaN, GPU {g[i]}"); continue; }
            if (double.IsInfinity(c[i])) { Assert.That(g[i], Is.EqualTo(c[i]), $"{what}[{i}]"); continue; }
            double err = Math.Abs(g[i] - c[i]);
            if (!(err <= atol + rtol * Math.Abs(c[i])))
                Assert.Fail($"{what}[{i}]: GPU {g[i]:R} vs CPU {c[i]:R} (|diff| {err:G3} > atol {atol} + rtol {rtol}·|cpu|)");
        }
    }
}
