using System.Numerics;
using System.Runtime.InteropServices;

namespace GraphDl.Ops;

/// <summary>A binary kernel over contiguous runs: both operands vary, or one is a repeated scalar.</summary>
public interface IZip<TA, TY>
{
    /// <summary><c>y[i] = f(a[i], b[i])</c>.</summary>
    static abstract void Zip(ReadOnlySpan<TA> a, ReadOnlySpan<TA> b, Span<TY> y);
    /// <summary><c>y[i] = f(a, b[i])</c>.</summary>
    static abstract void ScalarA(TA a, ReadOnlySpan<TA> b, Span<TY> y);
    /// <summary><c>y[i] = f(a[i], b)</c>.</summary>
    static abstract void ScalarB(ReadOnlySpan<TA> a, TA b, Span<TY> y);
}

/// <summary>NumPy broadcasting: the output shape, and a driver that walks it in contiguous runs.</summary>
public static class Broadcast
{
    /// <summary>Static broadcast of two shapes; throws a <see cref="ShapeError"/> naming both when they clash.</summary>
    public static Shape Shapes(Shape a, Shape b)
    {
        if (!a.HasRank || !b.HasRank) return Shape.Unknown;
        int r = Math.Max(a.Rank, b.Rank);
        var dims = new int[r];
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Rank) >= 0 ? a[i - (r - a.Rank)] : 1;
            int db = i - (r - b.Rank) >= 0 ? b[i - (r - b.Rank)] : 1;
            if (da == 1) dims[i] = db;
            else if (db == 1) dims[i] = da;
            else if (da == -1 || db == -1) dims[i] = da == -1 ? db : da;
            else if (da == db) dims[i] = da;
            else throw new ShapeError($"incompatible shapes for broadcasting, {a} and {b}");
        }
        return new Shape(dims);
    }

    /// <summary>Concrete broadcast into <paramref name="y"/> (length = max rank); returns false if incompatible.</summary>
    public static bool Dims(ReadOnlySpan<int> a, ReadOnlySpan<int> b, Span<int> y)
    {
        int r = y.Length;
        for (int i = 0; i < r; i++)
        {
            int da = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            int db = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
            if (da == db || db == 1) y[i] = da;
            else if (da == 1) y[i] = db;
            else return false;
        }
        return true;
    }

    /// <summary>Computes <c>y = f(a, b)</c> with broadcasting; <paramref name="y"/> already has the broadcast dims.</summary>
    public static void Run<TZ, TA, TY>(NDArray a, NDArray b, NDArray y) where TZ : IZip<TA, TY>
    {
        var sa = a.AsSpan<TA>(); var sb = b.AsSpan<TA>(); var sy = y.AsSpan<TY>();
        if (sy.Length == 0) return;
        if (sa.Length == sy.Length && sb.Length == sy.Length) { TZ.Zip(sa, sb, sy); return; }
        if (sb.Length == 1 && sa.Length == sy.Length) { TZ.ScalarB(sa, sb[0], sy); return; }
        if (sa.Length == 1 && sb.Length == sy.Length) { TZ.ScalarA(sa[0], sb, sy); return; }
        int r = y.Rank;
        Span<int> dims = stackalloc int[r], stA = stackalloc int[r], stB = stackalloc int[r];
        int n = Coalesce(a.Dims, b.Dims, y.Dims, dims, stA, stB);
        dims = dims[..n]; stA = stA[..n]; stB = stB[..n];
        int inner = dims[n - 1];
        int outer = sy.Length / inner;
        Span<int> idx = stackalloc int[n];
        idx.Clear();
        int offA = 0, offB = 0;
        for (int o = 0; o < outer; o++)
        {
            var ys = sy.Slice(o * inner, inner);
            if (stA[n - 1] == 0 && stB[n - 1] == 0) { TZ.ScalarB(sa.Slice(offA, 1), sb[offB], ys[..1]); ys.Fill(ys[0]); }
            else if (stA[n - 1] == 0) TZ.ScalarA(sa[offA], sb.Slice(offB, inner), ys);
            else if (stB[n - 1] == 0) TZ.ScalarB(sa.Slice(offA, inner), sb[offB], ys);
            else TZ.Zip(sa.Slice(offA, inner), sb.Slice(offB, inner), ys);
            for (int d = n - 2; d >= 0; d--)
            {
                offA += stA[d]; offB += stB[d];
                if (++idx[d] < dims[d]) break;
                offA -= stA[d] * dims[d]; offB -= stB[d] * dims[d];
                idx[d] = 0;
            }
        }
    }

    /// <summary>Pads both inputs to the output rank, computes element strides (0 on broadcast dims), and merges
    /// neighbouring dims that are contiguous in all three; returns the merged rank.</summary>
    static int Coalesce(ReadOnlySpan<int> a, ReadOnlySpan<int> b, ReadOnlySpan<int> y, Span<int> dims, Span<int> stA, Span<int> stB)
    {
        int r = y.Length;
        Span<int> pa = stackalloc int[r], pb = stackalloc int[r];
        for (int i = 0; i < r; i++)
        {
            pa[i] = i - (r - a.Length) >= 0 ? a[i - (r - a.Length)] : 1;
            pb[i] = i - (r - b.Length) >= 0 ? b[i - (r - b.Length)] : 1;
        }
        int n = 0, accA = 1, accB = 1;
        Span<int> rsA = stackalloc int[r], rsB = stackalloc int[r];
        for (int i = r - 1; i >= 0; i--)
        {
            rsA[i] = pa[i] == 1 ? 0 : accA; accA *= pa[i];
            rsB[i] = pb[i] == 1 ? 0 : accB; accB *= pb[i];
        }
        for (int i = 0; i < r; i++)
        {
            if (y[i] == 1) continue;
            if (n > 0 && stA[n - 1] == rsA[i] * y[i] && stB[n - 1] == rsB[i] * y[i]
                && (stA[n - 1] != 0 || rsA[i] == 0) && (stB[n - 1] != 0 || rsB[i] == 0))
            {
                dims[n - 1] *= y[i]; stA[n - 1] = rsA[i]; stB[n - 1] = rsB[i];
                continue;
            }
            dims[n] = y[i]; stA[n] = rsA[i]; stB[n] = rsB[i]; n++;
        }
        if (n == 0) { dims[0] = 1; stA[0] = 0; stB[0] = 0; n = 1; }
        return n;
    }
}

