using System.Runtime.InteropServices;
using System.Text;

namespace GraphDl;

/// <summary>A concrete n-dimensional value in row-major order: what feeds hold and <c>Session.Run</c> returns.</summary>
/// <remarks>Arrays returned by <c>Session.Run</c> belong to the caller; the session never writes to them again.</remarks>
public sealed class NDArray
{
    internal Array data;
    internal int[] dims;
    internal int size;
    internal Devices.Device? device;
    internal int poolIndex = -1;
    /// <summary>Element capacity of a device array (whose <see cref="data"/> is a one-element box holding the device
    /// allocation); -1 for host arrays, whose capacity is <c>data.Length</c>.</summary>
    internal long deviceCapacity = -1;

    /// <summary>The element type.</summary>
    public DType DType { get; }

    internal NDArray(DType dtype, Array data, int[] dims)
    {
        DType = dtype;
        this.data = data;
        this.dims = dims;
        size = checked((int)Product(dims));
        if (data.Length < size)
            throw new ArgumentException($"{data.Length} values cannot fill shape {Shape.Format(dims)}");
    }

    /// <summary>A device array: <paramref name="box"/> (one element, the allocation) stands in for the data.</summary>
    internal NDArray(DType dtype, Array box, int[] dims, long capacity)
    {
        DType = dtype;
        data = box;
        this.dims = dims;
        size = checked((int)Product(dims));
        if (capacity < size) throw new ArgumentException($"{capacity} elements cannot hold shape {Shape.Format(dims)}");
        deviceCapacity = capacity;
    }

    /// <summary>How many elements the buffer holds (at least <see cref="Size"/>).</summary>
    internal long Capacity => deviceCapacity >= 0 ? deviceCapacity : data.Length;

    /// <summary>A zero-filled array of the given dtype and dimensions.</summary>
    public static NDArray Zeros(DType dtype, params int[] dims)
    {
        long n = Product(dims);
        Array data = dtype == DType.String ? Enumerable.Repeat("", (int)n).ToArray() : Array.CreateInstance(dtype.ClrType(), n);
        return new NDArray(dtype, data, (int[])dims.Clone());
    }

    /// <summary>Wraps (without copying) a flat array as the given dimensions; no dims means a vector.</summary>
    public static NDArray From<T>(T[] values, params int[] dims) =>
        new(DTypes.Of<T>(), values, dims.Length == 0 ? [values.Length] : CheckDims(values.Length, dims));

    /// <summary>Copies a span into a new array of the given dims (no dims means a vector).</summary>
    public static NDArray FromSpan<T>(ReadOnlySpan<T> values, params int[] dims) => From(values.ToArray(), dims);

    /// <summary>Copies the values into <paramref name="destination"/> (at least <see cref="Size"/> long).</summary>
    public void CopyTo<T>(Span<T> destination) => AsSpan<T>().CopyTo(destination);

    /// <summary>Copies a multi-dimensional CLR array (<c>float[,]</c>, <c>double[,,]</c>, ...).</summary>
    public static NDArray FromMultiDim(Array values)
    {
        var t = values.GetType().GetElementType()!;
        var dims = new int[values.Rank];
        for (int i = 0; i < dims.Length; i++) dims[i] = values.GetLength(i);
        var flat = Array.CreateInstance(t, values.Length);
        int k = 0;
        foreach (var v in values) flat.SetValue(v, k++);
        return new NDArray(DTypes.Of(t), flat, dims);
    }

    /// <summary>A rank-0 array.</summary>
    public static NDArray Scalar<T>(T value) => new(DTypes.Of<T>(), new T[] { value }, []);

    static int[] CheckDims(int length, int[] dims)
    {
        if (Product(dims) != length)
            throw new ArgumentException($"{length} values do not fill shape {Shape.Format(dims)}");
        return (int[])dims.Clone();
    }

