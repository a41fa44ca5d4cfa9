using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Window geometry of a pooling op in NHWC (from the op file's <c>PoolOps.RunGeom</c>): input [N,H,W,C],
/// output [N,OH,OW,C], window KH×KW, strides SH, SW, leading padding PT, PL.</summary>
public struct PoolShape
{
    /// <summary>Dims, window, strides and leading padding.</summary>
    public int N, H, W, C, KH, KW, OH, OW, SH, SW, PT, PL;

    internal static PoolShape Of(in ConvGeom g) => new()
    {
        N = g.N, H = g.H, W = g.W, C = g.C, KH = g.KH, KW = g.KW, OH = g.OH, OW = g.OW, SH = g.SH, SW = g.SW, PT = g.PT, PL = g.PL,
    };
}

/// <summary>Max and average pooling and their gradients, with the CPU kernels' arithmetic in the CPU kernels' order, so
/// float32 results match them bit for bit: a window's maximum is its first maximal element in row-major order (strict
/// <c>&gt;</c>); the gradients are gathers (one thread per input element adding, in output order, what each window
/// covering it sends), which is the CPU's scatter order without atomics.</summary>
public static class PoolKernels
{
    /// <summary>The window of output element (n, oh, ow) clipped to the input: rows [h0, h1), columns [w0, w1).</summary>
    static void Window(in PoolShape s, int oh, int ow, out int h0, out int h1, out int w0, out int w1)
    {
        h0 = oh * s.SH - s.PT; h1 = h0 + s.KH < s.H ? h0 + s.KH : s.H; h0 = h0 > 0 ? h0 : 0;
        w0 = ow * s.SW - s.PL; w1 = w0 + s.KW < s.W ? w0 + s.KW : s.W; w0 = w0 > 0 ? w0 : 0;
    }

    /// <summary>The flat input index of the first maximum of output element <paramref name="o"/>'s window.</summary>
    static int ArgMax<T>(ArrayView<T> x, in PoolShape s, int o) where T : unmanaged, INumber<T>
    {
        int ch = o % s.C, r = o / s.C, ow = r % s.OW;
        r /= s.OW;
        int oh = r % s.OH, n = r / s.OH;
        Window(s, oh, ow, out int h0, out int h1, out int w0, out int w1);
        int img = n * s.H * s.W * s.C + ch;
        int best = img + (h0 * s.W + w0) * s.C;
        T m = x[best];
        for (int h = h0; h < h1; h++)
            for (int w = w0; w < w1; w++)
            {
                int at = img + (h * s.W + w) * s.C;
                if (x[at] > m) { m = x[at]; best = at; }
            }
        return best;
    }

    /// <summary>The range [lo, hi] of output rows (or columns) whose window covers input row <paramref name="h"/>.</summary>
    static void Covering(int h, int pad, int k, int stride, int outSize, out int lo, out int hi)
    {
        int t = h + pad - k + 1;
        lo = t <= 0 ? 0 : (t + stride - 1) / stride;
        hi = (h + pad) / stride;
        if (hi > outSize - 1) hi = outSize - 1;
    }

    /// <summary>MaxPool (<paramref name="gather"/> = 0: y = the window maximum) or MaxPoolGradGrad (1: y = g at the
    /// window's argmax, g shaped like x).</summary>
    public static void MaxPool<T>(ArrayView<T> x, ArrayView<T> g, ArrayView<T> y, PoolShape s, int gather) where T : unmanaged, INumber<T>
    {
        int n = s.N * s.OH * s.OW * s.C;
        for (int o = Grid.GlobalIndex.X; o < n; o += Grid.DimX * Group.DimX)
        {
            int at = ArgMax(x, s, o);
            y[o] = gather != 0 ? g[at] : x[at];
        }
    }

    /// <summary>Stage 1 of MaxPoolGrad: the flat input index of each window's first maximum.</summary>
    public static void MaxPoolArgMax<T>(ArrayView<T> x, ArrayView<int> arg, PoolShape s) where T : unmanaged, INumber<T>
    {
        int n = s.N * s.OH * s.OW * s.C;
        for (int o = Grid.GlobalIndex.X; o < n; o += Grid.DimX * Group.DimX) arg[o] = ArgMax(x, s, o);
    }

    /// <summary>Stage 2 of MaxPoolGrad: <c>dx[i] = Σ dy[o]</c> over the windows o covering i, in output order, whose argmax is i.</summary>
    public static void MaxPoolGrad<T>(ArrayView<int> arg, ArrayView<T> dy, ArrayView<T> dx, PoolShape s) where T : unmanaged, INumber<T>
    {
        int total = s.N * s.H * s.W * s.C;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int ch = i % s.C, r = i / s.C, w = r % s.W;
            r /= s.W;
            int h = r % s.H, n = r / s.H;
            Covering(h, s.PT, s.KH, s.SH, s.OH, out int oh0, out int oh1);
            Covering(w, s.PL, s.KW, s.SW, s.OW, out int ow0, out int ow1);
            T acc = T.Zero;
            for (int oh = oh0; oh <= oh1; oh++)
                for (int ow = ow0; ow <= ow1; ow++)
                {
                    int o = ((n * s.OH + oh) * s.OW + ow) * s.C + ch;
                    if (arg[o] == i) acc += dy[o];
                }
            dx[i] = acc;
        }
    }

    /// <summary>AvgPool: the window sum in row-major order times 1 / (in-bounds count), as the CPU.</summary>
    public static void AvgPool<TE, T>(ArrayView<T> x, ArrayView<T> y, PoolShape s) where TE : struct, IElem<T> where T : unmanaged, INumber<T>
    {
        int n = s.N * s.OH * s.OW * s.C;
        for (int o = Grid.GlobalIndex.X; o < n; o += Grid.DimX * Group.DimX)
        {
            int ch = o % s.C, r = o / s.C, ow = r % s.OW;
            r /= s.OW;
            int oh = r % s.OH, b = r / s.OH;
            Window(s, oh, ow, out int h0, out int h1, out int w0, out int w1);
            int img = b * s.H * s.W * s.C + ch;
            T sum = T.Zero;
            for (int h = h0; h < h1; h++)
                for (int w = w0; w < w1; w++) sum += x[img + (h * s.W + w) * s.C];
            y[o] = sum * (T.One / TE.FromDouble((h1 - h0) * (w1 - w0)));
        }
    }

    /// <summary>AvgPoolGrad: <c>dx[i] = Σ dy[o] · (1 / count(o))</c> over the windows o covering i, in output order.</summary>
    public static void AvgPoolGrad<TE, T>(ArrayView<T> dy, ArrayView<T> dx, PoolShape s) where TE : struct, IElem<T> where T : unmanaged, INumber<T>
    {
        int total = s.N * s.H * s.W * s.C;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int ch = i % s.C, r = i / s.C, w = r % s.W;
            r /= s.W;
            int h = r % s.H, n = r / s.H;
            Covering(h, s.PT, s.KH, s.SH, s.OH, out int oh0, out int oh1);
            Covering(w, s.PL, s.KW, s.SW, s.OW, out int ow0, out int ow1);
            T acc = T.Zero;
            for (int oh = oh0; oh <= oh1; oh++)
                for (int ow = ow0; ow <= ow1; ow++)
                {
                    Window(s, oh, ow, out int h0, out int h1, out int w0, out int w1);
                    acc += dy[((n * s.OH + oh) * s.OW + ow) * s.C + ch] * (T.One / TE.FromDouble((h1 - h0) * (w1 - w0)));
                }
            dx[i] = acc;
        }
    }
}

