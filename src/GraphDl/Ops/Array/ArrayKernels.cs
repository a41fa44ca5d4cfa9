using GraphDl.Runtime;

namespace GraphDl.Ops;

/// <summary>Shared pieces of the array ops: strided copies for every dtype, index-vector reads, axis checks.</summary>
internal static class ArrayKernels
{
    /// <summary>Copies the box <paramref name="dims"/> from <paramref name="src"/> (offset, strides in elements, strides
    /// may be negative or zero) to <paramref name="dst"/> (offset, strides). Works for every dtype.</summary>
    public static void StridedCopy(NDArray src, int srcOff, ReadOnlySpan<int> srcStrides,
        NDArray dst, int dstOff, ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> dims)
    {
        if (dst.deviceCapacity >= 0 || src.deviceCapacity >= 0)
        {
            var device = (dst.device ?? src.device)!;
            // Arrays of another device (the GPU): the same copy, run there; the calling op's logic stays as it is.
            device.StridedCopy(src, srcOff, srcStrides, dst, dstOff, dstStrides, dims);
            return;
        }
        switch (src.data)
        {
            case float[] s: StridedCopy(s, srcOff, srcStrides, (float[])dst.data, dstOff, dstStrides, dims); break;
            case double[] s: StridedCopy(s, srcOff, srcStrides, (double[])dst.data, dstOff, dstStrides, dims); break;
            case int[] s: StridedCopy(s, srcOff, srcStrides, (int[])dst.data, dstOff, dstStrides, dims); break;
            case long[] s: StridedCopy(s, srcOff, srcStrides, (long[])dst.data, dstOff, dstStrides, dims); break;
            case bool[] s: StridedCopy(s, srcOff, srcStrides, (bool[])dst.data, dstOff, dstStrides, dims); break;
            case byte[] s: StridedCopy(s, srcOff, srcStrides, (byte[])dst.data, dstOff, dstStrides, dims); break;
            case string[] s: StridedCopy(s, srcOff, srcStrides, (string[])dst.data, dstOff, dstStrides, dims); break;
            default: throw new NotSupportedException($"no array kernel for {src.DType.Name()}");
        }
    }

    /// <summary>Copies into a contiguous destination of dims <paramref name="dims"/> starting at <paramref name="dstOff"/>.</summary>
    public static void Gather(NDArray src, int srcOff, ReadOnlySpan<int> srcStrides, NDArray dst, int dstOff, ReadOnlySpan<int> dims)
    {
        Span<int> ds = stackalloc int[dims.Length];
        ContiguousStrides(dims, ds);
        StridedCopy(src, srcOff, srcStrides, dst, dstOff, ds, dims);
    }

    static void StridedCopy<T>(T[] src, int so, ReadOnlySpan<int> srcStrides, T[] dst, int d0, ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> dims0)
    {
        // Drop size-1 dims and merge neighbours that are contiguous in both arrays, so the inner loop runs long.
        int r = dims0.Length;
        Span<int> dims = stackalloc int[r];
        Span<int> ss = stackalloc int[r];
        Span<int> ds = stackalloc int[r];
        int n = 0;
        for (int i = 0; i < r; i++)
        {
            if (dims0[i] == 0) return;
            if (dims0[i] == 1) continue;
            if (n > 0 && ss[n - 1] == srcStrides[i] * dims0[i] && ds[n - 1] == dstStrides[i] * dims0[i])
            {
                dims[n - 1] *= dims0[i]; ss[n - 1] = srcStrides[i]; ds[n - 1] = dstStrides[i];
            }
            else { dims[n] = dims0[i]; ss[n] = srcStrides[i]; ds[n] = dstStrides[i]; n++; }
        }
        if (n == 0) { dst[d0] = src[so]; return; }
        int inner = dims[n - 1], si = ss[n - 1], di = ds[n - 1];
        // A transpose of the last two dims (src contiguous along the other one) is copied in cache-sized tiles.
        bool tiled = n >= 2 && si != 1 && di == 1 && ss[n - 2] == 1 && dims[n - 2] >= 16 && inner >= 16;
        int outerDims = tiled ? n - 2 : n - 1;
        Span<int> idx = stackalloc int[n];
        idx.Clear();
        int s = so, d = d0;
        while (true)
        {
            if (tiled) Tile(src, s, dst, d, dims[n - 2], ds[n - 2], inner, si);
            else if (si == 1 && di == 1) src.AsSpan(s, inner).CopyTo(dst.AsSpan(d, inner));
            else if (si == 0) dst.AsSpan(d, inner).Fill(src[s]);
            else for (int k = 0; k < inner; k++) dst[d + k * di] = src[s + k * si];
            int j = outerDims - 1;
            for (; j >= 0; j--)
            {
                s += ss[j]; d += ds[j];
                if (++idx[j] < dims[j]) break;
                s -= ss[j] * dims[j]; d -= ds[j] * dims[j]; idx[j] = 0;
            }
            if (j < 0) return;
        }
    }

