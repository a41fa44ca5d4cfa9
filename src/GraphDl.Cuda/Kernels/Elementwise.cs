using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Output dims and input strides for a broadcast of up to 6 dims, padded on the left with size-1 dims
/// (stride 0 where an input is broadcast). Built on the host by <see cref="Make"/>.</summary>
public struct Broadcast6
{
    /// <summary>Output dims (left-padded with 1).</summary>
    public int D0, D1, D2, D3, D4, D5;
    /// <summary>Strides of input a (0 where broadcast).</summary>
    public int A0, A1, A2, A3, A4, A5;
    /// <summary>Strides of input b (0 where broadcast).</summary>
    public int B0, B1, B2, B3, B4, B5;

    /// <summary>The element offsets of a and b for output element <paramref name="i"/>.</summary>
    public readonly void Offsets(int i, out int a, out int b)
    {
        int r = i, c;
        c = r % D5; r /= D5; a = c * A5; b = c * B5;
        c = r % D4; r /= D4; a += c * A4; b += c * B4;
        c = r % D3; r /= D3; a += c * A3; b += c * B3;
        c = r % D2; r /= D2; a += c * A2; b += c * B2;
        c = r % D1; r /= D1; a += c * A1; b += c * B1;
        a += r * A0; b += r * B0;
    }

    /// <summary>The broadcast of dims <paramref name="a"/> and <paramref name="b"/> (numpy rules); neighbouring dims in
    /// which both inputs step alike are merged first. Throws when more than 6 dims remain.</summary>
    public static Broadcast6 Make(ReadOnlySpan<int> a, ReadOnlySpan<int> b)
    {
        int rank = Math.Max(a.Length, b.Length);
        var dims = new List<int>(); var sa = new List<bool>(); var sb = new List<bool>();   // per dim: does the input step?
        for (int i = 0; i < rank; i++)
        {
            int da = i - (rank - a.Length) >= 0 ? a[i - (rank - a.Length)] : 1;
            int db = i - (rank - b.Length) >= 0 ? b[i - (rank - b.Length)] : 1;
            if (da != db && da != 1 && db != 1) throw new ArgumentException($"shapes {Shape.Format(a)} and {Shape.Format(b)} do not broadcast");
            int d = Math.Max(da, db);
            if (d == 1) continue;
            bool stepA = da != 1, stepB = db != 1;
            if (dims.Count > 0 && sa[^1] == stepA && sb[^1] == stepB) { dims[^1] *= d; continue; }
            dims.Add(d); sa.Add(stepA); sb.Add(stepB);
        }
        if (dims.Count > 6) throw new ArgumentException($"broadcast of {Shape.Format(a)} and {Shape.Format(b)} needs {dims.Count} dims after merging; the GPU kernel takes 6");
        Span<int> d6 = [1, 1, 1, 1, 1, 1], a6 = [0, 0, 0, 0, 0, 0], b6 = [0, 0, 0, 0, 0, 0];
        int strideA = 1, strideB = 1;
        for (int k = dims.Count - 1, j = 5; k >= 0; k--, j--)
        {
            d6[j] = dims[k];
            if (sa[k]) { a6[j] = strideA; strideA *= dims[k]; }
            if (sb[k]) { b6[j] = strideB; strideB *= dims[k]; }
        }
        return new Broadcast6
        {
            D0 = d6[0], D1 = d6[1], D2 = d6[2], D3 = d6[3], D4 = d6[4], D5 = d6[5],
            A0 = a6[0], A1 = a6[1], A2 = a6[2], A3 = a6[3], A4 = a6[4], A5 = a6[5],
            B0 = b6[0], B1 = b6[1], B2 = b6[2], B3 = b6[3], B4 = b6[4], B5 = b6[5],
        };
    }
}

