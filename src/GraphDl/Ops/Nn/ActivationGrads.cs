using System.Numerics;
using System.Numerics.Tensors;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops;

/// <summary>Fused activation gradients (TF's <c>ReluGrad</c>, <c>EluGrad</c>...): inputs <c>(gradients, features)</c>
/// or <c>(gradients, outputs)</c>, same shapes. Their own gradients are built from differentiable ops.</summary>
public static class ActivationGradOps
{
    delegate void GradMap<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> f, Span<T> y);

    static OpDef GradOp(string name, GradMap<float> f32, GradMap<double> f64, GradFn grad, Type? functor = null) => new()
    {
        Name = name,
        Grad = grad,
        Functor = functor,
        Infer = c =>
        {
            SameDType(c);
            RequireFloat(c, 0);
            if (!c.Shape(0).IsCompatibleWith(c.Shape(1)))
                throw new ShapeError($"gradients and features differ in shape, {c.Shape(0)} and {c.Shape(1)}");
            return InferContext.One(c.DType(0), c.Shape(0).MergeWith(c.Shape(1)));
        },
        Cpu = c =>
        {
            var (dy, f) = (c.Input(0), c.Input(1));
            if (!dy.Dims.SequenceEqual(f.Dims))
                throw c.Error($"gradients and features differ in shape, {Shape.Format(dy.Dims)} and {Shape.Format(f.Dims)}");
            var y = c.Output(0, f.Dims);
            if (f.DType == DType.Float32) f32(dy.AsSpan<float>(), f.AsSpan<float>(), y.AsSpan<float>());
            else f64(dy.AsSpan<double>(), f.AsSpan<double>(), y.AsSpan<double>());
        },
    };

    /// <summary>A grad op whose math is an <see cref="IArith"/> functor (exposed as <see cref="OpDef.Functor"/>).</summary>
    static OpDef MaskOp<TOp>(string name, GradFn grad) where TOp : IArith =>
        GradOp(name, Arith<TOp, float>.Zip, Arith<TOp, double>.Zip, grad, typeof(TOp));

    static Tensor Zeros(GradContext c) => c.G.ZerosLike(c.X(1));

    /// <summary><c>dy · (x &gt; 0)</c>.</summary>
    public static readonly OpDef ReluGrad = MaskOp<ReluMask>("ReluGrad",
        c => [c.G.Add1(ReluGrad!, [c.Dy, c.X(1)]), null]);

    /// <summary><c>dy · (0 &lt; x &lt; 6)</c>.</summary>
    public static readonly OpDef Relu6Grad = MaskOp<Relu6Mask>("Relu6Grad",
        c => [c.G.Add1(Relu6Grad!, [c.Dy, c.X(1)]), null]);

    /// <summary><c>x &gt; 0 ? dy : alpha·dy</c> (attr <c>alpha</c>).</summary>
    public static readonly OpDef LeakyReluGrad = new()
    {
        Name = "LeakyReluGrad",
        Grad = c => [c.G.Add1(LeakyReluGrad!, [c.Dy, c.X(1)], new Attrs { ["alpha"] = c.Attrs.Float("alpha", 0.2), ["T"] = c.Dy.DType }), null],
        Infer = ReluGrad.Infer,
        Cpu = c =>
        {
            var (dy, f) = (c.Input(0), c.Input(1));
            if (!dy.Dims.SequenceEqual(f.Dims))
                throw c.Error($"gradients and features differ in shape, {Shape.Format(dy.Dims)} and {Shape.Format(f.Dims)}");
            var y = c.Output(0, f.Dims);
            double alpha = c.Attrs.Float("alpha", 0.2);
            if (f.DType == DType.Float32) Leaky(dy.AsSpan<float>(), f.AsSpan<float>(), (float)alpha, y.AsSpan<float>());
            else Leaky(dy.AsSpan<double>(), f.AsSpan<double>(), alpha, y.AsSpan<double>());
        },
    };

    /// <summary><c>y &lt; 0 ? dy·(y + 1) : dy</c> from ELU's output y.</summary>
    public static readonly OpDef EluGrad = MaskOp<EluMask>("EluGrad", c =>
    {
        var (g, dy, y, ddx) = (c.G, c.X(0), c.X(1), c.Dy);
        return [g.Add1(EluGrad!, [ddx, y]), g.Where(g.Less(y, g.Scalar(0, y.DType)), ddx * dy, Zeros(c))];
    });

    /// <summary><c>y &lt; 0 ? dy·(y + scale·alpha) : dy·scale</c> from SELU's output y.</summary>
    public static readonly OpDef SeluGrad = MaskOp<SeluMask>("SeluGrad", c =>
    {
        var (g, dy, y, ddx) = (c.G, c.X(0), c.X(1), c.Dy);
        return [g.Add1(SeluGrad!, [ddx, y]), g.Where(g.Less(y, g.Scalar(0, y.DType)), ddx * dy, Zeros(c))];
    });

    /// <summary><c>dy · sigmoid(x)</c>.</summary>
    public static readonly OpDef SoftplusGrad = GradOp("SoftplusGrad", SoftplusGradK, SoftplusGradK, c =>
    {
        var (g, dy, x, ddx) = (c.G, c.X(0), c.X(1), c.Dy);
        var s = g.Sigmoid(x);
        return [g.Add1(SoftplusGrad!, [ddx, x]), ddx * dy * s * (1 - s)];
    });

    /// <summary><c>dy / (1 + |x|)²</c>.</summary>
    public static readonly OpDef SoftsignGrad = GradOp("SoftsignGrad", SoftsignGradK, SoftsignGradK, c =>
    {
        var (g, dy, x, ddx) = (c.G, c.X(0), c.X(1), c.Dy);
        var a = 1 + g.Abs(x);
        return [g.Add1(SoftsignGrad!, [ddx, x]), ddx * dy * -2 * g.Sign(x) / (a * a * a)];
    });

    static void SoftplusGradK<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        GateMath.Sigmoid(x, y);
        TensorPrimitives.Multiply(y, dy, y);
    }

    static void SoftsignGradK<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        TensorPrimitives.Abs(x, y);
        TensorPrimitives.Add(y, T.One, y);
        TensorPrimitives.Multiply(y, y, y);
        TensorPrimitives.Divide(dy, y, y);
    }

    static void Leaky<T>(ReadOnlySpan<T> dy, ReadOnlySpan<T> f, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int i = 0, w = Vector<T>.Count;
        if (Vector.IsHardwareAccelerated)
        {
            var va = new Vector<T>(alpha);
            for (; i <= f.Length - w; i += w)
            {
                var d = new Vector<T>(dy[i..]);
                Vector.ConditionalSelect(Vector.GreaterThan(new Vector<T>(f[i..]), Vector<T>.Zero), d, d * va).CopyTo(y[i..]);
            }
        }
        for (; i < f.Length; i++) y[i] = f[i] > T.Zero ? dy[i] : dy[i] * alpha;
    }

    readonly struct ReluMask : IArith
    {
        public static T Apply<T>(T dy, T x) where T : unmanaged, INumber<T> => x > T.Zero ? dy : T.Zero;
        public static Vector<T> Apply<T>(Vector<T> dy, Vector<T> x) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero), dy, Vector<T>.Zero);
    }

    readonly struct Relu6Mask : IArith
    {
        public static T Apply<T>(T dy, T x) where T : unmanaged, INumber<T> => x > T.Zero && x < T.CreateTruncating(6) ? dy : T.Zero;
        public static Vector<T> Apply<T>(Vector<T> dy, Vector<T> x) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.GreaterThan(x, Vector<T>.Zero) & Vector.LessThan(x, new Vector<T>(T.CreateTruncating(6))), dy, Vector<T>.Zero);
    }

    readonly struct EluMask : IArith
    {
        public static T Apply<T>(T dy, T y) where T : unmanaged, INumber<T> => y < T.Zero ? dy * (y + T.One) : dy;
        public static Vector<T> Apply<T>(Vector<T> dy, Vector<T> y) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.LessThan(y, Vector<T>.Zero), dy * (y + Vector<T>.One), dy);
    }

    readonly struct SeluMask : IArith
    {
        static T Scale<T>() where T : INumber<T> => T.CreateTruncating(ActivationOps.SeluScale);
        static T ScaleAlpha<T>() where T : INumber<T> => T.CreateTruncating(ActivationOps.SeluScale * ActivationOps.SeluAlpha);
        public static T Apply<T>(T dy, T y) where T : unmanaged, INumber<T> => y < T.Zero ? dy * (y + ScaleAlpha<T>()) : dy * Scale<T>();
        public static Vector<T> Apply<T>(Vector<T> dy, Vector<T> y) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.LessThan(y, Vector<T>.Zero), dy * (y + new Vector<T>(ScaleAlpha<T>())), dy * new Vector<T>(Scale<T>()));
    }
}
