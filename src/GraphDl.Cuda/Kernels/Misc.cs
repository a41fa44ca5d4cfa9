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

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ElementwiseKernels.Fill<float>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<double>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<int>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<long>).Method;
        yield return ((Delegate)ElementwiseKernels.Fill<byte>).Method;
        yield return ((Delegate)ElementwiseKernels.Accumulate<float>).Method;
        yield return ((Delegate)ElementwiseKernels.Accumulate<double>).Method;
    }
}
