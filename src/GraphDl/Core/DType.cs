namespace GraphDl;

/// <summary>Element types. Values are TensorFlow's <c>DataType</c> enum numbers, so GraphDefs read like TF's.</summary>
public enum DType
{
    Float32 = 1,
    Float64 = 2,
    Int32 = 3,
    UInt8 = 4,
    String = 7,
    Int64 = 9,
    Bool = 10,
}

/// <summary>Facts about a <see cref="DType"/>.</summary>
public static class DTypes
{
    /// <summary>Bytes per element (strings: a reference).</summary>
    public static int Size(this DType t) => t switch
    {
        DType.Float32 or DType.Int32 => 4,
        DType.Float64 or DType.Int64 => 8,
        DType.UInt8 or DType.Bool => 1,
        _ => IntPtr.Size,
    };

    /// <summary>True for float32 and float64.</summary>
    public static bool IsFloating(this DType t) => t is DType.Float32 or DType.Float64;

    /// <summary>True for the integer types.</summary>
    public static bool IsInteger(this DType t) => t is DType.Int32 or DType.Int64 or DType.UInt8;

    /// <summary>True for types arithmetic is defined on.</summary>
    public static bool IsNumeric(this DType t) => t.IsFloating() || t.IsInteger();

    /// <summary>The lower-case name TensorFlow prints (<c>float32</c>, <c>int64</c>, ...).</summary>
    public static string Name(this DType t) => t switch
    {
        DType.Float32 => "float32",
        DType.Float64 => "float64",
        DType.Int32 => "int32",
        DType.Int64 => "int64",
        DType.UInt8 => "uint8",
        DType.Bool => "bool",
        DType.String => "string",
        _ => t.ToString(),
    };

    /// <summary>The CLR element type that stores this dtype.</summary>
    public static Type ClrType(this DType t) => t switch
    {
        DType.Float32 => typeof(float),
        DType.Float64 => typeof(double),
        DType.Int32 => typeof(int),
        DType.Int64 => typeof(long),
        DType.UInt8 => typeof(byte),
        DType.Bool => typeof(bool),
        DType.String => typeof(string),
        _ => throw new ArgumentOutOfRangeException(nameof(t)),
    };

    /// <summary>The dtype stored as CLR type <typeparamref name="T"/>.</summary>
    public static DType Of<T>() => Of(typeof(T));

    /// <summary>The dtype stored as CLR type <paramref name="t"/>.</summary>
    public static DType Of(Type t) =>
        t == typeof(float) ? DType.Float32 :
        t == typeof(double) ? DType.Float64 :
        t == typeof(int) ? DType.Int32 :
        t == typeof(long) ? DType.Int64 :
        t == typeof(byte) ? DType.UInt8 :
        t == typeof(bool) ? DType.Bool :
        t == typeof(string) ? DType.String :
        throw new ArgumentException($"no GraphDl dtype stores {t.Name}");
}
