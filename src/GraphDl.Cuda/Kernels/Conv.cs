using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Convolution geometry in NHWC (from the op file's <c>ConvOps.RunGeom</c>): input [N,H,W,C], filter
/// [KH,KW,C,O], output [N,OH,OW,O], strides SH, SW, dilations DH, DW, leading padding PT, PL.</summary>
public struct ConvShape
{
    /// <summary>Dims, window, strides, dilations and leading padding.</summary>
    public int N, H, W, C, KH, KW, O, OH, OW, SH, SW, DH, DW, PT, PL;

    internal static ConvShape Of(in ConvGeom g) => new()
    {
        N = g.N, H = g.H, W = g.W, C = g.C, KH = g.KH, KW = g.KW, O = g.O, OH = g.OH, OW = g.OW,
        SH = g.SH, SW = g.SW, DH = g.DH, DW = g.DW, PT = g.PT, PL = g.PL,
    };
}

/// <summary>The im2col and col2im kernels of the convolutions. The column matrix has one row per output position
/// (n, oh, ow) and one column per filter tap (kh, kw, c), K = KH·KW·C columns, so that
/// <c>y[rows, O] = col[rows, K] · f[K, O]</c>, <c>dcol = dy · fᵀ</c> (then col2im) and <c>df = colᵀ · dy</c> are plain
/// row-major GEMMs (cuBLAS on a GPU, the tiled ILGPU kernel on the simulated device).</summary>
public static class ConvKernels
{
    /// <summary><c>col[r, k] = x[n, oh·sh - pt + kh·dh, ow·sw - pl + kw·dw, c]</c>, 0 where that falls in the padding.</summary>
    public static void Im2Col<T>(ArrayView<T> x, ArrayView<T> col, ConvShape s) where T : unmanaged, INumber<T>
    {
        int K = s.KH * s.KW * s.C, total = s.N * s.OH * s.OW * K;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int k = i % K, r = i / K;
            int c = k % s.C, kk = k / s.C, kw = kk % s.KW, kh = kk / s.KW;
            int ow = r % s.OW, t = r / s.OW, oh = t % s.OH, n = t / s.OH;
            int ih = oh * s.SH - s.PT + kh * s.DH, iw = ow * s.SW - s.PL + kw * s.DW;
            col[i] = ih >= 0 && ih < s.H && iw >= 0 && iw < s.W ? x[((n * s.H + ih) * s.W + iw) * s.C + c] : T.Zero;
        }
    }

    /// <summary>The adjoint of <see cref="Im2Col{T}"/> as a gather (no atomics): each input element adds the column
    /// entries of the taps that read it, in (kh, kw) order.</summary>
    public static void Col2Im<T>(ArrayView<T> col, ArrayView<T> dx, ConvShape s) where T : unmanaged, INumber<T>
    {
        int K = s.KH * s.KW * s.C, total = s.N * s.H * s.W * s.C;
        for (int i = Grid.GlobalIndex.X; i < total; i += Grid.DimX * Group.DimX)
        {
            int c = i % s.C, r = i / s.C, w = r % s.W;
            r /= s.W;
            int h = r % s.H, n = r / s.H;
            T acc = T.Zero;
            for (int kh = 0; kh < s.KH; kh++)
            {
                int th = h + s.PT - kh * s.DH;
                if (th < 0 || th % s.SH != 0 || th / s.SH >= s.OH) continue;
                int oh = th / s.SH;
                for (int kw = 0; kw < s.KW; kw++)
                {
                    int tw = w + s.PL - kw * s.DW;
                    if (tw < 0 || tw % s.SW != 0 || tw / s.SW >= s.OW) continue;
                    acc += col[((n * s.OH + oh) * s.OW + tw / s.SW) * K + (kh * s.KW + kw) * s.C + c];
                }
            }
            dx[i] = acc;
        }
    }
}

