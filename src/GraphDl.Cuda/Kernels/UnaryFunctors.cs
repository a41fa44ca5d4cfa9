using System.Numerics;

namespace GraphDl.Cuda.Kernels;

// Scalar forms of the unary ops whose CPU kernels are span calls into System.Numerics.Tensors (UnaryOps,
// ActivationOps): the same formulas, one element at a time. p and q carry op constants.

/// <summary>-x</summary>
public readonly struct NegFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => -x; }
/// <summary>x²</summary>
public readonly struct SquareFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x * x; }
/// <summary>√x</summary>
public readonly struct SqrtFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Sqrt(x); }
/// <summary>1/√x</summary>
public readonly struct RsqrtFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.One / T.Sqrt(x); }
/// <summary>eˣ</summary>
public readonly struct ExpFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Exp(x); }
/// <summary>ln x</summary>
public readonly struct LogFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Log(x); }
/// <summary>ln(1+x), as the CPU's <c>LogP1</c></summary>
public readonly struct Log1pFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Log(x + T.One); }
/// <summary>|x|</summary>
public readonly struct AbsFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x < T.Zero ? -x : x; }
/// <summary>sign(x), NaN stays NaN</summary>
public readonly struct SignFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : T.IsNaN(x) ? x : T.Zero; }
/// <summary>1/x</summary>
public readonly struct ReciprocalFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.One / x; }
/// <summary>cos x</summary>
public readonly struct CosFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Cos(x); }
/// <summary>sin x</summary>
public readonly struct SinFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Sin(x); }
/// <summary>⌊x⌋</summary>
public readonly struct FloorFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.Floor(x); }
/// <summary>1/(1+e⁻ˣ)</summary>
public readonly struct SigmoidFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x)); }
/// <summary>tanh x</summary>
public readonly struct TanhFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => DeviceMath.Tanh(x); }
/// <summary>max(x, 0), NaN propagates</summary>
public readonly struct ReluFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x < T.Zero ? T.Zero : x; }
/// <summary>min(max(x, 0), p) with p = 6, NaN propagates</summary>
public readonly struct Relu6Fn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x < T.Zero ? T.Zero : x > p ? p : x; }
/// <summary>x &gt; 0 ? x : p·x (p = alpha)</summary>
public readonly struct LeakyReluFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? x : x * p; }
/// <summary>x &lt; 0 ? q·(eˣ-1) : p·x (ELU: p = q = 1; SELU: p = scale, q = scale·alpha)</summary>
public readonly struct EluFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x < T.Zero ? q * (T.Exp(x) - T.One) : p * x; }
/// <summary>max(x, 0) + log1p(e^-|x|), log1p(u) computed as log(w)·u/(w-1), w = 1+u, as on the CPU</summary>
public readonly struct SoftplusFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T u = T.Exp(-(x < T.Zero ? -x : x));
        T w = u + T.One, d = w - T.One;
        T l1p = d == T.Zero ? u : T.Log(w) * u / d;
        return (x > T.Zero ? x : T.Zero) + l1p;
    } }
/// <summary>x / (1 + |x|)</summary>
public readonly struct SoftsignFn : IGpuUnary { /// <inheritdoc/>
    public static T Apply<T>(T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x / (T.One + (x < T.Zero ? -x : x)); }

// Binary grads whose op-file functors use T.CreateTruncating (not compilable by ILGPU): the constants come in as p, q.

/// <summary>dy · (0 &lt; x &lt; p), p = 6</summary>
public readonly struct Relu6GradFn : IGpuBinary { /// <inheritdoc/>
    public static T Apply<T>(T dy, T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero && x < p ? dy : T.Zero; }
/// <summary>y &lt; 0 ? dy·(y + q) : dy·p (SELU: p = scale, q = scale·alpha)</summary>
public readonly struct SeluGradFn : IGpuBinary { /// <inheritdoc/>
    public static T Apply<T>(T dy, T y, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => y < T.Zero ? dy * (y + q) : dy * p; }
/// <summary>x &gt; 0 ? dy : p·dy (p = alpha)</summary>
public readonly struct LeakyReluGradFn : IGpuBinary { /// <inheritdoc/>
    public static T Apply<T>(T dy, T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => x > T.Zero ? dy : dy * p; }
/// <summary>dy · sigmoid(x)</summary>
public readonly struct SoftplusGradFn : IGpuBinary { /// <inheritdoc/>
    public static T Apply<T>(T dy, T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T> => T.One / (T.One + T.Exp(-x)) * dy; }
/// <summary>dy / (1 + |x|)²</summary>
public readonly struct SoftsignGradFn : IGpuBinary { /// <inheritdoc/>
    public static T Apply<T>(T dy, T x, T p, T q) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T a = T.One + (x < T.Zero ? -x : x);
        return dy / (a * a);
    } }
