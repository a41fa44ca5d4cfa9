using System.Runtime.InteropServices;
using Google.Protobuf;
using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>Conversions between GraphDl values (DType, Shape, NDArray) and their protobuf messages.</summary>
public static class ProtoConvert
{
    /// <summary>The protobuf <c>DataType</c> of a GraphDl dtype (same enum numbers).</summary>
    public static DataType ToProto(this DType t) => (DataType)(int)t;

    /// <summary>A <c>TensorShapeProto</c>: unknown rank sets <c>unknown_rank</c>, unknown dims are -1.</summary>
    public static TensorShapeProto ToProto(this Shape s)
    {
        var p = new TensorShapeProto();
        if (!s.HasRank) { p.UnknownRank = true; return p; }
        for (int i = 0; i < s.Rank; i++) p.Dim.Add(new TensorShapeProto.Types.Dim { Size = s[i] });
        return p;
    }

    /// <summary>A <c>TensorShapeProto</c> of fully known dims.</summary>
    public static TensorShapeProto ShapeProto(params long[] dims)
    {
        var p = new TensorShapeProto();
        foreach (long d in dims) p.Dim.Add(new TensorShapeProto.Types.Dim { Size = d });
        return p;
    }

    /// <summary>A <c>TensorProto</c> holding <paramref name="a"/>: strings in <c>string_val</c> (UTF-8), a single number in
    /// its typed <c>*_val</c> field, several numbers as little-endian <c>tensor_content</c> (as TensorFlow writes constants).</summary>
    public static TensorProto ToProto(this NDArray a)
    {
        var p = new TensorProto { Dtype = a.DType.ToProto(), TensorShape = a.Shape.ToProto() };
        if (a.DType == DType.String)
        {
            foreach (var s in a.AsSpan<string>()) p.StringVal.Add(ByteString.CopyFromUtf8(s ?? ""));
            return p;
        }
        if (a.Size == 1)
        {
            switch (a.DType)
            {
                case DType.Float32: p.FloatVal.Add(a.AsSpan<float>()[0]); break;
                case DType.Float64: p.DoubleVal.Add(a.AsSpan<double>()[0]); break;
                case DType.Int32: p.IntVal.Add(a.AsSpan<int>()[0]); break;
                case DType.UInt8: p.IntVal.Add(a.AsSpan<byte>()[0]); break;
                case DType.Int64: p.Int64Val.Add(a.AsSpan<long>()[0]); break;
                case DType.Bool: p.BoolVal.Add(a.AsSpan<bool>()[0]); break;
                default: throw new ArgumentException($"no TensorProto encoding for {a.DType.Name()}");
            }
            return p;
        }
        if (a.Size > 0) p.TensorContent = ByteString.CopyFrom(RawBytes(a));
        return p;
    }

    static byte[] RawBytes(NDArray a) => a.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(a.AsSpan<float>()).ToArray(),
        DType.Float64 => MemoryMarshal.AsBytes(a.AsSpan<double>()).ToArray(),
        DType.Int32 => MemoryMarshal.AsBytes(a.AsSpan<int>()).ToArray(),
        DType.Int64 => MemoryMarshal.AsBytes(a.AsSpan<long>()).ToArray(),
        DType.UInt8 => a.AsSpan<byte>().ToArray(),
        DType.Bool => MemoryMarshal.AsBytes(a.AsSpan<bool>()).ToArray(),
        _ => throw new ArgumentException($"no TensorProto encoding for {a.DType.Name()}"),
    };

    /// <summary>An <c>AttrValue</c> for a GraphDl attribute value (bool, integers, floats, string, DType, Shape, NDArray,
    /// arrays of those); null for values with no protobuf form.</summary>
    public static AttrValue? ToAttrValue(object value)
    {
        switch (value)
        {
            case bool b: return new AttrValue { B = b };
            case int i: return new AttrValue { I = i };
            case long l: return new AttrValue { I = l };
            case short s: return new AttrValue { I = s };
            case byte by: return new AttrValue { I = by };
            case float f: return new AttrValue { F = f };
            case double d: return new AttrValue { F = (float)d };
            case string str: return new AttrValue { S = ByteString.CopyFromUtf8(str) };
            case DType t: return new AttrValue { Type = t.ToProto() };
            case Shape sh: return new AttrValue { Shape = sh.ToProto() };
            case NDArray nd: return new AttrValue { Tensor = nd.ToProto() };
            case TensorShapeProto tsp: return new AttrValue { Shape = tsp };
            case DataType dt: return new AttrValue { Type = dt };
        }
        var list = new AttrValue.Types.ListValue();
        switch (value)
        {
            case int[] xs: foreach (var x in xs) list.I.Add(x); break;
            case long[] xs: foreach (var x in xs) list.I.Add(x); break;
            case float[] xs: list.F.Add(xs); break;
            case double[] xs: foreach (var x in xs) list.F.Add((float)x); break;
            case bool[] xs: list.B.Add(xs); break;
            case string[] xs: foreach (var x in xs) list.S.Add(ByteString.CopyFromUtf8(x)); break;
            case DType[] xs: foreach (var x in xs) list.Type.Add(x.ToProto()); break;
            case Shape[] xs: foreach (var x in xs) list.Shape.Add(x.ToProto()); break;
            case IEnumerable<int> xs: foreach (var x in xs) list.I.Add(x); break;
            case IEnumerable<long> xs: foreach (var x in xs) list.I.Add(x); break;
            default: return null;
        }
        return new AttrValue { List = list };
    }
}