/// <summary>Host side of MaxPool, MaxPoolGrad, MaxPoolGradGrad, AvgPool and AvgPoolGrad: the op file's run-time checks
/// (<c>PoolOps.RunGeom</c>), then the kernels.</summary>
internal static class PoolOp
{
    public static GpuKernel Of(PoolOps.Mode mode) => (c, d) =>
    {
        // Inputs: MaxPool (x); MaxPoolGrad, MaxPoolGradGrad (x, orig_output, grad); AvgPool (x); AvgPoolGrad (shape, grad).
        bool avgGrad = mode == PoolOps.Mode.AvgGrad;
        int[] xDims = avgGrad ? ConvOps.Sizes(c.Input(0)) : c.Input(0).Dims.ToArray();
        NDArray? x = avgGrad ? null : c.Input(0);
        NDArray? grad = avgGrad ? c.Input(1) : mode is PoolOps.Mode.MaxGrad or PoolOps.Mode.MaxGradGrad ? c.Input(2) : null;
        NDArray? origOut = mode is PoolOps.Mode.MaxGrad or PoolOps.Mode.MaxGradGrad ? c.Input(1) : null;
        var g = PoolOps.RunGeom(c, mode, xDims, grad, origOut);
        bool toInput = mode is PoolOps.Mode.MaxGrad or PoolOps.Mode.AvgGrad;
        var y = c.Output(0, toInput ? xDims : g.OutDims);
        if (y.Size == 0) return;
        var s = PoolShape.Of(g);
        var dtype = (x ?? grad)!.DType;
        if (dtype == DType.Float32) Run<F32, float>(d, mode, s, x, grad, y);
        else if (dtype == DType.Float64) Run<F64, double>(d, mode, s, x, grad, y);
        else throw c.Error($"{c.Node.Type} of {dtype.Name()} has no GPU kernel");
    };

