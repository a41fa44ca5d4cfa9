using System.Numerics;
using System.Reflection;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>BiasAdd (NHWC: the bias runs along the last axis; the CPU op supports no other data_format), the same
/// arithmetic as the CPU kernel (bit for bit). BiasAddGrad is a column reduction (<see cref="ReduceOp"/>).</summary>
public static class BiasKernels
{
    /// <summary><c>y[i] = v[i] + b[i mod c]</c>.</summary>
    public static void BiasAdd<T>(ArrayView<T> v, ArrayView<T> b, ArrayView<T> y, int n, int c) where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = v[i] + b[i % c];
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

    /// <summary>The sum over every axis but the last: the reductions' parallel paths (a column reduction in row chunks
    /// for 32 channels or more, a tree per channel for fewer), in their own summation order (not the CPU's: float32
    /// results agree within the reduction tolerance, not bit for bit).</summary>
    public static void BiasAddGrad(KernelContext c, CudaDevice d)
    {
        var v = c.Input(0);
        if (v.Rank < 2) throw c.Error($"out_backprop must be at least rank 2, got {Shape.Format(v.Dims)}");
        if (v.DType is not (DType.Float32 or DType.Float64)) throw c.Error($"BiasAddGrad of {v.DType.Name()} has no GPU kernel");
        var y = c.Output(0, [v.Dims[^1]]);
        var flags = new bool[v.Rank];
        for (int i = 0; i < v.Rank - 1; i++) flags[i] = true;
        ReduceOp.Run<SumStep>(c, d, v, flags, y, 0);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)BiasKernels.BiasAdd<float>).Method;
        yield return ((Delegate)BiasKernels.BiasAdd<double>).Method;
    }
}

/// <summary>LRN and LRNGrad across the channel (last) axis, with the CPU kernels' formulas and summation order:
/// <c>N_c = bias + alpha·Σ_{|j-c| ≤ r} x_j²</c>, <c>y_c = x_c / N_c^beta</c>. pow is the one transcendental (on a GPU,
/// ILGPU's pow differs from .NET's by a few ulps).</summary>
public static class LrnKernels
{
    static T Norm<T>(ArrayView<T> x, int row, int c, int depth, int r, T bias, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T s = T.Zero;
        int lo = c - r > 0 ? c - r : 0, hi = c + r < depth - 1 ? c + r : depth - 1;
        for (int j = lo; j <= hi; j++) s += x[row + j] * x[row + j];
        return bias + alpha * s;
    }

    /// <summary><c>y = x / N^beta</c>, one thread per element of x [n / depth, depth].</summary>
    public static void Lrn<T>(ArrayView<T> x, ArrayView<T> y, int n, int depth, int r, T bias, T alpha, T beta) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            int c = i % depth;
            y[i] = x[i] / T.Pow(Norm(x, i - c, c, depth, r, bias, alpha), beta);
        }
    }

    /// <summary>LRNGrad stage 1, per element: <c>np = N^-beta</c> and <c>t = dy·x·np / N</c>.</summary>
    public static void LrnGradTerms<T>(ArrayView<T> dy, ArrayView<T> x, ArrayView<T> np, ArrayView<T> t, int n, int depth, int r, T bias, T alpha, T beta)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            int c = i % depth;
            T norm = Norm(x, i - c, c, depth, r, bias, alpha);
            T p = T.Pow(norm, -beta);
            np[i] = p;
            t[i] = dy[i] * x[i] * p / norm;
        }
    }

    /// <summary>LRNGrad stage 2: <c>dx_j = dy_j·np_j - k·x_j·Σ_{|i-j| ≤ r} t_i</c> with <c>k = 2·alpha·beta</c>.</summary>
    public static void LrnGrad<T>(ArrayView<T> dy, ArrayView<T> x, ArrayView<T> np, ArrayView<T> t, ArrayView<T> dx, int n, int depth, int r, T k)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            int c = i % depth, row = i - c;
            int lo = c - r > 0 ? c - r : 0, hi = c + r < depth - 1 ? c + r : depth - 1;
            T s = T.Zero;
            for (int j = lo; j <= hi; j++) s += t[row + j];
            dx[i] = dy[i] * np[i] - k * x[i] * s;
        }
    }
}

