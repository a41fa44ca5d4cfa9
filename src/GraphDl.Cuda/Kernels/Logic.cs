using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>An element type's conversions through double, as the CPU's Cast (which converts via <c>GetDouble</c>).</summary>
public interface IElem<T> where T : unmanaged
{
    /// <summary>The value as a double.</summary>
    static abstract double ToDouble(T v);
    /// <summary>A double converted as C# casts it (truncation toward zero, saturating; bool: non-zero).</summary>
    static abstract T FromDouble(double d);
}

/// <summary>float32</summary>
public readonly struct F32 : IElem<float> { /// <inheritdoc/>
    public static double ToDouble(float v) => v; /// <inheritdoc/>
    public static float FromDouble(double d) => (float)d; }
/// <summary>float64</summary>
public readonly struct F64 : IElem<double> { /// <inheritdoc/>
    public static double ToDouble(double v) => v; /// <inheritdoc/>
    public static double FromDouble(double d) => d; }
/// <summary>int32</summary>
public readonly struct I32 : IElem<int> { /// <inheritdoc/>
    public static double ToDouble(int v) => v; /// <inheritdoc/>
    public static int FromDouble(double d) => (int)d; }
/// <summary>int64</summary>
public readonly struct I64 : IElem<long> { /// <inheritdoc/>
    public static double ToDouble(long v) => v; /// <inheritdoc/>
    public static long FromDouble(double d) => (long)d; }
/// <summary>uint8</summary>
public readonly struct U8 : IElem<byte> { /// <inheritdoc/>
    public static double ToDouble(byte v) => v; /// <inheritdoc/>
    public static byte FromDouble(double d) => (byte)d; }
/// <summary>bool, stored as one byte 0/1</summary>
public readonly struct B8 : IElem<byte> { /// <inheritdoc/>
    public static double ToDouble(byte v) => v; /// <inheritdoc/>
    public static byte FromDouble(double d) => d != 0 ? (byte)1 : (byte)0; }

/// <summary>Comparison, logic, select, cast and arg-extremum kernels. Bool tensors are bytes 0/1 on the GPU.</summary>
public static class LogicKernels
{
    /// <summary>y = a ? b, broadcasting; y is bool.</summary>
    public static void Compare<TC, T>(ArrayView<T> a, ArrayView<T> b, ArrayView<byte> y, int n, Broadcast6 s)
        where TC : struct, CompareOps.ICmp where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ia, out int ib);
            y[i] = TC.Test(a[ia], b[ib]) ? (byte)1 : (byte)0;
        }
    }

    /// <summary>LogicalAnd (op 0), LogicalOr (op 1), broadcasting.</summary>
    public static void Logic(ArrayView<byte> a, ArrayView<byte> b, ArrayView<byte> y, int n, Broadcast6 s, int op)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int ia, out int ib);
            bool p = a[ia] != 0, q = b[ib] != 0;
            y[i] = (op == 0 ? p & q : p | q) ? (byte)1 : (byte)0;
        }
    }

    /// <summary>LogicalNot.</summary>
    public static void Not(ArrayView<byte> x, ArrayView<byte> y, int n)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = x[i] != 0 ? (byte)0 : (byte)1;
    }

    /// <summary>y = cond ? a : b with three-way broadcasting: <paramref name="ab"/> gives a's and b's offsets,
    /// <paramref name="c"/>'s a-strides the condition's.</summary>
    public static void Select<T>(ArrayView<byte> cond, ArrayView<T> a, ArrayView<T> b, ArrayView<T> y, int n, Broadcast6 ab, Broadcast6 c)
        where T : unmanaged
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            ab.Offsets(i, out int ia, out int ib);
            c.Offsets(i, out int ic, out _);
            y[i] = cond[ic] != 0 ? a[ia] : b[ib];
        }
    }

    /// <summary>y = (TOut)(double)x, as the CPU's Cast.</summary>
    public static void Cast<TA, A, TB, B>(ArrayView<A> x, ArrayView<B> y, int n)
        where TA : struct, IElem<A> where A : unmanaged where TB : struct, IElem<B> where B : unmanaged
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = TB.FromDouble(TA.ToDouble(x[i]));
    }

    /// <summary>Index of the first maximum (max = 1) or minimum along the middle axis of [outer, n, inner], compared as
    /// doubles (a NaN never wins unless it comes first), as the CPU kernel.</summary>
    public static void ArgExtremum<TA, A>(ArrayView<A> x, ArrayView<long> y, int outer, int n, int inner, int max)
        where TA : struct, IElem<A> where A : unmanaged
    {
        int rows = outer * inner;
        for (int r = Grid.GlobalIndex.X; r < rows; r += Grid.DimX * Group.DimX)
        {
            int o = r / inner, k = r - o * inner;
            int best = 0;
            double bv = TA.ToDouble(x[o * n * inner + k]);
            for (int j = 1; j < n; j++)
            {
                double v = TA.ToDouble(x[(o * n + j) * inner + k]);
                if (max != 0 ? v > bv : v < bv) { bv = v; best = j; }
            }
            y[r] = best;
        }
    }

    /// <summary>int64 to int32 (ArgMax with output_type int32).</summary>
    public static void Narrow(ArrayView<long> x, ArrayView<int> y, int n)
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX) y[i] = (int)x[i];
    }
}

