namespace GraphDl.Ops;

/// <summary>Values known while the graph is built: constants, and shapes that are fully defined.</summary>
internal static class ConstantFolding
{
    public static NDArray? TryGetValue(Tensor t)
    {
        switch (t.Op.Type)
        {
            case "Const": return t.Op.Attrs.Value("value");
            case "Shape" when t.Op.Inputs[0].Shape.IsFullyDefined:
                return NDArray.From(t.Op.Inputs[0].Shape.Dims);
            case "Identity": return TryGetValue(t.Op.Inputs[0]);
            default: return null;
        }
    }

    /// <summary>An int vector input known at build time (axes, shapes), else null.</summary>
    public static int[]? Ints(Tensor t) => Ints(TryGetValue(t));

    /// <summary>An int vector value as ints, else null (null or not an integer dtype).</summary>
    public static int[]? Ints(NDArray? v)
    {
        if (v == null) return null;
        return v.DType switch
        {
            DType.Int32 => v.ToArray<int>(),
            DType.Int64 => v.ToArray<long>().Select(x => checked((int)x)).ToArray(),
            _ => null,
        };
    }

    /// <summary>The shape an int vector tensor describes, as far as it is known at build time (TF's
    /// <c>constant_value_as_shape</c>): a constant, the shape of a tensor (partially known), or a vector of unknown dims.</summary>
    public static Shape AsShape(Tensor t)
    {
        var known = Ints(t);
        if (known != null) return new Shape(known);
        if (t.Op.Type == "Shape") return t.Op.Inputs[0].Shape;
        return t.Shape.Rank == 1 && t.Shape[0] >= 0 ? Shape.UnknownOfRank(t.Shape[0]) : Shape.Unknown;
    }
}