/// <summary>Host side of LRN and LRNGrad (attrs and checks as the CPU op).</summary>
internal static class LrnOp
{
    public static void Lrn(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        if (x.Rank != 4) throw c.Error($"input must be rank 4, got {Shape.Format(x.Dims)}");
        var y = c.Output(0, x.Dims);
        if (y.Size == 0) return;
        if (x.DType == DType.Float32) Forward<float>(c, d, x, y);
        else if (x.DType == DType.Float64) Forward<double>(c, d, x, y);
        else throw c.Error($"LRN of {x.DType.Name()} has no GPU kernel");
    }

    public static void LrnGrad(KernelContext c, CudaDevice d)
    {
        var (dy, x) = (c.Input(0), c.Input(1));
        if (x.Rank != 4 || !dy.Dims.SequenceEqual(x.Dims))
            throw c.Error($"input_grads {Shape.Format(dy.Dims)} and input_image {Shape.Format(x.Dims)} must have one rank-4 shape");
        var dx = c.Output(0, x.Dims);
        if (dx.Size == 0) return;
        if (x.DType == DType.Float32) Backward<float>(c, d, dy, x, dx);
        else if (x.DType == DType.Float64) Backward<double>(c, d, dy, x, dx);
        else throw c.Error($"LRNGrad of {x.DType.Name()} has no GPU kernel");
    }

    /// <summary>The op's attrs (defaults as the CPU op) converted to T as the CPU kernel converts them.</summary>
    static (int R, T Bias, T Alpha, T Beta, T K) Params<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var a = c.Attrs;
        double alpha = a.Float("alpha", 1), beta = a.Float("beta", 0.5);
        return (a.Int("depth_radius", 5), T.CreateTruncating(a.Float("bias", 1)), T.CreateTruncating(alpha), T.CreateTruncating(beta),
            T.CreateTruncating(2 * alpha * beta));
    }

    static void Forward<T>(KernelContext c, CudaDevice d, NDArray x, NDArray y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var p = Params<T>(c);
        var k = d.Load(LrnKernels.Lrn<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int, T, T, T>(LrnKernels.Lrn<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(x), CudaDevice.View<T>(y), y.Size, x.Dims[^1], p.R, p.Bias, p.Alpha, p.Beta);
    }

    static void Backward<T>(KernelContext c, CudaDevice d, NDArray dy, NDArray x, NDArray dx) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var p = Params<T>(c);
        int n = dx.Size, depth = x.Dims[^1];
        var np = d.Temp(x.DType, [n]);
        var t = d.Temp(x.DType, [n]);
        try
        {
            var k1 = d.Load(LrnKernels.LrnGradTerms<T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, T, T, T>(LrnKernels.LrnGradTerms<T>));
            k1(d.Stream, d.Config(n), CudaDevice.View<T>(dy), CudaDevice.View<T>(x), CudaDevice.View<T>(np), CudaDevice.View<T>(t), n, depth, p.R, p.Bias, p.Alpha, p.Beta);
            var k2 = d.Load(LrnKernels.LrnGrad<T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int, int, T>(LrnKernels.LrnGrad<T>));
            k2(d.Stream, d.Config(n), CudaDevice.View<T>(dy), CudaDevice.View<T>(x), CudaDevice.View<T>(np), CudaDevice.View<T>(t), CudaDevice.View<T>(dx), n, depth, p.R, p.K);
        }
        finally { d.FreeTemp(t); d.FreeTemp(np); }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)LrnKernels.Lrn<float>).Method;
        yield return ((Delegate)LrnKernels.Lrn<double>).Method;
        yield return ((Delegate)LrnKernels.LrnGradTerms<float>).Method;
        yield return ((Delegate)LrnKernels.LrnGradTerms<double>).Method;
        yield return ((Delegate)LrnKernels.LrnGrad<float>).Method;
        yield return ((Delegate)LrnKernels.LrnGrad<double>).Method;
    }
}