    internal static long Product(ReadOnlySpan<int> dims)
    {
        long n = 1;
        foreach (var d in dims)
        {
            if (d < 0) throw new ArgumentException($"dimension {d} is negative");
            n *= d;
        }
        return n;
    }

    /// <summary>The dimensions.</summary>
    public Shape Shape => new(dims);

    /// <summary>The dimensions as a span (no copy).</summary>
    public ReadOnlySpan<int> Dims => dims;

    /// <summary>The rank.</summary>
    public int Rank => dims.Length;

    /// <summary>The number of elements.</summary>
    public int Size => size;

    /// <summary>The values, row-major, without copying. <typeparamref name="T"/> must match the dtype.</summary>
    public Span<T> AsSpan<T>()
    {
        if (data is not T[] a) throw WrongType(typeof(T));
        return a.AsSpan(0, size);
    }

    // Out of line so that AsSpan stays small enough to inline into kernels.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    InvalidCastException WrongType(Type t) => new($"array holds {DType.Name()}, not {t.Name}");

    internal T[] Raw<T>() => (T[])data;

    /// <summary>A flat copy of the values. <typeparamref name="T"/> must match the dtype.</summary>
    public T[] ToArray<T>() => AsSpan<T>().ToArray();

    /// <summary>A flat copy converted to float32 (any numeric or bool dtype).</summary>
    public float[] ToFloatArray()
    {
        var r = new float[size];
        for (int i = 0; i < size; i++) r[i] = (float)GetDouble(i);
        return r;
    }

    /// <summary>A flat copy converted to float64 (any numeric or bool dtype).</summary>
    public double[] ToDoubleArray()
    {
        var r = new double[size];
        for (int i = 0; i < size; i++) r[i] = GetDouble(i);
        return r;
    }

    internal double GetDouble(int i) => data switch
    {
        float[] f => f[i],
        double[] d => d[i],
        int[] n => n[i],
        long[] l => l[i],
        byte[] b => b[i],
        bool[] b => b[i] ? 1 : 0,
        _ => throw new InvalidCastException($"{DType.Name()} is not numeric"),
    };

    /// <summary>Copies into a multi-dimensional CLR array of this rank (a rank-0 array gives a 1-element vector).</summary>
    public Array ToMultiDimArray()
    {
        var r = Array.CreateInstance(DType.ClrType(), dims.Length == 0 ? [1] : dims);
        if (DType == DType.String)
        {
            var idx = new int[Math.Max(1, dims.Length)];
            for (int i = 0; i < size; i++) { Unflatten(i, idx); r.SetValue(data.GetValue(i), idx); }
        }
        else
        {
            Buffer.BlockCopy(data, 0, r, 0, size * DType.Size());
        }
        return r;
    }

    void Unflatten(int flat, int[] idx)
    {
        for (int d = dims.Length - 1; d >= 0; d--) { idx[d] = flat % dims[d]; flat /= dims[d]; }
    }

    /// <summary>The single value of a one-element array.</summary>
    public T Item<T>()
    {
        if (size != 1) throw new InvalidOperationException($"Item needs one element, the array has shape {Shape}");
        return AsSpan<T>()[0];
    }

    /// <summary>The element at a full index.</summary>
    public T GetValue<T>(params int[] index)
    {
        if (index.Length != dims.Length) throw new ArgumentException($"index of rank {index.Length} for shape {Shape}");
        int flat = 0;
        for (int d = 0; d < dims.Length; d++)
        {
            if ((uint)index[d] >= (uint)dims[d]) throw new IndexOutOfRangeException($"index {index[d]} out of range for dimension {d} of {Shape}");
            flat = flat * dims[d] + index[d];
        }
        return AsSpan<T>()[flat];
    }

