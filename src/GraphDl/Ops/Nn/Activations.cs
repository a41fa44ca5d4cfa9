using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Activation functions. Each gradient is a fused grad op (<see cref="ActivationGradOps"/>) whose own
    /// gradient is built from differentiable ops, so second derivatives work.</summary>
    public static class ActivationOps
    {
        /// <summary>SELU's scale (TF's constant).</summary>
        public const double SeluScale = 1.0507009873554804934193349852946;
        /// <summary>SELU's alpha (TF's constant).</summary>
        public const double SeluAlpha = 1.6732632423543772848170429916717;

        /// <summary><c>max(x, 0)</c>; NaN propagates; the derivative at 0 is 0.</summary>
        public static readonly OpDef Relu = Unary("Relu", ReluK, ReluK,
            c => [c.G.Add1(ActivationGradOps.ReluGrad, [c.Dy, c.Y()])]);

        /// <summary><c>min(max(x, 0), 6)</c>.</summary>
        public static readonly OpDef Relu6 = Unary("Relu6", Relu6K, Relu6K,
            c => [c.G.Add1(ActivationGradOps.Relu6Grad, [c.Dy, c.X(0)])]);

        /// <summary><c>x &gt; 0 ? x : alpha·x</c> (attr <c>alpha</c>, default 0.2).</summary>
        public static readonly OpDef LeakyRelu = new()
        {
            Name = "LeakyRelu",
            Grad = c => [c.G.Add1(ActivationGradOps.LeakyReluGrad, [c.Dy, c.X(0)], new Attrs { ["alpha"] = c.Attrs.Float("alpha", 0.2), ["T"] = c.Dy.DType })],
            Infer = c =>
            {
                RequireFloat(c, 0);
                return InferContext.One(c.DType(0), c.Shape(0));
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                var y = c.Output(0, x.Dims);
                double alpha = c.Attrs.Float("alpha", 0.2);
                if (x.DType == DType.Float32) LeakyReluK(x.AsSpan<float>(), (float)alpha, y.AsSpan<float>());
                else LeakyReluK(x.AsSpan<double>(), alpha, y.AsSpan<double>());
            },
        };

        /// <summary><c>x &lt; 0 ? eˣ - 1 : x</c>.</summary>
        public static readonly OpDef Elu = Unary("Elu", static (x, y) => EluK(x, y, 1f, 1f), static (x, y) => EluK(x, y, 1.0, 1.0),
            c => [c.G.Add1(ActivationGradOps.EluGrad, [c.Dy, c.Y()])]);

        /// <summary><c>scale·(x &lt; 0 ? alpha·(eˣ - 1) : x)</c> with TF's constants.</summary>
        public static readonly OpDef Selu = Unary("Selu",
            static (x, y) => EluK(x, y, (float)SeluScale, (float)(SeluScale * SeluAlpha)),
            static (x, y) => EluK(x, y, SeluScale, SeluScale * SeluAlpha),
            c => [c.G.Add1(ActivationGradOps.SeluGrad, [c.Dy, c.Y()])]);

        /// <summary><c>log(1 + eˣ)</c>, computed as <c>max(x, 0) + log1p(e^-|x|)</c>: stable for large |x|.</summary>
        public static readonly OpDef Softplus = Unary("Softplus", SoftplusK, SoftplusK,
            c => [c.G.Add1(ActivationGradOps.SoftplusGrad, [c.Dy, c.X(0)])]);

        /// <summary><c>x / (1 + |x|)</c>.</summary>
        public static readonly OpDef Softsign = Unary("Softsign", SoftsignK, SoftsignK,
            c => [c.G.Add1(ActivationGradOps.SoftsignGrad, [c.Dy, c.X(0)])]);

        static void ReluK<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T> =>
            TensorPrimitives.Max(x, T.Zero, y);

        static void Relu6K<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            TensorPrimitives.Max(x, T.Zero, y);
            TensorPrimitives.Min(y, T.CreateTruncating(6), y);
        }

        static void LeakyReluK<T>(ReadOnlySpan<T> x, T alpha, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                var va = new Vector<T>(alpha);
                for (; i <= x.Length - w; i += w)
                {
                    var v = new Vector<T>(x[i..]);
                    Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<T>.Zero), v, v * va).CopyTo(y[i..]);
                }
            }
            for (; i < x.Length; i++) y[i] = x[i] > T.Zero ? x[i] : x[i] * alpha;
        }

        /// <summary><c>x &lt; 0 ? negScale·(eˣ - 1) : posScale·x</c> (ELU and SELU).</summary>
        static void EluK<T>(ReadOnlySpan<T> x, Span<T> y, T posScale, T negScale) where T : unmanaged, IFloatingPointIeee754<T>
        {
            TensorPrimitives.Min(x, T.Zero, y);
            TensorPrimitives.ExpM1(y, y);
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vp = new(posScale), vn = new(negScale);
                for (; i <= x.Length - w; i += w)
                {
                    var v = new Vector<T>(x[i..]);
                    Vector.ConditionalSelect(Vector.LessThan(v, Vector<T>.Zero), vn * new Vector<T>(y[i..]), vp * v).CopyTo(y[i..]);
                }
            }
            for (; i < x.Length; i++) y[i] = x[i] < T.Zero ? negScale * y[i] : posScale * x[i];
        }

        static void SoftplusK<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (typeof(T) == typeof(float)
                && GateMath.SoftplusF(System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(x), System.Runtime.InteropServices.MemoryMarshal.Cast<T, float>(y)))
                return;
            const int Chunk = 256;
            Span<T> w = stackalloc T[Chunk], wm1 = stackalloc T[Chunk];
            for (int o = 0; o < x.Length; o += Chunk)
            {
                int n = Math.Min(Chunk, x.Length - o);
                var xs = x.Slice(o, n); var ys = y.Slice(o, n); var ws = w[..n]; var ds = wm1[..n];
                // u = e^-|x| in (0, 1]; log1p(u) = log(w)·u/(w-1) with w = 1+u (exact where w rounds to 1: log1p(u) = u).
                TensorPrimitives.Abs(xs, ys);
                TensorPrimitives.Negate(ys, ys);
                TensorPrimitives.Exp(ys, ys);
                TensorPrimitives.Add(ys, T.One, ws);
                TensorPrimitives.Subtract(ws, T.One, ds);
                TensorPrimitives.Log(ws, ws);
                // y = max(x, 0) + log1p(u); a NaN x stays NaN through u.
                int i = 0, vw = Vector<T>.Count;
                if (Vector.IsHardwareAccelerated)
                    for (; i <= n - vw; i += vw)
                    {
                        Vector<T> u = new(ys[i..]), d = new(ds[i..]), v = new(xs[i..]);
                        var l1p = Vector.ConditionalSelect(Vector.Equals(d, Vector<T>.Zero), u, new Vector<T>(ws[i..]) * u / d);
                        (Vector.ConditionalSelect(Vector.GreaterThan(v, Vector<T>.Zero), v, Vector<T>.Zero) + l1p).CopyTo(ys[i..]);
                    }
                for (; i < n; i++)
                {
                    T u = ys[i], d = ds[i];
                    T l1p = d == T.Zero ? u : ws[i] * u / d;
                    ys[i] = (xs[i] > T.Zero ? xs[i] : T.Zero) + l1p;
                }
            }
        }

        static void SoftsignK<T>(ReadOnlySpan<T> x, Span<T> y) where T : unmanaged, IFloatingPointIeee754<T>
        {
            TensorPrimitives.Abs(x, y);
            TensorPrimitives.Add(y, T.One, y);
            TensorPrimitives.Divide(x, y, y);
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for activation functions (TF1's <c>tf.nn.relu</c> and friends).</summary>
    public static class ActivationBuilders
    {
        /// <summary><c>max(x, 0)</c>.</summary>
        public static Tensor Relu(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Relu, [x], null, name);
        /// <summary><c>min(max(x, 0), 6)</c>.</summary>
        public static Tensor Relu6(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Relu6, [x], null, name);
        /// <summary><c>x &gt; 0 ? x : alpha·x</c>.</summary>
        public static Tensor LeakyRelu(this Graph g, Tensor x, double alpha = 0.2, string? name = null) =>
            g.Add1(ActivationOps.LeakyRelu, [x], new Attrs { ["alpha"] = alpha, ["T"] = x.DType }, name);
        /// <summary>Exponential linear unit.</summary>
        public static Tensor Elu(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Elu, [x], null, name);
        /// <summary>Scaled exponential linear unit.</summary>
        public static Tensor Selu(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Selu, [x], null, name);
        /// <summary><c>log(1 + eˣ)</c>, stable for large |x|.</summary>
        public static Tensor Softplus(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Softplus, [x], null, name);
        /// <summary><c>x / (1 + |x|)</c>.</summary>
        public static Tensor Softsign(this Graph g, Tensor x, string? name = null) => g.Add1(ActivationOps.Softsign, [x], null, name);
    }
}