/// <summary>Host side of comparisons (from the op file's <see cref="CompareOps.ICmp"/> functor).</summary>
internal static class CompareOp<TC> where TC : struct, CompareOps.ICmp
{
    public static void Run(KernelContext c, CudaDevice d)
    {
        var (a, b, y) = Families.BroadcastOut(c, DType.Bool);
        if (y.Size == 0) return;
        var s = Broadcast6.Make(a.Dims, b.Dims);
        switch (a.DType)
        {
            case DType.Float32: Launch<float>(d, a, b, y, s); break;
            case DType.Float64: Launch<double>(d, a, b, y, s); break;
            case DType.Int32: Launch<int>(d, a, b, y, s); break;
            case DType.Int64: Launch<long>(d, a, b, y, s); break;
            // bool as bytes 0/1: == and != agree with bool equality.
            case DType.UInt8: Launch<byte>(d, a, b, y, s); break;
            case DType.Bool when typeof(TC).Name is "Eq" or "Ne": Launch<byte>(d, a, b, y, s); break;
            default: throw c.Error($"cannot compare {a.DType.Name()}");
        }
    }

    static void Launch<T>(CudaDevice d, NDArray a, NDArray b, NDArray y, Broadcast6 s) where T : unmanaged, INumber<T>
    {
        var k = d.Load(LogicKernels.Compare<TC, T>,
            acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<byte>, int, Broadcast6>(LogicKernels.Compare<TC, T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<byte>(y), y.Size, s);
    }

    public static IEnumerable<MethodInfo> Kernels(bool numeric)
    {
        yield return ((Delegate)LogicKernels.Compare<TC, float>).Method;
        yield return ((Delegate)LogicKernels.Compare<TC, double>).Method;
        yield return ((Delegate)LogicKernels.Compare<TC, int>).Method;
        yield return ((Delegate)LogicKernels.Compare<TC, long>).Method;
        yield return ((Delegate)LogicKernels.Compare<TC, byte>).Method;
    }
}

/// <summary>Host side of logic, select, cast, arg-extremum, SumToShape and Fill.</summary>
internal static class LogicOp
{
    public static GpuKernel Logic(int op) => (c, d) =>
    {
        var (a, b, y) = Families.BroadcastOut(c);
        if (y.Size == 0) return;
        var k = d.Load(LogicKernels.Logic, acc => acc.LoadKernel<ArrayView<byte>, ArrayView<byte>, ArrayView<byte>, int, Broadcast6, int>(LogicKernels.Logic));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<byte>(a), CudaDevice.View<byte>(b), CudaDevice.View<byte>(y), y.Size, Broadcast6.Make(a.Dims, b.Dims), op);
    };

