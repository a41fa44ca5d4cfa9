using System.Numerics;
using System.Reflection;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Host side of the small ops: fills, AddN, Transpose, BroadcastTo.</summary>
internal static class MiscOp
{
    internal static void Fill<T>(CudaDevice d, NDArray y, T value) where T : unmanaged
    {
        if (y.Size == 0) return;
        var k = d.Load(ElementwiseKernels.Fill<T>, acc => acc.LoadKernel<ArrayView<T>, int, T>(ElementwiseKernels.Fill<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(y), y.Size, value);
    }

    /// <summary>ZerosLike / OnesLike.</summary>
    public static GpuKernel FillLike(int value) => (c, d) =>
    {
        var x = c.Input(0);
        var y = c.Output(0, x.Dims);
        switch (x.DType)
        {
            case DType.Float32: Fill(d, y, (float)value); break;
            case DType.Float64: Fill(d, y, (double)value); break;
            case DType.Int32: Fill(d, y, value); break;
            case DType.Int64: Fill(d, y, (long)value); break;
            case DType.UInt8 or DType.Bool: Fill(d, y, (byte)value); break;
            default: throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
        }
    };

    public static void AddN(KernelContext c, CudaDevice d)
    {
        var x0 = c.Input(0);
        for (int i = 1; i < c.InputCount; i++)
            if (!c.Input(i).Dims.SequenceEqual(x0.Dims))
                throw c.Error($"input shapes differ, {Shape.Format(x0.Dims)} and {Shape.Format(c.Input(i).Dims)}");
        var y = c.Output(0, x0.Dims);
        if (x0.DType == DType.Float32) AddN<float>(c, d, y); else if (x0.DType == DType.Float64) AddN<double>(c, d, y);
        else throw c.Error($"AddN of {x0.DType.Name()} is not supported");
    }

    static void AddN<T>(KernelContext c, CudaDevice d, NDArray y) where T : unmanaged, INumber<T>
    {
        int n = y.Size;
        if (n == 0) return;
        var acc = d.Load(ElementwiseKernels.Accumulate<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, int>(ElementwiseKernels.Accumulate<T>));
        Fill(d, y, T.Zero);
        for (int i = 0; i < c.InputCount; i++) acc(d.Stream, d.Config(n), CudaDevice.View<T>(c.Input(i)), CudaDevice.View<T>(y), n);
    }

    public static void Transpose(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        var p = c.Input(1);
        int r = x.Rank;
        if (p.Size != r) throw c.Error($"perm has {p.Size} entries for {Shape.Format(x.Dims)} of rank {r}");
        var perm = p.DType == DType.Int64 ? p.AsSpan<long>().ToArray().Select(v => (int)v).ToArray() : p.AsSpan<int>().ToArray();
        var seen = new bool[r];
        bool identity = true;
        for (int i = 0; i < r; i++)
        {
            if ((uint)perm[i] >= (uint)r || seen[perm[i]]) throw c.Error($"perm {Shape.Format(perm)} is not a permutation of 0..{r - 1}");
            seen[perm[i]] = true;
            identity &= perm[i] == i;
        }
        if (identity) { c.Forward(0, x); return; }
        var y = c.Output(0, perm.Select(i => x.Dims[i]).ToArray());
        ReduceOp.Transpose(c, d, x, x.Dims.ToArray(), perm, y);
    }

    public static void BroadcastTo(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        var t = c.Input(1).AsSpan<int>().ToArray();
        int r = Math.Max(t.Length, x.Rank);
        bool ok = t.Length == r;
        for (int i = 0; ok && i < x.Rank; i++)
        {
            int dx = x.Dims[x.Rank - 1 - i], dt = t[t.Length - 1 - i];
            ok = dx == dt || dx == 1;
        }
        if (!ok) throw c.Error($"cannot broadcast {Shape.Format(x.Dims)} to {Shape.Format(t)}");
        if (x.Dims.SequenceEqual(t)) { c.Forward(0, x); return; }
        var y = c.Output(0, t);
        // Output dims t; x's strides, 0 on its broadcast (size-1 or missing) dims.
        var strides = new int[r];
        for (int k = x.Rank - 1, s = 1; k >= 0; k--)
        {
            strides[r - x.Rank + k] = x.Dims[k] == 1 ? 0 : s;
            s *= x.Dims[k];
        }
        if (r > 6) throw c.Error($"GPU BroadcastTo takes at most 6 dims, got {Shape.Format(t)}");
        ReduceOp.Gather(c, d, x, y, ReduceOp.Strides(t, strides));
    }

    /// <summary>The array ops' strided box copy on GPU arrays: dims merged as on the CPU, at most 6 left.</summary>
    internal static void StridedCopy(CudaDevice d, NDArray src, int srcOff, ReadOnlySpan<int> srcStrides, NDArray dst, int dstOff,
        ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> dims0)
    {
        var dims = new List<int>(); var ss = new List<int>(); var ds = new List<int>();
        long n = 1;
        for (int i = 0; i < dims0.Length; i++)
        {
            if (dims0[i] == 0) return;
            n *= dims0[i];
            if (dims0[i] == 1) continue;
            if (dims.Count > 0 && ss[^1] == srcStrides[i] * dims0[i] && ds[^1] == dstStrides[i] * dims0[i])
            {
                dims[^1] *= dims0[i]; ss[^1] = srcStrides[i]; ds[^1] = dstStrides[i];
            }
            else { dims.Add(dims0[i]); ss.Add(srcStrides[i]); ds.Add(dstStrides[i]); }
        }
        if (dims.Count > 6) throw new NotSupportedException($"{d.Name}: a strided copy of {Shape.Format(dims0)} needs {dims.Count} dims after merging; the GPU kernel takes 6");
        var s = ReduceOp.Strides(dims.ToArray(), ss.ToArray());
        var t = ReduceOp.Strides(dims.ToArray(), ds.ToArray());
        s.B0 = t.A0; s.B1 = t.A1; s.B2 = t.A2; s.B3 = t.A3; s.B4 = t.A4; s.B5 = t.A5;
        switch (src.DType.Size())
        {
            case 4: Strided<int>(d, src, srcOff, dst, dstOff, (int)n, s); break;
            case 8: Strided<long>(d, src, srcOff, dst, dstOff, (int)n, s); break;
            case 1: Strided<byte>(d, src, srcOff, dst, dstOff, (int)n, s); break;
            default: throw new NotSupportedException($"{d.Name}: no strided copy for {src.DType.Name()}");
        }
    }

    static void Strided<T>(CudaDevice d, NDArray src, int srcOff, NDArray dst, int dstOff, int n, Broadcast6 s) where T : unmanaged
    {
        var k = d.Load(ReduceKernels.Strided<T>, acc => acc.LoadKernel<ArrayView<T>, int, ArrayView<T>, int, int, Broadcast6>(ReduceKernels.Strided<T>));
        k(d.Stream, d.Config(n), CudaDevice.View<T>(src), srcOff, CudaDevice.View<T>(dst), dstOff, n, s);
    }

    /// <summary>Fills a GPU array with the value of a host scalar array of its dtype.</summary>
    internal static void FillWith(CudaDevice d, NDArray y, NDArray v)
    {
        switch (y.DType)
        {
            case DType.Float32: Fill(d, y, v.AsSpan<float>()[0]); break;
            case DType.Float64: Fill(d, y, v.AsSpan<double>()[0]); break;
            case DType.Int32: Fill(d, y, v.AsSpan<int>()[0]); break;
            case DType.Int64: Fill(d, y, v.AsSpan<long>()[0]); break;
            case DType.Bool: Fill(d, y, v.AsSpan<bool>()[0] ? (byte)1 : (byte)0); break;
            case DType.UInt8: Fill(d, y, v.AsSpan<byte>()[0]); break;
            default: throw new NotSupportedException($"{d.Name}: cannot fill {y.DType.Name()}");
        }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ReduceKernels.Strided<int>).Method;
        yield return ((Delegate)ReduceKernels.Strided<long>).Method;
        yield return ((Delegate)ReduceKernels.Strided<byte>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<float>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<double>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<int>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<long>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<byte>).Method;
        yield return ((Delegate)ElementwiseKernels.Accumulate<float>).Method;
        yield return ((Delegate)ElementwiseKernels.Accumulate<double>).Method;
    }
}
