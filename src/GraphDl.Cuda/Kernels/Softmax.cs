using System.Numerics;
using System.Reflection;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Softmax and the cross-entropy losses: one thread per row (per (outer, inner) column for a non-last
/// axis), the same arithmetic as the CPU kernels.</summary>
public static class SoftmaxKernels
{
    /// <summary>Softmax (log = 0) or log-softmax (log = 1) over the middle axis of x viewed as [outer, n, inner].</summary>
    public static void Softmax<T>(ArrayView<T> x, ArrayView<T> y, int outer, int n, int inner, int log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int rows = outer * inner;
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX)
        {
            int o = r / inner, k = r - o * inner;
            int b = o * n * inner + k;
            T m = x[b];
            for (int j = 1; j < n; j++) { T v = x[b + j * inner]; m = T.IsNaN(m) || T.IsNaN(v) ? m + v : m > v ? m : v; }
            T s = T.Zero;
            for (int j = 0; j < n; j++) { T e = T.Exp(x[b + j * inner] - m); y[b + j * inner] = e; s += e; }
            if (log != 0)
            {
                T ls = T.Log(s);
                for (int j = 0; j < n; j++) y[b + j * inner] = x[b + j * inner] - m - ls;
            }
            else
                for (int j = 0; j < n; j++) y[b + j * inner] /= s;
        }
    }

    /// <summary>Dense labels: loss[r] = log(Σe)·Σl - Σ l·(x-m); backprop = e·(Σl/Σe) - l.</summary>
    public static void CrossEntropy<T>(ArrayView<T> x, ArrayView<T> l, ArrayView<T> loss, ArrayView<T> bp, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX)
        {
            if (n == 0) { loss[r] = T.Zero; continue; }
            int b = r * n;
            T m = x[b];
            for (int j = 1; j < n; j++) { T v = x[b + j]; m = T.IsNaN(m) || T.IsNaN(v) ? m + v : m > v ? m : v; }
            T dot = T.Zero, sumL = T.Zero, s = T.Zero;
            for (int j = 0; j < n; j++)
            {
                T z = x[b + j] - m;
                dot += l[b + j] * z;
                sumL += l[b + j];
                T e = T.Exp(z);
                bp[b + j] = e;
                s += e;
            }
            loss[r] = T.Log(s) * sumL - dot;
            T f = sumL / s;
            for (int j = 0; j < n; j++) bp[b + j] = bp[b + j] * f - l[b + j];
        }
    }

    /// <summary>Sparse int32 labels. A label outside [0, n) gives NaN loss and backprop for its row (TF's GPU
    /// behaviour; the CPU kernel raises an error instead).</summary>
    public static void SparseCrossEntropy32<T>(ArrayView<T> x, ArrayView<int> labels, ArrayView<T> loss, ArrayView<T> bp, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX) SparseRow(x, labels[r], loss, bp, r, n);
    }

    /// <summary>Sparse int64 labels.</summary>
    public static void SparseCrossEntropy64<T>(ArrayView<T> x, ArrayView<long> labels, ArrayView<T> loss, ArrayView<T> bp, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX) SparseRow(x, labels[r], loss, bp, r, n);
    }

    static void SparseRow<T>(ArrayView<T> x, long label, ArrayView<T> loss, ArrayView<T> bp, int r, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int b = r * n;
        if (label < 0 || label >= n)
        {
            loss[r] = T.NaN;
            for (int j = 0; j < n; j++) bp[b + j] = T.NaN;
            return;
        }
        int k = (int)label;
        T m = x[b];
        for (int j = 1; j < n; j++) { T v = x[b + j]; m = T.IsNaN(m) || T.IsNaN(v) ? m + v : m > v ? m : v; }
        T s = T.Zero;
        for (int j = 0; j < n; j++) { T e = T.Exp(x[b + j] - m); bp[b + j] = e; s += e; }
        loss[r] = T.Log(s) - (x[b + k] - m);
        for (int j = 0; j < n; j++) bp[b + j] = bp[b + j] / s;
        bp[b + k] -= T.One;
    }
}

/// <summary>Host side of the softmax family.</summary>
internal static class SoftmaxOp
{
    public static GpuKernel Softmax(bool log) => (c, d) =>
    {
        var x = c.Input(0);
        if (x.Rank < 1) throw c.Error($"logits must have rank >= 1, got {Shape.Format(x.Dims)}");
        int a = c.Attrs.Int("_axis", -1);
        if (a < 0) a += x.Rank;
        if (a < 0 || a >= x.Rank) throw c.Error($"axis {c.Attrs.Int("_axis", -1)} is out of range for logits of shape {Shape.Format(x.Dims)}");
        int outer = 1, inner = 1, n = x.Dims[a];
        for (int i = 0; i < a; i++) outer *= x.Dims[i];
        for (int i = a + 1; i < x.Rank; i++) inner *= x.Dims[i];
        var y = c.Output(0, x.Dims);
        if (n == 0 || outer * inner == 0) return;
        if (x.DType == DType.Float32) Launch<float>(d, x, y, outer, n, inner, log);
        else Launch<double>(d, x, y, outer, n, inner, log);
    };

