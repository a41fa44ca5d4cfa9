using System.Numerics;
using System.Reflection;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>BiasAdd and BiasAddGrad (NHWC: the bias runs along the last axis; the CPU op supports no other
/// data_format), the same arithmetic and summation order as the CPU kernels (bit for bit in float32).</summary>
public static class BiasKernels
{
    /// <summary><c>y[i] = v[i] + b[i mod c]</c>.</summary>
    public static void BiasAdd<T>(ArrayView<T> v, ArrayView<T> b, ArrayView<T> y, int n, int c) where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = v[i] + b[i % c];
    }

    /// <summary><c>y[ch] = Σ_r v[r, ch]</c> over <paramref name="rows"/> rows of <paramref name="c"/> channels, one thread per
    /// channel, in the CPU kernel's order: <paramref name="lanes"/> strided partial sums (lane j adds rows j, j + lanes, ...),
    /// then the lanes added in order. The CPU uses 1 lane for 16 or more channels (a plain running sum) and
    /// ceil(64 / c) lanes below that (its 64-element blocks), so the results match it bit for bit.
    /// A real GPU would want many more threads per channel (a tree over row chunks, as the reductions do), which gives
    /// up the CPU's order; this kernel keeps it (correctness first, not timed on a GPU).</summary>
    public static void BiasAddGrad<T>(ArrayView<T> v, ArrayView<T> y, int rows, int c, int lanes) where T : unmanaged, INumber<T>
    {
        for (int ch = Grid.GlobalIndex.X; ch < c; ch += Grid.DimX * Group.DimX)
        {
            T sum = T.Zero;
            for (int j = 0; j < lanes; j++)
            {
                T a = T.Zero;
                for (int r = j; r < rows; r += lanes) a += v[r * c + ch];
                sum += a;
            }
            y[ch] = sum;
        }
    }
}

/// <summary>Host side of BiasAdd and BiasAddGrad.</summary>
internal static class BiasOp
{
    public static void BiasAdd(KernelContext c, CudaDevice d)
    {
        var (v, b) = (c.Input(0), c.Input(1));
        if (v.Rank < 2 || b.Rank != 1 || v.Dims[^1] != b.Size)
            throw c.Error($"bias must be a vector matching the last dimension of value (rank >= 2), {Shape.Format(v.Dims)} + {Shape.Format(b.Dims)}");
        var y = c.Output(0, v.Dims);
        if (y.Size == 0) return;
        if (v.DType == DType.Float32) Add<float>(d, v, b, y);
        else if (v.DType == DType.Float64) Add<double>(d, v, b, y);
        else throw c.Error($"BiasAdd of {v.DType.Name()} has no GPU kernel");
    }

    static void Add<T>(CudaDevice d, NDArray v, NDArray b, NDArray y) where T : unmanaged, INumber<T>
    {
        var k = d.Load(BiasKernels.BiasAdd<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(BiasKernels.BiasAdd<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(v), CudaDevice.View<T>(b), CudaDevice.View<T>(y), y.Size, b.Size);
    }

    public static void BiasAddGrad(KernelContext c, CudaDevice d)
    {
        var v = c.Input(0);
        if (v.Rank < 2) throw c.Error($"out_backprop must be at least rank 2, got {Shape.Format(v.Dims)}");
        int ch = v.Dims[^1];
        var y = c.Output(0, [ch]);
        if (ch == 0) return;
        int rows = v.Size / ch, lanes = ch >= 16 ? 1 : (64 + ch - 1) / ch;
        if (rows == 0)
        {
            if (v.DType == DType.Float32) MiscOp.Fill(d, y, 0f); else MiscOp.Fill(d, y, 0.0);
            return;
        }
        if (v.DType == DType.Float32) Sum<float>(d, v, y, rows, ch, lanes);
        else if (v.DType == DType.Float64) Sum<double>(d, v, y, rows, ch, lanes);
        else throw c.Error($"BiasAddGrad of {v.DType.Name()} has no GPU kernel");
    }

    static void Sum<T>(CudaDevice d, NDArray v, NDArray y, int rows, int ch, int lanes) where T : unmanaged, INumber<T>
    {
        var k = d.Load(BiasKernels.BiasAddGrad<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int>(BiasKernels.BiasAddGrad<T>));
        k(d.Stream, d.Config(ch), CudaDevice.View<T>(v), CudaDevice.View<T>(y), rows, ch, lanes);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)BiasKernels.BiasAdd<float>).Method;
        yield return ((Delegate)BiasKernels.BiasAdd<double>).Method;
        yield return ((Delegate)BiasKernels.BiasAddGrad<float>).Method;
        yield return ((Delegate)BiasKernels.BiasAddGrad<double>).Method;
    }
}
