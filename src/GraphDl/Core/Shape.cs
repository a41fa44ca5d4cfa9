namespace GraphDl;

/// <summary>A static shape: a list of dimensions where -1 is unknown, or an unknown rank.</summary>
public sealed class Shape : IEquatable<Shape>
{
    readonly int[]? dims;

    /// <summary>Creates a shape of known rank; -1 marks an unknown dimension.</summary>
    public Shape(params int[] dims)
    {
        foreach (var d in dims)
            if (d < -1) throw new ArgumentException($"dimension {d} is negative");
        this.dims = (int[])dims.Clone();
    }

    Shape(int[]? dims, bool _) => this.dims = dims;

    /// <summary>A shape of unknown rank.</summary>
    public static readonly Shape Unknown = new(null, false);

    /// <summary>The rank-0 shape.</summary>
    public static readonly Shape Scalar = new([], false);

    /// <summary>Creates a shape of known rank.</summary>
    public static Shape Of(params int[] dims) => new(dims);

    /// <summary>A rank-<paramref name="rank"/> shape with every dimension unknown.</summary>
    public static Shape UnknownOfRank(int rank) => new(Enumerable.Repeat(-1, rank).ToArray(), false);

    /// <summary>Rank, or -1 when unknown.</summary>
    public int Rank => dims?.Length ?? -1;

    /// <summary>True when the rank is known.</summary>
    public bool HasRank => dims != null;

    /// <summary>Dimension <paramref name="i"/> (negative counts from the end); -1 if unknown.</summary>
    public int this[int i] => dims == null ? -1 : dims[i < 0 ? dims.Length + i : i];

    /// <summary>The dimensions (a copy); empty for unknown rank.</summary>
    public int[] Dims => dims == null ? [] : (int[])dims.Clone();

    internal ReadOnlySpan<int> Span => dims;

    /// <summary>True when the rank and every dimension are known.</summary>
    public bool IsFullyDefined => dims != null && Array.TrueForAll(dims, d => d >= 0);

    /// <summary>Number of elements, or -1 when not fully defined.</summary>
    public long NumElements
    {
        get
        {
            if (!IsFullyDefined) return -1;
            long n = 1;
            foreach (var d in dims!) n *= d;
            return n;
        }
    }

    /// <summary>True if some fully defined shape could match both.</summary>
    public bool IsCompatibleWith(Shape other)
    {
        if (dims == null || other.dims == null) return true;
        if (dims.Length != other.dims.Length) return false;
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] >= 0 && other.dims[i] >= 0 && dims[i] != other.dims[i]) return false;
        return true;
    }

    /// <summary>True if the concrete dimensions <paramref name="actual"/> fit this shape.</summary>
    public bool Accepts(ReadOnlySpan<int> actual)
    {
        if (dims == null) return true;
        if (dims.Length != actual.Length) return false;
        for (int i = 0; i < dims.Length; i++)
            if (dims[i] >= 0 && dims[i] != actual[i]) return false;
        return true;
    }

    /// <summary>The most specific shape compatible with both; throws if incompatible.</summary>
    public Shape MergeWith(Shape other)
    {
        if (dims == null) return other;
        if (other.dims == null) return this;
        if (!IsCompatibleWith(other)) throw new ShapeError($"shapes {this} and {other} are incompatible");
        var r = new int[dims.Length];
        for (int i = 0; i < r.Length; i++) r[i] = dims[i] >= 0 ? dims[i] : other.dims[i];
        return new Shape(r, false);
    }

    /// <summary>Formats as <c>[?,3]</c>, or <c>&lt;unknown&gt;</c>.</summary>
    public override string ToString() =>
        dims == null ? "<unknown>" : "[" + string.Join(",", dims.Select(d => d < 0 ? "?" : d.ToString())) + "]";

    /// <summary>Formats concrete dimensions like a shape.</summary>
    public static string Format(ReadOnlySpan<int> dims)
    {
        var sb = new System.Text.StringBuilder("[");
        for (int i = 0; i < dims.Length; i++) { if (i > 0) sb.Append(','); sb.Append(dims[i]); }
        return sb.Append(']').ToString();
    }

    /// <summary>Structural equality (unknown dims equal unknown dims).</summary>
    public bool Equals(Shape? other) =>
        other != null && (dims == null ? other.dims == null : other.dims != null && dims.AsSpan().SequenceEqual(other.dims));

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Shape s && Equals(s);

    /// <inheritdoc/>
    public override int GetHashCode()
    {
        if (dims == null) return -1;
        var h = new HashCode();
        foreach (var d in dims) h.Add(d);
        return h.ToHashCode();
    }

    /// <summary>Converts dimensions to a shape.</summary>
    public static implicit operator Shape(int[] dims) => new(dims);
}