    /// <summary>A deep copy.</summary>
    public NDArray Clone()
    {
        // Typed allocation and copy for the numeric dtypes (Array.CreateInstance and Array.Copy go through type checks);
        // a rank-0 clone shares the empty dims array (nothing can be written into it).
        Array copy;
        switch (data)
        {
            case float[] f: { var c = new float[size]; f.AsSpan(0, size).CopyTo(c); copy = c; break; }
            case double[] d: { var c = new double[size]; d.AsSpan(0, size).CopyTo(c); copy = c; break; }
            case int[] n: { var c = new int[size]; n.AsSpan(0, size).CopyTo(c); copy = c; break; }
            case long[] l: { var c = new long[size]; l.AsSpan(0, size).CopyTo(c); copy = c; break; }
            default: copy = Array.CreateInstance(DType.ClrType(), size); Array.Copy(data, copy, size); break;
        }
        return new NDArray(DType, copy, dims.Length == 0 ? [] : (int[])dims.Clone());
    }

    internal bool SameLayout(DType dtype, ReadOnlySpan<int> d) => DType == dtype && dims.AsSpan().SequenceEqual(d);

    /// <summary>A short numpy-like rendering (at most 20 values).</summary>
    public override string ToString()
    {
        var sb = new StringBuilder($"{DType.Name()}{Shape} ");
        sb.Append('[');
        for (int i = 0; i < Math.Min(size, 20); i++)
        {
            if (i > 0) sb.Append(", ");
            sb.Append(data.GetValue(i) is IFormattable f ? f.ToString(null, System.Globalization.CultureInfo.InvariantCulture) : data.GetValue(i));
        }
        if (size > 20) sb.Append(", ...");
        return sb.Append(']').ToString();
    }

    /// <summary>A float32 scalar.</summary>
    public static implicit operator NDArray(float v) => Scalar(v);
    /// <summary>A float64 scalar.</summary>
    public static implicit operator NDArray(double v) => Scalar(v);
    /// <summary>An int32 scalar.</summary>
    public static implicit operator NDArray(int v) => Scalar(v);
    /// <summary>An int64 scalar.</summary>
    public static implicit operator NDArray(long v) => Scalar(v);
    /// <summary>A bool scalar.</summary>
    public static implicit operator NDArray(bool v) => Scalar(v);
    /// <summary>A string scalar.</summary>
    public static implicit operator NDArray(string v) => Scalar(v);
    /// <summary>A float32 vector (wraps, no copy).</summary>
    public static implicit operator NDArray(float[] v) => From(v);
    /// <summary>A float64 vector (wraps, no copy).</summary>
    public static implicit operator NDArray(double[] v) => From(v);
    /// <summary>An int32 vector (wraps, no copy).</summary>
    public static implicit operator NDArray(int[] v) => From(v);
    /// <summary>An int64 vector (wraps, no copy).</summary>
    public static implicit operator NDArray(long[] v) => From(v);
    /// <summary>A bool vector (wraps, no copy).</summary>
    public static implicit operator NDArray(bool[] v) => From(v);
    /// <summary>A float32 matrix (copied).</summary>
    public static implicit operator NDArray(float[,] v) => FromMultiDim(v);
    /// <summary>A float64 matrix (copied).</summary>
    public static implicit operator NDArray(double[,] v) => FromMultiDim(v);
    /// <summary>An int32 matrix (copied).</summary>
    public static implicit operator NDArray(int[,] v) => FromMultiDim(v);
    /// <summary>A float32 rank-3 array (copied).</summary>
    public static implicit operator NDArray(float[,,] v) => FromMultiDim(v);
    /// <summary>The values as a flat float32 array (float32 arrays only).</summary>
    public static explicit operator float[](NDArray a) => a.ToArray<float>();
    /// <summary>The values as a flat float64 array (float64 arrays only).</summary>
    public static explicit operator double[](NDArray a) => a.ToArray<double>();
    /// <summary>The single float32 value.</summary>
    public static explicit operator float(NDArray a) => a.Item<float>();
    /// <summary>The single float64 value.</summary>
    public static explicit operator double(NDArray a) => a.Item<double>();
}