/// <summary>A float functor with up to two op constants (ILGPU cannot compile <c>T.CreateTruncating</c>, so
/// constants such as 6 or SELU's scale come in as arguments).</summary>
public interface IGpuUnary
{
    /// <summary>y = f(x; p, q)</summary>
    static abstract T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>A float binary functor with up to two op constants.</summary>
public interface IGpuBinary
{
    /// <summary>y = f(a, b; p, q)</summary>
    static abstract T Apply<T>(T a, T b, T p, T q) where T : unmanaged, IFloatingPointIeee754<T>;
}

/// <summary>The elementwise GPU kernels: grid-stride loops, generic over the op's functor and element type.</summary>
public static class ElementwiseKernels
{
    /// <summary>y = f(a, b), same shapes.</summary>
    public static void Zip<TOp, T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n)
        where TOp : struct, IArith where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = TOp.Apply(a[i], b[i]);
    }

    /// <summary>y = f(a, b) with broadcasting.</summary>
    public static void Broadcast<TOp, T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, Broadcast6 s)
        where TOp : struct, IArith where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ia, out int ib);
            y[i] = TOp.Apply(a[ia], b[ib]);
        }
    }

    /// <summary>y = f(x; p, q).</summary>
    public static void Map<TFn, T>(ArrayView<T> x, ArrayView<T> y, int n, T p, T q)
        where TFn : struct, IGpuUnary where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = TFn.Apply(x[i], p, q);
    }

    /// <summary>y = f(a, b; p, q), same shapes.</summary>
    public static void Zip2<TFn, T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, T p, T q)
        where TFn : struct, IGpuBinary where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = TFn.Apply(a[i], b[i], p, q);
    }

    /// <summary>y = value.</summary>
    public static void Fill<T>(ArrayView<T> y, int n, T value) where T : unmanaged
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = value;
    }

    /// <summary>y += x.</summary>
    public static void Accumulate<T>(ArrayView<T> x, ArrayView<T> y, int n) where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] += x[i];
    }
}

/// <summary>Runs a broadcasting binary op whose math is the op file's own <see cref="IArith"/> functor
/// (<see cref="OpDef.Functor"/>).</summary>
internal static class BinaryOp<TOp> where TOp : struct, IArith
{
    public static void Run(KernelContext c, CudaDevice d)
    {
        var (a, b, y) = Families.BroadcastOut(c);
        switch (a.DType)
        {
            case DType.Float32: Run<float>(d, a, b, y); break;
            case DType.Float64: Run<double>(d, a, b, y); break;
            case DType.Int32: Run<int>(d, a, b, y); break;
            case DType.Int64: Run<long>(d, a, b, y); break;
            case DType.UInt8: Run<byte>(d, a, b, y); break;
            default: throw c.Error($"{c.Node.Type} of {a.DType.Name()} has no GPU kernel");
        }
    }

    /// <summary>Same-shape only (the fused activation gradients): a shape mismatch is an error, as on the CPU.</summary>
    public static void RunSameShape(KernelContext c, CudaDevice d)
    {
        var (dy, f) = (c.Input(0), c.Input(1));
        if (!dy.Dims.SequenceEqual(f.Dims))
            throw c.Error($"gradients and features differ in shape, {Shape.Format(dy.Dims)} and {Shape.Format(f.Dims)}");
        var y = c.Output(0, f.Dims);
        if (f.DType == DType.Float32) Run<float>(d, dy, f, y); else Run<double>(d, dy, f, y);
    }

    /// <summary>y = f(a, b) for arrays already allocated (ClipByValue's two steps).</summary>
    public static void Launch(KernelContext c, CudaDevice d, NDArray a, NDArray b, NDArray y)
    {
        switch (a.DType)
        {
            case DType.Float32: Run<float>(d, a, b, y); break;
            case DType.Float64: Run<double>(d, a, b, y); break;
            case DType.Int32: Run<int>(d, a, b, y); break;
            case DType.Int64: Run<long>(d, a, b, y); break;
            default: throw c.Error($"{c.Node.Type} of {a.DType.Name()} has no GPU kernel");
        }
    }

    static void Run<T>(CudaDevice d, NDArray a, NDArray b, NDArray y) where T : unmanaged, INumber<T>
    {
        int n = y.Size;
        if (n == 0) return;
        if (a.Size == n && b.Size == n)
        {
            var k = d.Load(ElementwiseKernels.Zip<TOp, T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int>(ElementwiseKernels.Zip<TOp, T>));
            k(d.Stream, d.Config(n), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), n);
        }
        else
        {
            var s = Broadcast6.Make(a.Dims, b.Dims);
            var k = d.Load(ElementwiseKernels.Broadcast<TOp, T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, Broadcast6>(ElementwiseKernels.Broadcast<TOp, T>));
            k(d.Stream, d.Config(n), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), n, s);
        }
    }

    public static IEnumerable<MethodInfo> Kernels(bool numeric)
    {
        yield return ((Delegate)ElementwiseKernels.Zip<TOp, float>).Method;
        yield return ((Delegate)ElementwiseKernels.Broadcast<TOp, float>).Method;
        yield return ((Delegate)ElementwiseKernels.Zip<TOp, double>).Method;
        yield return ((Delegate)ElementwiseKernels.Broadcast<TOp, double>).Method;
        if (!numeric) yield break;
        yield return ((Delegate)ElementwiseKernels.Zip<TOp, int>).Method;
        yield return ((Delegate)ElementwiseKernels.Broadcast<TOp, int>).Method;
        yield return ((Delegate)ElementwiseKernels.Zip<TOp, long>).Method;
        yield return ((Delegate)ElementwiseKernels.Broadcast<TOp, long>).Method;
        yield return ((Delegate)ElementwiseKernels.Zip<TOp, byte>).Method;
        yield return ((Delegate)ElementwiseKernels.Broadcast<TOp, byte>).Method;
    }
}

