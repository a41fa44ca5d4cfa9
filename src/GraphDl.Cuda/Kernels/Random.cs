using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>RandomUniform on the GPU: the CPU's counter-based generator (<see cref="RandomOps"/>), the very same methods
/// compiled for the device. Element i of run r depends only on (seed, seed2, r, i); the run counter is the session's,
/// taken on the host once per run as on the CPU. The draw is 64-bit integer mixing, an exact int-to-double conversion,
/// one correctly rounded double addition and a multiplication by 2⁻⁵³ (exact), then a correctly rounded conversion to
/// float32: the same bits on any IEEE device, so a seeded graph draws the same numbers on the GPU as on the CPU.</summary>
internal static class RandomOp
{
    public static void Uniform(KernelContext c, CudaDevice d)
    {
        var y = c.Output(0, c.Input(0).AsSpan<int>(), c.Attrs.DType("dtype"));
        var stream = RandomOps.Stream(c);
        if (y.Size == 0) return;
        if (y.DType == DType.Float32)
        {
            var k = d.Load(RandomKernels.UniformF32, a => a.LoadKernel<ArrayView<float>, int, ulong>(RandomKernels.UniformF32));
            k(d.Stream, d.Config(y.Size), CudaDevice.View<float>(y), y.Size, stream);
        }
        else if (y.DType == DType.Float64)
        {
            var k = d.Load(RandomKernels.UniformF64, a => a.LoadKernel<ArrayView<double>, int, ulong>(RandomKernels.UniformF64));
            k(d.Stream, d.Config(y.Size), CudaDevice.View<double>(y), y.Size, stream);
        }
        else throw c.Error($"RandomUniform of {y.DType.Name()} is not supported");
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)RandomKernels.UniformF32).Method;
        yield return ((Delegate)RandomKernels.UniformF64).Method;
    }
}

/// <summary>The device code of <see cref="RandomOp"/>.</summary>
internal static class RandomKernels
{
    /// <summary>As the CPU's RandomUniform draw: uniform in (0, 1), capped below 1.</summary>
    static double Draw(ulong stream, int i) => Math.Min(RandomOps.Uniform(stream, i), 1 - 1e-16);

    public static void UniformF32(ArrayView<float> y, int n, ulong stream)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = (float)Draw(stream, i);
    }

    public static void UniformF64(ArrayView<double> y, int n, ulong stream)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = Draw(stream, i);
    }
}
