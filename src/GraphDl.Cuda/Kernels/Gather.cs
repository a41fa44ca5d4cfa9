using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Index-driven kernels: gather, one-hot, segment sums, pow and clip.</summary>
public static class GatherKernels
{
    /// <summary>y[o, j, i] = p[o, idx[j], i] (indices validated on the host).</summary>
    public static void Gather<T>(ArrayView<T> p, ArrayView<int> idx, ArrayView<T> y, int outer, int n, int k, int inner) where T : unmanaged
    {
        int total = outer * k * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int i = e % inner, r = e / inner, j = r % k, o = r / k;
            y[e] = p[(o * n + idx[j]) * inner + i];
        }
    }

    /// <summary>y[o, v, i] = idx[o, i] == v ? on : off.</summary>
    public static void OneHot<T>(ArrayView<long> idx, ArrayView<T> y, int outer, int depth, int inner, T on, T off) where T : unmanaged
    {
        int total = outer * depth * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int i = e % inner, r = e / inner, v = r % depth, o = r / depth;
            y[e] = idx[o * inner + i] == v ? on : off;
        }
    }

    /// <summary>y[s, i] = Σ d[rows[r], i] for r in [start[s], start[s+1]), rows in ascending order (the CPU's order).</summary>
    public static void SegmentSum<T>(ArrayView<T> d, ArrayView<int> start, ArrayView<int> rows, ArrayView<T> y, int segments, int inner)
        where T : unmanaged, INumber<T>
    {
        int total = segments * inner;
        for (int e = Grid.GlobalIndex.X; e < total; e += Grid.DimX * Group.DimX)
        {
            int i = e % inner, s = e / inner;
            T acc = T.Zero;
            for (int r = start[s]; r < start[s + 1]; r++) acc += d[rows[r] * inner + i];
            y[e] = acc;
        }
    }

    /// <summary>Float power with broadcasting.</summary>
    public static void PowFloat<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, Broadcast6 s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ia, out int ib);
            y[i] = T.Pow(a[ia], b[ib]);
        }
    }

    /// <summary>Integer power by squaring with broadcasting; a negative exponent gives 0.</summary>
    public static void PowInt<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, Broadcast6 s) where T : unmanaged, IBinaryInteger<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ia, out int ib);
            T x = a[ia], e = b[ib], r = T.One;
            if (e < T.Zero) { y[i] = T.Zero; continue; }
            while (e != T.Zero)
            {
                if ((e & T.One) != T.Zero) r *= x;
                e >>= 1;
                if (e != T.Zero) x *= x;
            }
            y[i] = r;
        }
    }
}

/// <summary>Host side of GatherV2, OneHot, UnsortedSegmentSum, Pow and ClipByValue.</summary>
internal static class GatherOp
{
    /// <summary>A host int vector copied to a temporary GPU buffer.</summary>
    static NDArray Upload(CudaDevice d, NDArray host)
    {
        var t = d.Temp(host.DType, host.Dims);
        d.CopyIn(host, t);
        return t;
    }

    static long At(NDArray a, int j) => a.DType == DType.Int64 ? a.AsSpan<long>()[j] : a.DType == DType.Int32 ? a.AsSpan<int>()[j] : a.AsSpan<byte>()[j];

    static string Index(int flat, ReadOnlySpan<int> dims)
    {
        if (dims.Length == 0) return "";
        var idx = new int[dims.Length];
        for (int d = dims.Length - 1; d >= 0; d--) { idx[d] = flat % Math.Max(1, dims[d]); flat /= Math.Max(1, dims[d]); }
        return "[" + string.Join(",", idx) + "]";
    }

    /// <summary>The indices as int32, each checked against [0, n) with the CPU kernel's message.</summary>
    static int[] Checked(KernelContext c, NDArray idx, int n, string what)
    {
        var r = new int[idx.Size];
        for (int j = 0; j < r.Length; j++)
        {
            long v = At(idx, j);
            if (v < 0 || v >= n) throw c.Error($"{what}{Index(j, idx.Dims)} = {v} is not in [0, {n})");
            r[j] = (int)v;
        }
        return r;
    }

    static int Axis(KernelContext c, int a, int rank)
    {
        int x = a < 0 ? a + rank : a;
        if (x < 0 || x >= rank) throw c.Error($"axis {a} is out of range for rank {rank}");
        return x;
    }