/// <summary>Arithmetic over a scalar and a SIMD form; <see cref="Arith{TOp,T}"/> drives it.</summary>
public interface IArith
{
    /// <summary>Scalar form.</summary>
    static abstract T Apply<T>(T a, T b) where T : unmanaged, INumber<T>;
    /// <summary>SIMD form.</summary>
    static abstract Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T>;
}

/// <summary>Runs an <see cref="IArith"/> op over spans with <see cref="Vector{T}"/>; scalar and SIMD agree bit for bit.</summary>
public readonly struct Arith<TOp, T> : IZip<T, T> where TOp : IArith where T : unmanaged, INumber<T>
{
    /// <inheritdoc/>
    public static void Zip(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y)
    {
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - w; i += w)
                TOp.Apply(new Vector<T>(a[i..]), new Vector<T>(b[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Apply(a[i], b[i]);
    }

    /// <inheritdoc/>
    public static void ScalarA(T a, ReadOnlySpan<T> b, Span<T> y)
    {
        int i = 0, w = Vector<T>.Count;
        var va = new Vector<T>(a);
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - w; i += w)
                TOp.Apply(va, new Vector<T>(b[i..])).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Apply(a, b[i]);
    }

    /// <inheritdoc/>
    public static void ScalarB(ReadOnlySpan<T> a, T b, Span<T> y)
    {
        int i = 0, w = Vector<T>.Count;
        var vb = new Vector<T>(b);
        if (Vector.IsHardwareAccelerated)
            for (; i <= y.Length - w; i += w)
                TOp.Apply(new Vector<T>(a[i..]), vb).CopyTo(y[i..]);
        for (; i < y.Length; i++) y[i] = TOp.Apply(a[i], b);
    }
}