    public static void Not(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        var y = c.Output(0, x.Dims);
        if (y.Size == 0) return;
        var k = d.Load(LogicKernels.Not, acc => acc.LoadKernel<ArrayView<byte>, ArrayView<byte>, int>(LogicKernels.Not));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<byte>(x), CudaDevice.View<byte>(y), y.Size);
    }

    public static void Select(KernelContext c, CudaDevice d)
    {
        var (cond, a, b) = (c.Input(0), c.Input(1), c.Input(2));
        int r = Math.Max(cond.Rank, Math.Max(a.Rank, b.Rank));
        var dims = new int[r];
        for (int i = 0; i < r; i++)
        {
            int m = 1;
            foreach (var t in new[] { cond, a, b })
            {
                int j = i - (r - t.Rank);
                int v = j >= 0 ? t.Dims[j] : 1;
                if (v != 1 && m != 1 && v != m)
                    throw c.Error($"incompatible shapes {Shape.Format(cond.Dims)}, {Shape.Format(a.Dims)}, {Shape.Format(b.Dims)}");
                if (v != 1) m = v;
            }
            dims[i] = m;
        }
        var y = c.Output(0, dims, a.DType);
        if (y.Size == 0) return;
        if (r > 6) throw c.Error($"GPU SelectV2 takes at most 6 dims, got {Shape.Format(dims)}");
        // Unmerged strides against the output dims, so the condition's and the branches' offsets share one layout.
        var ab = Unmerged(dims, StridesAgainst(a.Dims, dims), StridesAgainst(b.Dims, dims));
        var cs = ReduceOp.Strides(dims, StridesAgainst(cond.Dims, dims));
        switch (a.DType.Size())
        {
            case 4: Launch<int>(d, cond, a, b, y, ab, cs); break;
            case 8: Launch<long>(d, cond, a, b, y, ab, cs); break;
            default: Launch<byte>(d, cond, a, b, y, ab, cs); break;
        }
    }

    /// <summary>Strides of an input of <paramref name="dims"/> against the output <paramref name="outDims"/> (0 where broadcast).</summary>
    internal static int[] StridesAgainst(ReadOnlySpan<int> dims, int[] outDims)
    {
        var s = new int[outDims.Length];
        for (int k = dims.Length - 1, st = 1; k >= 0; k--)
        {
            s[outDims.Length - dims.Length + k] = dims[k] == 1 ? 0 : st;
            st *= dims[k];
        }
        return s;
    }

    static Broadcast6 Unmerged(int[] dims, int[] sa, int[] sb)
    {
        var s = ReduceOp.Strides(dims, sa);
        var t = ReduceOp.Strides(dims, sb);
        s.B0 = t.A0; s.B1 = t.A1; s.B2 = t.A2; s.B3 = t.A3; s.B4 = t.A4; s.B5 = t.A5;
        return s;
    }

    static void Launch<T>(CudaDevice d, NDArray cond, NDArray a, NDArray b, NDArray y, Broadcast6 ab, Broadcast6 cs) where T : unmanaged
    {
        var k = d.Load(LogicKernels.Select<T>,
            acc => acc.LoadKernel<ArrayView<byte>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, Broadcast6, Broadcast6>(LogicKernels.Select<T>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<byte>(cond), CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), y.Size, ab, cs);
    }

    // ---- Cast ----

    static readonly DType[] CastTypes = [DType.Float32, DType.Float64, DType.Int32, DType.Int64, DType.UInt8, DType.Bool];

    public static void Cast(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        var to = c.Attrs.DType("DstT");
        if (x.DType == to) { c.Forward(0, x); return; }
        if (Array.IndexOf(CastTypes, x.DType) < 0 || Array.IndexOf(CastTypes, to) < 0)
            throw c.Error($"cannot cast {x.DType.Name()} to {to.Name()}");
        var y = c.Output(0, x.Dims, to);
        if (y.Size == 0) return;
        CastFrom(d, x, y);
    }

    static void CastFrom(CudaDevice d, NDArray x, NDArray y)
    {
        switch (x.DType)
        {
            case DType.Float32: CastTo<F32, float>(d, x, y); break;
            case DType.Float64: CastTo<F64, double>(d, x, y); break;
            case DType.Int32: CastTo<I32, int>(d, x, y); break;
            case DType.Int64: CastTo<I64, long>(d, x, y); break;
            case DType.UInt8: CastTo<U8, byte>(d, x, y); break;
            default: CastTo<B8, byte>(d, x, y); break;
        }
    }

    static void CastTo<TA, A>(CudaDevice d, NDArray x, NDArray y) where TA : struct, IElem<A> where A : unmanaged
    {
        switch (y.DType)
        {
            case DType.Float32: Cast<TA, A, F32, float>(d, x, y); break;
            case DType.Float64: Cast<TA, A, F64, double>(d, x, y); break;
            case DType.Int32: Cast<TA, A, I32, int>(d, x, y); break;
            case DType.Int64: Cast<TA, A, I64, long>(d, x, y); break;
            case DType.UInt8: Cast<TA, A, U8, byte>(d, x, y); break;
            default: Cast<TA, A, B8, byte>(d, x, y); break;
        }
    }

    static void Cast<TA, A, TB, B>(CudaDevice d, NDArray x, NDArray y)
        where TA : struct, IElem<A> where A : unmanaged where TB : struct, IElem<B> where B : unmanaged
    {
        var k = d.Load(LogicKernels.Cast<TA, A, TB, B>, acc => acc.LoadKernel<ArrayView<A>, ArrayView<B>, int>(LogicKernels.Cast<TA, A, TB, B>));
        k(d.Stream, d.Config(y.Size), CudaDevice.View<A>(x), CudaDevice.View<B>(y), y.Size);
    }

    // ---- ArgMax / ArgMin ----

    public static GpuKernel Arg(bool max) => (c, d) =>
    {
        var x = c.Input(0);
        int a = c.Input(1).AsSpan<int>()[0];
        if (a < 0) a += x.Rank;
        if (a < 0 || a >= x.Rank) throw c.Error($"axis {c.Input(1).AsSpan<int>()[0]} is out of range for {Shape.Format(x.Dims)}");
        int outer = 1, inner = 1, n = x.Dims[a];
        for (int i = 0; i < a; i++) outer *= x.Dims[i];
        for (int i = a + 1; i < x.Rank; i++) inner *= x.Dims[i];
        if (n == 0) throw c.Error("cannot take the arg-extremum of an empty axis");
        var dims = x.Dims.ToArray().Where((_, i) => i != a).ToArray();
        var y = c.Output(0, dims);
        if (y.Size == 0) return;
        var wide = y.DType == DType.Int64 ? y : d.Temp(DType.Int64, dims);
        try
        {
            switch (x.DType)
            {
                case DType.Float32: Arg<F32, float>(d, x, wide, outer, n, inner, max); break;
                case DType.Float64: Arg<F64, double>(d, x, wide, outer, n, inner, max); break;
                case DType.Int32: Arg<I32, int>(d, x, wide, outer, n, inner, max); break;
                case DType.Int64: Arg<I64, long>(d, x, wide, outer, n, inner, max); break;
                case DType.UInt8: Arg<U8, byte>(d, x, wide, outer, n, inner, max); break;
                default: throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
            }
            if (!ReferenceEquals(wide, y))
            {
                var k = d.Load(LogicKernels.Narrow, acc => acc.LoadKernel<ArrayView<long>, ArrayView<int>, int>(LogicKernels.Narrow));
                k(d.Stream, d.Config(y.Size), CudaDevice.View<long>(wide), CudaDevice.View<int>(y), y.Size);
            }
        }
        finally { if (!ReferenceEquals(wide, y)) d.FreeTemp(wide); }
    };

    static void Arg<TA, A>(CudaDevice d, NDArray x, NDArray y, int outer, int n, int inner, bool max) where TA : struct, IElem<A> where A : unmanaged
    {
        var k = d.Load(LogicKernels.ArgExtremum<TA, A>,
            acc => acc.LoadKernel<ArrayView<A>, ArrayView<long>, int, int, int, int>(LogicKernels.ArgExtremum<TA, A>));
        k(d.Stream, d.Config(outer * inner), CudaDevice.View<A>(x), CudaDevice.View<long>(y), outer, n, inner, max ? 1 : 0);
    }

    // ---- SumToShape and Fill ----

    public static void SumToShape(KernelContext c, CudaDevice d)
    {
        var x = c.Input(0);
        var t = c.Input(1).AsSpan<int>().ToArray();
        if (x.Dims.SequenceEqual(t)) { c.Forward(0, x); return; }
        bool ok = t.Length <= x.Rank;
        for (int i = 0; ok && i < t.Length; i++)
        {
            int dx = x.Dims[x.Rank - t.Length + i];
            ok = t[i] == dx || t[i] == 1;
        }
        if (!ok) throw c.Error($"cannot sum {Shape.Format(x.Dims)} down to {Shape.Format(t)}");
        var y = c.Output(0, t);
        var flags = new bool[x.Rank];
        for (int i = 0; i < x.Rank; i++)
        {
            int j = i - (x.Rank - t.Length);
            flags[i] = j < 0 || (t[j] == 1 && x.Dims[i] != 1);
        }
        ReduceOp.Run<SumStep>(c, d, x, flags, y, 0);
    }

    public static void Fill(KernelContext c, CudaDevice d)
    {
        var v = c.Input(1);
        var y = c.Output(0, c.Input(0).AsSpan<int>(), v.DType);
        switch (v.DType)
        {
            case DType.Float32: MiscOp.Fill(d, y, v.AsSpan<float>()[0]); break;
            case DType.Float64: MiscOp.Fill(d, y, v.AsSpan<double>()[0]); break;
            case DType.Int32: MiscOp.Fill(d, y, v.AsSpan<int>()[0]); break;
            case DType.Int64: MiscOp.Fill(d, y, v.AsSpan<long>()[0]); break;
            case DType.UInt8: MiscOp.Fill(d, y, v.AsSpan<byte>()[0]); break;
            case DType.Bool: MiscOp.Fill(d, y, v.AsSpan<bool>()[0] ? (byte)1 : (byte)0); break;
            default: throw c.Error($"Fill of {v.DType.Name()} has no GPU kernel");
        }
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)LogicKernels.Logic).Method;
        yield return ((Delegate)LogicKernels.Not).Method;
        yield return ((Delegate)LogicKernels.Narrow).Method;
        yield return ((Delegate)LogicKernels.Select<int>).Method;
        yield return ((Delegate)LogicKernels.Select<long>).Method;
        yield return ((Delegate)LogicKernels.Select<byte>).Method;
        foreach (var m in CastsFrom<F32, float>()) yield return m;
        foreach (var m in CastsFrom<F64, double>()) yield return m;
        foreach (var m in CastsFrom<I32, int>()) yield return m;
        foreach (var m in CastsFrom<I64, long>()) yield return m;
        foreach (var m in CastsFrom<U8, byte>()) yield return m;
        foreach (var m in CastsFrom<B8, byte>()) yield return m;
        yield return ((Delegate)LogicKernels.ArgExtremum<F32, float>).Method;
        yield return ((Delegate)LogicKernels.ArgExtremum<F64, double>).Method;
        yield return ((Delegate)LogicKernels.ArgExtremum<I32, int>).Method;
        yield return ((Delegate)LogicKernels.ArgExtremum<I64, long>).Method;
        yield return ((Delegate)LogicKernels.ArgExtremum<U8, byte>).Method;
    }

    static IEnumerable<MethodInfo> CastsFrom<TA, A>() where TA : struct, IElem<A> where A : unmanaged
    {
        yield return ((Delegate)LogicKernels.Cast<TA, A, F32, float>).Method;
        yield return ((Delegate)LogicKernels.Cast<TA, A, F64, double>).Method;
        yield return ((Delegate)LogicKernels.Cast<TA, A, I32, int>).Method;
        yield return ((Delegate)LogicKernels.Cast<TA, A, I64, long>).Method;
        yield return ((Delegate)LogicKernels.Cast<TA, A, U8, byte>).Method;
        yield return ((Delegate)LogicKernels.Cast<TA, A, B8, byte>).Method;
    }
}