    public static void Gather(KernelContext c, CudaDevice d)
    {
        var p = c.Input(0); var idx = c.Input(1);
        int a = Axis(c, (int)At(c.Input(2), 0), p.Rank);
        int n = p.Dims[a], outer = 1, inner = 1, k = idx.Size;
        for (int i = 0; i < a; i++) outer *= p.Dims[i];
        for (int i = a + 1; i < p.Rank; i++) inner *= p.Dims[i];
        var ids = Checked(c, idx, n, "indices");
        var dims = new List<int>();
        dims.AddRange(p.Dims[..a].ToArray()); dims.AddRange(idx.Dims.ToArray()); dims.AddRange(p.Dims[(a + 1)..].ToArray());
        var y = c.Output(0, dims.ToArray());
        if (y.Size == 0) return;
        var di = Upload(d, NDArray.From(ids, ids.Length));
        try
        {
            switch (p.DType.Size())
            {
                case 4: Gather<int>(d, p, di, y, outer, n, k, inner); break;
                case 8: Gather<long>(d, p, di, y, outer, n, k, inner); break;
                case 1: Gather<byte>(d, p, di, y, outer, n, k, inner); break;
                default: throw c.Error($"GatherV2 of {p.DType.Name()} has no GPU kernel");
            }
        }
        finally { d.FreeTemp(di); }
    }

    static void Gather<T>(CudaDevice d, NDArray p, NDArray idx, NDArray y, int outer, int n, int k, int inner) where T : unmanaged
    {
        var kern = d.Load(GatherKernels.Gather<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<T>, int, int, int, int>(GatherKernels.Gather<T>));
        kern(d.Stream, d.Config(y.Size), CudaDevice.View<T>(p), CudaDevice.View<int>(idx), CudaDevice.View<T>(y), outer, n, k, inner);
    }

    public static void OneHot(KernelContext c, CudaDevice d)
    {
        var idx = c.Input(0);
        int depth = (int)At(c.Input(1), 0);
        if (depth < 0) throw c.Error($"depth must be non-negative, got {depth}");
        int axis = c.Attrs.Int("axis", -1);
        int a = axis == -1 ? idx.Rank : axis;
        var dims = new int[idx.Rank + 1];
        for (int i = 0, j = 0; i < dims.Length; i++) dims[i] = i == a ? depth : idx.Dims[j++];
        var on = c.Input(2); var off = c.Input(3);
        var y = c.Output(0, dims, on.DType);
        if (y.Size == 0) return;
        int outer = 1, inner = 1;
        for (int i = 0; i < a; i++) outer *= idx.Dims[i];
        for (int i = a; i < idx.Rank; i++) inner *= idx.Dims[i];
        var wide = new long[idx.Size];
        for (int j = 0; j < wide.Length; j++) wide[j] = At(idx, j);
        var di = Upload(d, NDArray.From(wide, wide.Length));
        try
        {
            switch (on.DType)
            {
                case DType.Float32: OneHot(d, di, y, outer, depth, inner, on.AsSpan<float>()[0], off.AsSpan<float>()[0]); break;
                case DType.Float64: OneHot(d, di, y, outer, depth, inner, on.AsSpan<double>()[0], off.AsSpan<double>()[0]); break;
                case DType.Int32: OneHot(d, di, y, outer, depth, inner, on.AsSpan<int>()[0], off.AsSpan<int>()[0]); break;
                case DType.Int64: OneHot(d, di, y, outer, depth, inner, on.AsSpan<long>()[0], off.AsSpan<long>()[0]); break;
                default: throw c.Error($"OneHot of {on.DType.Name()} has no GPU kernel");
            }
        }
        finally { d.FreeTemp(di); }
    }

