using GraphDl.Ops;

namespace GraphDl.Tests.Ops;

/// <summary>One row of the op test table: how to build the op from float64 placeholders, its inputs, an optional
/// scalar reference for the forward pass, and which inputs the gradient check perturbs.</summary>
public sealed record OpCase(string Name, OpDef Def, Func<Graph, Tensor[], Tensor> Build, NDArray[] Inputs)
{
    /// <summary>Forward reference over the flat float64 inputs; null = no forward check beyond shape.</summary>
    public Func<double[][], double[]>? Reference { get; init; }
    /// <summary>Inputs whose gradient is checked; null = every float input.</summary>
    public int[]? DiffInputs { get; init; }
    /// <summary>Absolute tolerance of the gradient check.</summary>
    public double Atol { get; init; } = 1e-6;
    /// <summary>Relative tolerance of the gradient check.</summary>
    public double Rtol { get; init; } = 1e-5;
    /// <summary>Finite-difference step.</summary>
    public double Step { get; init; } = 1e-6;
    /// <summary>True for an op with no gradient on purpose (<c>Grad = null</c>); the test asserts that.</summary>
    public bool NotDifferentiable { get; init; }

    public override string ToString() => Name;

    /// <summary>A float64 array of the given dims with values drawn from [lo, hi), fixed seed per name.</summary>
    public static NDArray Rand(int seed, double lo, double hi, params int[] dims)
    {
        var r = new Random(seed);
        int n = dims.Aggregate(1, (a, d) => a * d);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = lo + (hi - lo) * r.NextDouble();
        return NDArray.From(v, dims);
    }

    /// <summary>Values away from zero (for kinks at 0): magnitude in [0.2, 1.2), random sign.</summary>
    public static NDArray AwayFromZero(int seed, params int[] dims)
    {
        var r = new Random(seed);
        int n = dims.Aggregate(1, (a, d) => a * d);
        var v = new double[n];
        for (int i = 0; i < n; i++) v[i] = (0.2 + r.NextDouble()) * (r.Next(2) == 0 ? -1 : 1);
        return NDArray.From(v, dims);
    }

    /// <summary>A unary elementwise case with a scalar reference.</summary>
    public static OpCase Unary(OpDef def, Func<Graph, Tensor, Tensor> build, Func<double, double> reference, NDArray input) =>
        new(def.Name, def, (g, x) => build(g, x[0]), [input])
        {
            Reference = xs => xs[0].Select(reference).ToArray(),
        };

    /// <summary>A binary elementwise case with a scalar reference (inputs may broadcast).</summary>
    public static OpCase Binary(OpDef def, Func<Graph, Tensor, Tensor, Tensor> build, Func<double, double, double>? reference, NDArray a, NDArray b) =>
        new(def.Name, def, (g, x) => build(g, x[0], x[1]), [a, b])
        {
            Reference = reference == null ? null : xs => BroadcastRef(xs[0], a.Dims.ToArray(), xs[1], b.Dims.ToArray(), reference),
        };

    static double[] BroadcastRef(double[] a, int[] ad, double[] b, int[] bd, Func<double, double, double> f)
    {
        int r = Math.Max(ad.Length, bd.Length);
        var yd = new int[r];
        Broadcast.Dims(ad, bd, yd);
        int n = yd.Aggregate(1, (p, d) => p * d);
        var y = new double[n];
        var idx = new int[r];
        for (int i = 0; i < n; i++)
        {
            int rem = i;
            for (int d = r - 1; d >= 0; d--) { idx[d] = rem % yd[d]; rem /= yd[d]; }
            y[i] = f(a[CompareOps.Offset(ad, idx)], b[CompareOps.Offset(bd, idx)]);
        }
        return y;
    }
}
