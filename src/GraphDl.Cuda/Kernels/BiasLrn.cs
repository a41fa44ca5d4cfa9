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