    static void Launch<T>(CudaDevice d, NDArray x, NDArray y, int outer, int n, int inner, bool log) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(SoftmaxKernels.Softmax<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int, int>(SoftmaxKernels.Softmax<T>));
        k(d.Stream, d.Config(outer * inner), CudaDevice.View<T>(x), CudaDevice.View<T>(y), outer, n, inner, log ? 1 : 0);
    }

    public static void CrossEntropy(KernelContext c, CudaDevice d)
    {
        var (x, l) = (c.Input(0), c.Input(1));
        if (x.Rank < 1 || !x.Dims.SequenceEqual(l.Dims))
            throw c.Error($"logits and labels must have the same shape of rank >= 1, logits {Shape.Format(x.Dims)} and labels {Shape.Format(l.Dims)}");
        var loss = c.Output(0, x.Dims[..^1]);
        var bp = c.Output(1, x.Dims);
        int n = x.Dims[^1], rows = loss.Size;
        if (rows == 0) return;
        if (x.DType == DType.Float32) Dense<float>(d, x, l, loss, bp, rows, n); else Dense<double>(d, x, l, loss, bp, rows, n);
    }

    static void Dense<T>(CudaDevice d, NDArray x, NDArray l, NDArray loss, NDArray bp, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(SoftmaxKernels.CrossEntropy<T>,
            acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, int>(SoftmaxKernels.CrossEntropy<T>));
        k(d.Stream, d.Config(rows), CudaDevice.View<T>(x), CudaDevice.View<T>(l), CudaDevice.View<T>(loss), CudaDevice.View<T>(bp), rows, n);
    }

    public static void SparseCrossEntropy(KernelContext c, CudaDevice d)
    {
        var (x, l) = (c.Input(0), c.Input(1));
        if (x.Rank < 1 || !x.Dims[..^1].SequenceEqual(l.Dims))
            throw c.Error($"labels must have the shape of logits without the last dimension, logits {Shape.Format(x.Dims)} and labels {Shape.Format(l.Dims)}");
        var loss = c.Output(0, l.Dims);
        var bp = c.Output(1, x.Dims);
        int n = x.Dims[^1], rows = loss.Size;
        if (rows == 0) return;
        if (x.DType == DType.Float32) Sparse<float>(d, x, l, loss, bp, rows, n); else Sparse<double>(d, x, l, loss, bp, rows, n);
    }

    static void Sparse<T>(CudaDevice d, NDArray x, NDArray l, NDArray loss, NDArray bp, int rows, int n) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (l.DType == DType.Int32)
        {
            var k = d.Load(SoftmaxKernels.SparseCrossEntropy32<T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, ArrayView<T>, int, int>(SoftmaxKernels.SparseCrossEntropy32<T>));
            k(d.Stream, d.Config(rows), CudaDevice.View<T>(x), CudaDevice.View<int>(l), CudaDevice.View<T>(loss), CudaDevice.View<T>(bp), rows, n);
        }
        else
        {
            var k = d.Load(SoftmaxKernels.SparseCrossEntropy64<T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<long>, ArrayView<T>, ArrayView<T>, int, int>(SoftmaxKernels.SparseCrossEntropy64<T>));
            k(d.Stream, d.Config(rows), CudaDevice.View<T>(x), CudaDevice.View<long>(l), CudaDevice.View<T>(loss), CudaDevice.View<T>(bp), rows, n);
        }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)SoftmaxKernels.Softmax<float>).Method;
        yield return ((Delegate)SoftmaxKernels.Softmax<double>).Method;
        yield return ((Delegate)SoftmaxKernels.CrossEntropy<float>).Method;
        yield return ((Delegate)SoftmaxKernels.CrossEntropy<double>).Method;
        yield return ((Delegate)SoftmaxKernels.SparseCrossEntropy32<float>).Method;
        yield return ((Delegate)SoftmaxKernels.SparseCrossEntropy32<double>).Method;
        yield return ((Delegate)SoftmaxKernels.SparseCrossEntropy64<float>).Method;
        yield return ((Delegate)SoftmaxKernels.SparseCrossEntropy64<double>).Method;
    }
}