    static void Run<TE, T>(CudaDevice d, PoolOps.Mode mode, PoolShape s, NDArray? x, NDArray? grad, NDArray y)
        where TE : struct, IElem<T> where T : unmanaged, INumber<T>
    {
        switch (mode)
        {
            case PoolOps.Mode.Max or PoolOps.Mode.MaxGradGrad:
            {
                var k = d.Load(PoolKernels.MaxPool<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, PoolShape, int>(PoolKernels.MaxPool<T>));
                var xv = CudaDevice.View<T>(x!);
                k(d.Stream, d.Config(y.Size), xv, grad == null ? xv : CudaDevice.View<T>(grad), CudaDevice.View<T>(y), s, grad == null ? 0 : 1);
                break;
            }
            case PoolOps.Mode.MaxGrad:
            {
                int outputs = s.N * s.OH * s.OW * s.C;
                if (outputs == 0) { MiscOp.Fill(d, y, T.Zero); break; }
                var arg = d.Temp(DType.Int32, [outputs]);
                try
                {
                    var k1 = d.Load(PoolKernels.MaxPoolArgMax<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<int>, PoolShape>(PoolKernels.MaxPoolArgMax<T>));
                    k1(d.Stream, d.Config(outputs), CudaDevice.View<T>(x!), CudaDevice.View<int>(arg), s);
                    var k2 = d.Load(PoolKernels.MaxPoolGrad<T>, acc => acc.LoadKernel<ArrayView<int>, ArrayView<T>, ArrayView<T>, PoolShape>(PoolKernels.MaxPoolGrad<T>));
                    k2(d.Stream, d.Config(y.Size), CudaDevice.View<int>(arg), CudaDevice.View<T>(grad!), CudaDevice.View<T>(y), s);
                }
                finally { d.FreeTemp(arg); }
                break;
            }
            case PoolOps.Mode.Avg:
            {
                var k = d.Load(PoolKernels.AvgPool<TE, T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, PoolShape>(PoolKernels.AvgPool<TE, T>));
                k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(x!), CudaDevice.View<T>(y), s);
                break;
            }
            default:
            {
                if (grad!.Size == 0) { MiscOp.Fill(d, y, T.Zero); break; }
                var k = d.Load(PoolKernels.AvgPoolGrad<TE, T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, PoolShape>(PoolKernels.AvgPoolGrad<TE, T>));
                k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(grad), CudaDevice.View<T>(y), s);
                break;
            }
        }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        foreach (var m in Typed<F32, float>()) yield return m;
        foreach (var m in Typed<F64, double>()) yield return m;
    }

    static IEnumerable<MethodInfo> Typed<TE, T>() where TE : struct, IElem<T> where T : unmanaged, INumber<T>
    {
        yield return ((Delegate)PoolKernels.MaxPool<T>).Method;
        yield return ((Delegate)PoolKernels.MaxPoolArgMax<T>).Method;
        yield return ((Delegate)PoolKernels.MaxPoolGrad<T>).Method;
        yield return ((Delegate)PoolKernels.AvgPool<TE, T>).Method;
        yield return ((Delegate)PoolKernels.AvgPoolGrad<TE, T>).Method;
    }
}
