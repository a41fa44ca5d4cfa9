namespace GraphDl.Train;

/// <summary>Variable initializers with TF1's semantics (fan-in/fan-out from the last two dims, conv kernels included).</summary>
public static class Initializers
{
    sealed class Fn(Func<Graph, Shape, DType, Tensor> build) : IInitializer
    {
        public Tensor Build(Graph g, Shape shape, DType dtype) => build(g, shape, dtype);
    }

    /// <summary>All zeros.</summary>
    public static IInitializer Zeros() => new Fn((g, s, t) => g.Zeros(s, t));
    /// <summary>All ones.</summary>
    public static IInitializer Ones() => new Fn((g, s, t) => g.Ones(s, t));
    /// <summary>A constant value.</summary>
    public static IInitializer Constant(double value) => new Fn((g, s, t) => g.Fill(g.Const(NDArray.From(s.Dims), "shape"), g.Scalar(value, t)));
    /// <summary>Uniform in [minval, maxval).</summary>
    public static IInitializer RandomUniform(double minval = -0.05, double maxval = 0.05, int? seed = null) =>
        new Fn((g, s, t) => g.RandomUniform(s, minval, maxval, t, seed));
    /// <summary>Normal(mean, stddev).</summary>
    public static IInitializer RandomNormal(double mean = 0, double stddev = 0.05, int? seed = null) =>
        new Fn((g, s, t) => g.RandomNormal(s, mean, stddev, t, seed));
    /// <summary>Truncated normal(mean, stddev).</summary>
    public static IInitializer TruncatedNormal(double mean = 0, double stddev = 0.05, int? seed = null) =>
        new Fn((g, s, t) => g.TruncatedNormal(s, mean, stddev, t, seed));
    /// <summary>Glorot (Xavier) uniform: limit √(6/(fan_in+fan_out)).</summary>
    public static IInitializer GlorotUniform(int? seed = null) => VarianceScaling(1, "fan_avg", uniform: true, seed);
    /// <summary>Glorot (Xavier) normal: truncated normal with stddev √(2/(fan_in+fan_out)).</summary>
    public static IInitializer GlorotNormal(int? seed = null) => VarianceScaling(1, "fan_avg", uniform: false, seed);
    /// <summary>He normal: truncated normal with stddev √(2/fan_in).</summary>
    public static IInitializer HeNormal(int? seed = null) => VarianceScaling(2, "fan_in", uniform: false, seed);
    /// <summary>He uniform: limit √(6/fan_in).</summary>
    public static IInitializer HeUniform(int? seed = null) => VarianceScaling(2, "fan_in", uniform: true, seed);

    /// <summary>TF1's <c>variance_scaling_initializer</c>; the truncated-normal form corrects the stddev by 0.8796...</summary>
    public static IInitializer VarianceScaling(double scale, string mode, bool uniform, int? seed = null) => new Fn((g, s, t) =>
    {
        var (fanIn, fanOut) = Fans(s);
        double n = mode switch { "fan_in" => fanIn, "fan_out" => fanOut, _ => (fanIn + fanOut) / 2.0 };
        double variance = scale / Math.Max(1.0, n);
        if (uniform)
        {
            double limit = Math.Sqrt(3 * variance);
            return g.RandomUniform(s, -limit, limit, t, seed);
        }
        // NOTE: 0.87962566103423978 is the stddev of a unit normal truncated to [-2, 2] (TF1 uses it too).
        return g.TruncatedNormal(s, 0, Math.Sqrt(variance) / 0.87962566103423978, t, seed);
    });

    /// <summary>fan_in and fan_out: for rank ≥ 2 the last two dims times the receptive field.</summary>
    public static (double fanIn, double fanOut) Fans(Shape s)
    {
        if (s.Rank < 1) return (1, 1);
        if (s.Rank == 1) return (s[0], s[0]);
        if (s.Rank == 2) return (s[0], s[1]);
        double receptive = 1;
        for (int i = 0; i < s.Rank - 2; i++) receptive *= s[i];
        return (s[-2] * receptive, s[-1] * receptive);
    }
}
