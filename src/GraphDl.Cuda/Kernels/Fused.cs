using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Kernels for pairs of ops the planner fuses (<see cref="CudaDevice.FuseOps"/>).</summary>
public static class FusedKernels
{
    /// <summary><c>y[i] = relu(x[i] + b[i mod c])</c>: the BiasAdd (or broadcasting Add) kernel's sum and
    /// <see cref="ReluFn"/>, in one pass.</summary>
    public static void BiasRelu<T>(ArrayView<T> x, ArrayView<T> b, ArrayView<T> y, int n, int c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = ReluFn.Apply(x[i] + b[i % c], T.Zero, T.Zero);
    }
}

/// <summary>Host side of the fused pairs: a bias add followed by the ReLU that alone reads its sum (every hidden dense and
/// convolution layer with a ReLU: MatMul, Add, Relu or Conv2D, BiasAdd, Relu).</summary>
internal static class FusedOp
{
    /// <summary>An Add or an NHWC BiasAdd, in float32 or float64, whose sum the ReLU reads.</summary>
    public static bool CanFuse(Operation first, Operation next) =>
        next.Def == ActivationOps.Relu && next.Inputs.Length == 1 && ReferenceEquals(next.Inputs[0], first.Outputs[0])
        && (first.Def == BinaryOps.Add || (first.Def == BiasOps.BiasAdd && first.Attrs.String("data_format", "NHWC") == "NHWC"))
        && first.Outputs[0].DType is DType.Float32 or DType.Float64;

    /// <summary>The fused step (<see cref="Plan.Step.Chain"/>): x + b where b is a vector along x's last axis (or has x's
    /// dims) and both are non-empty, then ReLU into the ReLU's output. Any other operands (an Add broadcasting otherwise,
    /// a bad BiasAdd) run the two kernels one after the other, with their own checks and errors.</summary>
    public static readonly GpuKernel BiasRelu = (c, d) =>
    {
        var leader = c.step;
        var (first, relu) = (leader.Chain![0], leader.Chain[1]);
        try
        {
            c.step = first;
            var (x, b) = (c.Input(0), c.Input(1));
            bool bias = b.Rank == 1 && x.Rank >= (first.Node!.Def == BiasOps.BiasAdd ? 2 : 1) && b.Size == x.Dims[^1];
            bool same = first.Node!.Def == BinaryOps.Add && x.Dims.SequenceEqual(b.Dims);
            if (!(bias || same) || b.Size == 0 || x.DType != b.DType)
            {
                GpuKernels.Get(first.Node.Def)!(c, d);
                c.step = relu;
                GpuKernels.Get(relu.Node!.Def)!(c, d);
                return;
            }
            c.step = relu;
            var y = c.Output(0, x.Dims);
            if (y.Size == 0) return;
            if (x.DType == DType.Float32) Launch<float>(d, x, b, y);
            else Launch<double>(d, x, b, y);
            d.fusedLaunches++;
        }
        finally { c.step = leader; }
    };

    static void Launch<T>(CudaDevice d, NDArray x, NDArray b, NDArray y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(FusedKernels.BiasRelu<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(FusedKernels.BiasRelu<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(x), CudaDevice.View<T>(b), CudaDevice.View<T>(y), y.Size, b.Size);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)FusedKernels.BiasRelu<float>).Method;
        yield return ((Delegate)FusedKernels.BiasRelu<double>).Method;
    }
}