    static void OneHot<T>(CudaDevice d, NDArray idx, NDArray y, int outer, int depth, int inner, T on, T off) where T : unmanaged
    {
        var k = d.Load(GatherKernels.OneHot<T>, acc => acc.LoadKernel<ArrayView<long>, ArrayView<T>, int, int, int, T, T>(GatherKernels.OneHot<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<long>(idx), CudaDevice.View<T>(y), outer, depth, inner, on, off);
    }

    public static void SegmentSum(KernelContext c, CudaDevice d)
    {
        var data = c.Input(0); var ids = c.Input(1);
        int n = (int)At(c.Input(2), 0);
        if (n < 0) throw c.Error($"num_segments must be non-negative, got {n}");
        if (ids.Rank > data.Rank || !data.Dims[..ids.Rank].SequenceEqual(ids.Dims))
            throw c.Error($"segment_ids shape {Shape.Format(ids.Dims)} must be a prefix of data shape {Shape.Format(data.Dims)}");
        var seg = Checked(c, ids, n, "segment_ids");
        var dims = new int[data.Rank - ids.Rank + 1];
        dims[0] = n;
        data.Dims[ids.Rank..].CopyTo(dims.AsSpan(1));
        var y = c.Output(0, dims);
        if (y.Size == 0) return;
        int inner = y.Size / Math.Max(1, n);
        // Rows of each segment in ascending order (CSR), so the GPU sums in the CPU's order.
        var start = new int[n + 1];
        foreach (var s in seg) start[s + 1]++;
        for (int s = 0; s < n; s++) start[s + 1] += start[s];
        var rows = new int[Math.Max(1, seg.Length)];
        var fill = (int[])start.Clone();
        for (int j = 0; j < seg.Length; j++) rows[fill[seg[j]]++] = j;
        var ds = Upload(d, NDArray.From(start, start.Length));
        var dr = Upload(d, NDArray.From(rows, rows.Length));
        try
        {
            switch (data.DType)
            {
                case DType.Float32: SegmentSum<float>(d, data, ds, dr, y, n, inner); break;
                case DType.Float64: SegmentSum<double>(d, data, ds, dr, y, n, inner); break;
                case DType.Int32: SegmentSum<int>(d, data, ds, dr, y, n, inner); break;
                case DType.Int64: SegmentSum<long>(d, data, ds, dr, y, n, inner); break;
                default: throw c.Error($"UnsortedSegmentSum of {data.DType.Name()} has no GPU kernel");
            }
        }
        finally { d.FreeTemp(dr); d.FreeTemp(ds); }
    }

    static void SegmentSum<T>(CudaDevice d, NDArray data, NDArray start, NDArray rows, NDArray y, int n, int inner) where T : unmanaged, INumber<T>
    {
        var k = d.Load(GatherKernels.SegmentSum<T>,
            acc => acc.LoadKernel<ArrayView<T>, ArrayView<int>, ArrayView<int>, ArrayView<T>, int, int>(GatherKernels.SegmentSum<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(data), CudaDevice.View<int>(start), CudaDevice.View<int>(rows), CudaDevice.View<T>(y), n, inner);
    }

    public static void Pow(KernelContext c, CudaDevice d)
    {
        var (a, b, y) = Families.BroadcastOut(c);
        if (y.Size == 0) return;
        var s = Broadcast6.Make(a.Dims, b.Dims);
        switch (a.DType)
        {
            case DType.Float32: PowF<float>(d, a, b, y, s); break;
            case DType.Float64: PowF<double>(d, a, b, y, s); break;
            case DType.Int32: PowI<int>(d, a, b, y, s); break;
            case DType.Int64: PowI<long>(d, a, b, y, s); break;
            default: throw c.Error($"Pow of {a.DType.Name()}");
        }
    }

    static void PowF<T>(CudaDevice d, NDArray a, NDArray b, NDArray y, Broadcast6 s) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(GatherKernels.PowFloat<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, Broadcast6>(GatherKernels.PowFloat<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), y.Size, s);
    }

    static void PowI<T>(CudaDevice d, NDArray a, NDArray b, NDArray y, Broadcast6 s) where T : unmanaged, IBinaryInteger<T>
    {
        var k = d.Load(GatherKernels.PowInt<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, Broadcast6>(GatherKernels.PowInt<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), y.Size, s);
    }

    /// <summary>min(max(x, lo), hi) with the NaN-propagating Maximum/Minimum functors.</summary>
    public static void Clip(KernelContext c, CudaDevice d)
    {
        var (x, lo, hi) = (c.Input(0), c.Input(1), c.Input(2));
        for (int i = 1; i <= 2; i++)
        {
            var b = c.Input(i);
            if (b.Rank != 0 && !b.Dims.SequenceEqual(x.Dims))
                throw c.Error($"clip bounds must be scalars or have the shape of t, t {Shape.Format(x.Dims)} and bound {Shape.Format(b.Dims)}");
        }
        var y = c.Output(0, x.Dims);
        if (!(x.DType is DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64)) throw c.Error($"ClipByValue of {x.DType.Name()}");
        BinaryOp<ArithOps.Max>.Launch(c, d, x, lo, y);
        BinaryOp<ArithOps.Min>.Launch(c, d, y, hi, y);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)GatherKernels.Gather<int>).Method;
        yield return ((Delegate)GatherKernels.Gather<long>).Method;
        yield return ((Delegate)GatherKernels.Gather<byte>).Method;
        yield return ((Delegate)GatherKernels.OneHot<float>).Method;
        yield return ((Delegate)GatherKernels.OneHot<double>).Method;
        yield return ((Delegate)GatherKernels.OneHot<int>).Method;
        yield return ((Delegate)GatherKernels.OneHot<long>).Method;
        yield return ((Delegate)GatherKernels.SegmentSum<float>).Method;
        yield return ((Delegate)GatherKernels.SegmentSum<double>).Method;
        yield return ((Delegate)GatherKernels.SegmentSum<int>).Method;
        yield return ((Delegate)GatherKernels.SegmentSum<long>).Method;
        yield return ((Delegate)GatherKernels.PowFloat<float>).Method;
        yield return ((Delegate)GatherKernels.PowFloat<double>).Method;
        yield return ((Delegate)GatherKernels.PowInt<int>).Method;
        yield return ((Delegate)GatherKernels.PowInt<long>).Method;
    }
}
