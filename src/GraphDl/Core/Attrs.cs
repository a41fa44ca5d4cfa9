namespace GraphDl;

/// <summary>Node attributes by TensorFlow attr name (<c>transpose_b</c>, <c>keep_dims</c>).</summary>
public sealed class Attrs : Dictionary<string, object>
{
    /// <summary>A bool attr, or the default.</summary>
    public bool Bool(string name, bool dflt = false) => TryGetValue(name, out var v) ? (bool)v : dflt;
    /// <summary>An int attr, or the default.</summary>
    public int Int(string name, int dflt = 0) => TryGetValue(name, out var v) ? Convert.ToInt32(v) : dflt;
    /// <summary>A long attr, or the default.</summary>
    public long Long(string name, long dflt = 0) => TryGetValue(name, out var v) ? Convert.ToInt64(v) : dflt;
    /// <summary>A float attr, or the default.</summary>
    public double Float(string name, double dflt = 0) => TryGetValue(name, out var v) ? Convert.ToDouble(v) : dflt;
    /// <summary>A string attr, or the default.</summary>
    public string? String(string name, string? dflt = null) => TryGetValue(name, out var v) ? (string)v : dflt;
    /// <summary>An int-list attr.</summary>
    public int[] Ints(string name) => TryGetValue(name, out var v) ? (int[])v : [];
    /// <summary>A dtype attr.</summary>
    public DType DType(string name) => (DType)this[name];
    /// <summary>A shape attr.</summary>
    public Shape Shape(string name) => TryGetValue(name, out var v) ? (Shape)v : GraphDl.Shape.Unknown;
    /// <summary>A tensor-value attr.</summary>
    public NDArray Value(string name) => (NDArray)this[name];
}