/// <summary>Runs a float unary op through an <see cref="IGpuUnary"/> functor.</summary>
internal static class UnaryOp<TFn> where TFn : struct, IGpuUnary
{
    public static GpuKernel With(double p = 0, double q = 0) => (c, d) =>
    {
        var x = c.Input(0);
        var y = c.Output(0, x.Dims);
        Run(d, x, y, p, q, c);
    };

    /// <summary>The op's constant from an attr (LeakyRelu's alpha).</summary>
    public static GpuKernel WithAttr(string attr, double fallback) => (c, d) =>
    {
        var x = c.Input(0);
        var y = c.Output(0, x.Dims);
        Run(d, x, y, c.Attrs.Float(attr, fallback), 0, c);
    };

    internal static void Run(CudaDevice d, NDArray x, NDArray y, double p, double q, KernelContext c)
    {
        int n = x.Size;
        if (n == 0) return;
        if (x.DType == DType.Float32)
        {
            var k = d.Load(ElementwiseKernels.Map<TFn, float>, acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, int, float, float>(ElementwiseKernels.Map<TFn, float>));
            k(d.Stream, d.Config(n), CudaDevice.View<float>(x), CudaDevice.View<float>(y), n, (float)p, (float)q);
        }
        else if (x.DType == DType.Float64)
        {
            var k = d.Load(ElementwiseKernels.Map<TFn, double>, acc => acc.LoadKernel<ArrayView<double>, ArrayView<double>, int, double, double>(ElementwiseKernels.Map<TFn, double>));
            k(d.Stream, d.Config(n), CudaDevice.View<double>(x), CudaDevice.View<double>(y), n, p, q);
        }
        else throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ElementwiseKernels.Map<TFn, float>).Method;
        yield return ((Delegate)ElementwiseKernels.Map<TFn, double>).Method;
    }
}

/// <summary>Runs a same-shape float binary op through an <see cref="IGpuBinary"/> functor.</summary>
internal static class Binary2Op<TFn> where TFn : struct, IGpuBinary
{
    public static GpuKernel With(double p = 0, double q = 0, string? attr = null) => (c, d) =>
    {
        var (a, b) = (c.Input(0), c.Input(1));
        if (!a.Dims.SequenceEqual(b.Dims))
            throw c.Error($"gradients and features differ in shape, {Shape.Format(a.Dims)} and {Shape.Format(b.Dims)}");
        var y = c.Output(0, b.Dims);
        int n = y.Size;
        if (n == 0) return;
        if (attr != null) p = c.Attrs.Float(attr, p);
        if (a.DType == DType.Float32)
        {
            var k = d.Load(ElementwiseKernels.Zip2<TFn, float>,
                acc => acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float>(ElementwiseKernels.Zip2<TFn, float>));
            k(d.Stream, d.Config(n), CudaDevice.View<float>(a), CudaDevice.View<float>(b), CudaDevice.View<float>(y), n, (float)p, (float)q);
        }
        else
        {
            var k = d.Load(ElementwiseKernels.Zip2<TFn, double>,
                acc => acc.LoadKernel<ArrayView<double>, ArrayView<double>, ArrayView<double>, int, double, double>(ElementwiseKernels.Zip2<TFn, double>));
            k(d.Stream, d.Config(n), CudaDevice.View<double>(a), CudaDevice.View<double>(b), CudaDevice.View<double>(y), n, p, q);
        }
    };

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ElementwiseKernels.Zip2<TFn, float>).Method;
        yield return ((Delegate)ElementwiseKernels.Zip2<TFn, double>).Method;
    }
}