    /// <summary><c>dst[d + r*dRow + c] = src[s + r + c*sCol]</c> for r &lt; rows, c &lt; cols, in 32x32 tiles.</summary>
    static void Tile<T>(T[] src, int s, T[] dst, int d, int rows, int dRow, int cols, int sCol)
    {
        const int B = 32;
        for (int r0 = 0; r0 < rows; r0 += B)
        {
            int r1 = Math.Min(rows, r0 + B);
            for (int c0 = 0; c0 < cols; c0 += B)
            {
                int c1 = Math.Min(cols, c0 + B);
                for (int r = r0; r < r1; r++)
                {
                    var row = dst.AsSpan(d + r * dRow + c0, c1 - c0);
                    int from = s + r + c0 * sCol;
                    for (int c = 0; c < row.Length; c++) row[c] = src[from + c * sCol];
                }
            }
        }
    }

    /// <summary>Row-major strides of <paramref name="dims"/>.</summary>
    public static void ContiguousStrides(ReadOnlySpan<int> dims, Span<int> strides)
    {
        int s = 1;
        for (int i = dims.Length - 1; i >= 0; i--) { strides[i] = s; s *= dims[i]; }
    }

    /// <summary>Copies <paramref name="count"/> elements between arrays of the same dtype.</summary>
    public static void Copy(NDArray src, int srcOff, NDArray dst, int dstOff, int count) => Array.Copy(src.data, srcOff, dst.data, dstOff, count);

    /// <summary>Fills <paramref name="y"/> with zeros (false, empty strings).</summary>
    public static void FillZero(NDArray y)
    {
        if (y.deviceCapacity >= 0) { y.device!.Fill(y, null); return; }
        if (y.data is string[] s) s.AsSpan(0, y.Size).Fill("");
        else Array.Clear(y.data, 0, y.Size);
    }

    /// <summary>Fills <paramref name="y"/> with the single value of <paramref name="v"/> (same dtype).</summary>
    public static void FillWith(NDArray y, NDArray v)
    {
        if (y.deviceCapacity >= 0) { y.device!.Fill(y, v); return; }
        switch (y.data)
        {
            case float[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<float>()[0]); break;
            case double[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<double>()[0]); break;
            case int[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<int>()[0]); break;
            case long[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<long>()[0]); break;
            case bool[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<bool>()[0]); break;
            case byte[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<byte>()[0]); break;
            case string[] a: a.AsSpan(0, y.Size).Fill(v.AsSpan<string>()[0]); break;
        }
    }

    /// <summary>Element <paramref name="i"/> of an int32 or int64 array, saturated to the int range.</summary>
    public static int IntAt(NDArray a, int i) => a.data switch
    {
        int[] v => v[i],
        long[] v => (int)Math.Clamp(v[i], int.MinValue, int.MaxValue),
        byte[] v => v[i],
        _ => throw new InvalidCastException($"expected int32 or int64 values, got {a.DType.Name()}"),
    };

    /// <summary>Reads an int32/int64 vector (or scalar) into <paramref name="dst"/>.</summary>
    public static void ReadInts(NDArray a, Span<int> dst)
    {
        for (int i = 0; i < dst.Length; i++) dst[i] = IntAt(a, i);
    }

    /// <summary>Throws unless input <paramref name="i"/> holds int32 or int64 values.</summary>
    public static void RequireIndex(InferContext c, int i, string what)
    {
        if (c.DType(i) is not (DType.Int32 or DType.Int64))
            throw new ShapeError($"{what} must be int32 or int64, got {c.DType(i).Name()}");
    }

    /// <summary>Normalizes an axis in [-rank, rank) (or [-rank-1, rank] when <paramref name="inserting"/>); throws a shape error.</summary>
    public static int NormAxis(int axis, Shape s, bool inserting = false)
    {
        int rank = s.Rank + (inserting ? 1 : 0);
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw new ShapeError($"axis {axis} is out of range [{-rank}, {rank}) for {s}");
        return a;
    }

    /// <summary>Normalizes an axis at run time; the error names the node.</summary>
    public static int NormAxis(KernelContext c, int axis, ReadOnlySpan<int> dims, bool inserting = false)
    {
        int rank = dims.Length + (inserting ? 1 : 0);
        int a = axis < 0 ? axis + rank : axis;
        if (a < 0 || a >= rank) throw c.Error($"axis {axis} is out of range [{-rank}, {rank}) for {Shape.Format(dims)}");
        return a;
    }

    /// <summary>Product of dims [from, to).</summary>
    public static int Prod(ReadOnlySpan<int> dims, int from, int to)
    {
        int p = 1;
        for (int i = from; i < to; i++) p *= dims[i];
        return p;
    }

    /// <summary>A multi-index like <c>[1,0]</c> for flat position <paramref name="flat"/> of <paramref name="dims"/>.</summary>
    public static string IndexString(int flat, ReadOnlySpan<int> dims)
    {
        if (dims.Length == 0) return "";
        var idx = new int[dims.Length];
        for (int d = dims.Length - 1; d >= 0; d--) { idx[d] = flat % Math.Max(1, dims[d]); flat /= Math.Max(1, dims[d]); }
        return "[" + string.Join(",", idx) + "]";
    }

    /// <summary>The shape as a build-time int32 vector when it is fully defined, else a Shape op.</summary>
    public static Tensor ShapeTensor(Graph g, Tensor x) =>
        x.Shape.IsFullyDefined ? g.Const(NDArray.From(x.Shape.Dims), "shape") : g.ShapeOf(x);

    /// <summary>Gradients of the outputs of a multi-output op, zeros where none flows.</summary>
    public static Tensor[] DysOrZeros(GradContext c) =>
        c.Dys.Select((d, i) => d ?? c.G.ZerosLike(c.Y(i))).ToArray();
}