/// <summary>Host side of Conv2D, Conv2DBackpropInput and Conv2DBackpropFilter: the op file's run-time checks
/// (<c>ConvOps.RunGeom</c>), then im2col / col2im and one GEMM (<see cref="MatMulOp.Gemm"/>).
/// Correctness first: the whole column matrix (rows·K elements, KH·KW times the input) is materialized in one
/// temporary buffer. A real GPU would want the im2col fused into the GEMM's tile loads (implicit GEMM) or cuDNN (out
/// of scope here), or at least the column matrix tiled over rows to bound its memory; none of this has run on a GPU.</summary>
internal static class ConvOp
{
    public static void Forward(KernelContext c, CudaDevice d)
    {
        var (x, f) = (c.Input(0), c.Input(1));
        var g = ConvOps.RunGeom(c, x.Dims.ToArray(), f.Dims.ToArray(), "input", null);
        var y = c.Output(0, g.OutDims);
        if (y.Size == 0) return;
        if (g.K == 0) { Zero(d, y); return; }
        var col = d.Temp(x.DType, [g.Rows, g.K]);
        try
        {
            Im2Col(c, d, x, col, g);
            MatMulOp.Gemm(d, col, f, y, g.Rows, g.O, g.K, false, false);
        }
        finally { d.FreeTemp(col); }
    }

    public static void BackpropInput(KernelContext c, CudaDevice d)
    {
        var (f, dy) = (c.Input(1), c.Input(2));
        var xs = ConvOps.Sizes(c.Input(0));
        var g = ConvOps.RunGeom(c, xs, f.Dims.ToArray(), "input_sizes", dy);
        var dx = c.Output(0, xs);
        if (dx.Size == 0) return;
        if (g.Rows == 0 || g.K == 0 || g.O == 0) { Zero(d, dx); return; }
        var col = d.Temp(f.DType, [g.Rows, g.K]);
        try
        {
            MatMulOp.Gemm(d, dy, f, col, g.Rows, g.K, g.O, false, true);
            var s = ConvShape.Of(g);
            if (f.DType == DType.Float32) Col2Im<float>(d, col, dx, s);
            else if (f.DType == DType.Float64) Col2Im<double>(d, col, dx, s);
            else throw c.Error($"{c.Node.Type} of {f.DType.Name()} has no GPU kernel");
        }
        finally { d.FreeTemp(col); }
    }

    public static void BackpropFilter(KernelContext c, CudaDevice d)
    {
        var (x, dy) = (c.Input(0), c.Input(2));
        var fs = ConvOps.Sizes(c.Input(1));
        var g = ConvOps.RunGeom(c, x.Dims.ToArray(), fs, "input", dy);
        var df = c.Output(0, fs);
        if (df.Size == 0) return;
        if (g.Rows == 0) { Zero(d, df); return; }
        var col = d.Temp(x.DType, [g.Rows, g.K]);
        try
        {
            Im2Col(c, d, x, col, g);
            MatMulOp.Gemm(d, col, dy, df, g.K, g.O, g.Rows, true, false);
        }
        finally { d.FreeTemp(col); }
    }

    static void Zero(CudaDevice d, NDArray y)
    {
        if (y.DType == DType.Float32) MiscOp.Fill(d, y, 0f); else MiscOp.Fill(d, y, 0.0);
    }

    static void Im2Col(KernelContext c, CudaDevice d, NDArray x, NDArray col, in ConvGeom g)
    {
        var s = ConvShape.Of(g);
        if (x.DType == DType.Float32) Im2Col<float>(d, x, col, s);
        else if (x.DType == DType.Float64) Im2Col<double>(d, x, col, s);
        else throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
    }

    static void Im2Col<T>(CudaDevice d, NDArray x, NDArray col, ConvShape s) where T : unmanaged, INumber<T>
    {
        var k = d.Load(ConvKernels.Im2Col<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ConvShape>(ConvKernels.Im2Col<T>));
        k(d.Stream, d.Config(col.Size), CudaDevice.View<T>(x), CudaDevice.View<T>(col), s);
    }

    static void Col2Im<T>(CudaDevice d, NDArray col, NDArray dx, ConvShape s) where T : unmanaged, INumber<T>
    {
        var k = d.Load(ConvKernels.Col2Im<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ConvShape>(ConvKernels.Col2Im<T>));
        k(d.Stream, d.Config(dx.Size), CudaDevice.View<T>(col), CudaDevice.View<T>(dx), s);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ConvKernels.Im2Col<float>).Method;
        yield return ((Delegate)ConvKernels.Im2Col<double>).Method;
        yield return ((Delegate)ConvKernels.Col2Im<float>).Method;
        yield return ((Delegate)ConvKernels.Col2Im<double>).Method;
    }
}
