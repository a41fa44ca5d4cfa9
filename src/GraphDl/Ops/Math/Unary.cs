using System.Numerics.Tensors;
using GraphDl.Ops;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Elementwise float functions. Each gradient is built from differentiable ops, so second derivatives work.</summary>
    public static class UnaryOps
    {
        /// <summary><c>-x</c></summary>
        public static readonly OpDef Neg = new()
        {
            Name = "Neg", Grad = c => [c.G.Neg(c.Dy)],
            Infer = c => InferContext.One(c.DType(0), c.Shape(0)),
            Cpu = c =>
            {
                var x = c.Input(0); var y = c.Output(0, x.Dims);
                switch (x.DType)
                {
                    case DType.Float32: TensorPrimitives.Negate(x.AsSpan<float>(), y.AsSpan<float>()); break;
                    case DType.Float64: TensorPrimitives.Negate(x.AsSpan<double>(), y.AsSpan<double>()); break;
                    case DType.Int32: TensorPrimitives.Negate(x.AsSpan<int>(), y.AsSpan<int>()); break;
                    case DType.Int64: TensorPrimitives.Negate(x.AsSpan<long>(), y.AsSpan<long>()); break;
                    default: throw c.Error($"Neg of {x.DType.Name()}");
                }
            },
        };

        /// <summary><c>x²</c></summary>
        public static readonly OpDef Square = Unary("Square",
            static (x, y) => TensorPrimitives.Multiply(x, x, y), static (x, y) => TensorPrimitives.Multiply(x, x, y),
            c => [c.Dy * (c.G.Scalar(2, c.Dy.DType) * c.X(0))]);

        /// <summary><c>√x</c></summary>
        public static readonly OpDef Sqrt = Unary("Sqrt", TensorPrimitives.Sqrt, TensorPrimitives.Sqrt,
            c => [c.Dy * (c.G.Scalar(0.5, c.Dy.DType) / c.Y())]);

        /// <summary><c>1/√x</c></summary>
        public static readonly OpDef Rsqrt = Unary("Rsqrt",
            static (x, y) => { TensorPrimitives.Sqrt(x, y); TensorPrimitives.Reciprocal(y, y); },
            static (x, y) => { TensorPrimitives.Sqrt(x, y); TensorPrimitives.Reciprocal(y, y); },
            c => [c.Dy * (c.G.Scalar(-0.5, c.Dy.DType) * c.Y() * c.Y() * c.Y())]);

        /// <summary><c>eˣ</c></summary>
        public static readonly OpDef Exp = Unary("Exp", TensorPrimitives.Exp, TensorPrimitives.Exp, c => [c.Dy * c.Y()]);

        /// <summary><c>ln x</c></summary>
        public static readonly OpDef Log = Unary("Log", TensorPrimitives.Log, TensorPrimitives.Log, c => [c.Dy / c.X(0)]);

        /// <summary><c>ln(1 + x)</c>, accurate near 0.</summary>
        public static readonly OpDef Log1p = Unary("Log1p",
            static (x, y) => { for (int i = 0; i < x.Length; i++) y[i] = float.LogP1(x[i]); },
            static (x, y) => { for (int i = 0; i < x.Length; i++) y[i] = double.LogP1(x[i]); },
            c => [c.Dy / (c.X(0) + 1)]);

        /// <summary><c>|x|</c>; gradient <c>sign(x)</c> (0 at 0).</summary>
        public static readonly OpDef Abs = Unary("Abs", TensorPrimitives.Abs, TensorPrimitives.Abs, c => [c.Dy * c.G.Sign(c.X(0))]);

        /// <summary><c>sign(x)</c> in {-1, 0, 1}; NaN stays NaN.</summary>
        public static readonly OpDef Sign = Unary("Sign",
            static (x, y) => { for (int i = 0; i < x.Length; i++) y[i] = float.IsNaN(x[i]) ? x[i] : MathF.Sign(x[i]); },
            static (x, y) => { for (int i = 0; i < x.Length; i++) y[i] = double.IsNaN(x[i]) ? x[i] : Math.Sign(x[i]); },
            grad: null);

        /// <summary><c>1/x</c></summary>
        public static readonly OpDef Reciprocal = Unary("Reciprocal", TensorPrimitives.Reciprocal, TensorPrimitives.Reciprocal,
            c => [c.G.Neg(c.Dy) * c.Y() * c.Y()]);

        /// <summary><c>cos x</c></summary>
        public static readonly OpDef Cos = Unary("Cos", TensorPrimitives.Cos, TensorPrimitives.Cos, c => [c.G.Neg(c.Dy * c.G.Sin(c.X(0)))]);

        /// <summary><c>sin x</c></summary>
        public static readonly OpDef Sin = Unary("Sin", TensorPrimitives.Sin, TensorPrimitives.Sin, c => [c.Dy * c.G.Cos(c.X(0))]);

        /// <summary><c>⌊x⌋</c>; piecewise constant, so not differentiable (TF registers no gradient either).</summary>
        public static readonly OpDef Floor = Unary("Floor", TensorPrimitives.Floor, TensorPrimitives.Floor, grad: null);

        /// <summary><c>1/(1+e⁻ˣ)</c></summary>
        public static readonly OpDef Sigmoid = Unary("Sigmoid", TensorPrimitives.Sigmoid, TensorPrimitives.Sigmoid,
            c => [c.G.Add1(SigmoidGrad!, [c.Y(), c.Dy])]);

        /// <summary><c>tanh x</c></summary>
        public static readonly OpDef Tanh = Unary("Tanh", TensorPrimitives.Tanh, TensorPrimitives.Tanh,
            c => [c.G.Add1(TanhGrad!, [c.Y(), c.Dy])]);

        /// <summary><c>dy·y·(1-y)</c> from the sigmoid's output y (TF's SigmoidGrad).</summary>
        public static readonly OpDef SigmoidGrad = Binary<SigmoidGradOp>("SigmoidGrad", c =>
        {
            // y' = dy*y*(1-y): d/dy = dy*(1-2y), d/d(dy) = y*(1-y)
            var (y, dy, ddx) = (c.X(0), c.X(1), c.Dy);
            return [ddx * dy * (1 - 2 * y), ddx * y * (1 - y)];
        });

        /// <summary><c>dy·(1-y²)</c> from tanh's output y (TF's TanhGrad).</summary>
        public static readonly OpDef TanhGrad = Binary<TanhGradOp>("TanhGrad", c =>
        {
            var (y, dy, ddx) = (c.X(0), c.X(1), c.Dy);
            return [ddx * dy * (-2 * y), ddx * (1 - y * y)];
        });

        readonly struct SigmoidGradOp : IArith
        {
            public static T Apply<T>(T y, T dy) where T : unmanaged, System.Numerics.INumber<T> => dy * y * (T.One - y);
            public static System.Numerics.Vector<T> Apply<T>(System.Numerics.Vector<T> y, System.Numerics.Vector<T> dy) where T : unmanaged, System.Numerics.INumber<T> =>
                dy * y * (System.Numerics.Vector<T>.One - y);
        }

        readonly struct TanhGradOp : IArith
        {
            public static T Apply<T>(T y, T dy) where T : unmanaged, System.Numerics.INumber<T> => dy * (T.One - y * y);
            public static System.Numerics.Vector<T> Apply<T>(System.Numerics.Vector<T> y, System.Numerics.Vector<T> dy) where T : unmanaged, System.Numerics.INumber<T> =>
                dy * (System.Numerics.Vector<T>.One - y * y);
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for elementwise math.</summary>
    public static class UnaryBuilders
    {
        /// <summary><c>-x</c></summary>
        public static Tensor Neg(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Neg, [x], null, name);
        /// <summary><c>x²</c></summary>
        public static Tensor Square(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Square, [x], null, name);
        /// <summary><c>√x</c></summary>
        public static Tensor Sqrt(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Sqrt, [x], null, name);
        /// <summary><c>1/√x</c></summary>
        public static Tensor Rsqrt(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Rsqrt, [x], null, name);
        /// <summary><c>eˣ</c></summary>
        public static Tensor Exp(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Exp, [x], null, name);
        /// <summary><c>ln x</c></summary>
        public static Tensor Log(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Log, [x], null, name);
        /// <summary><c>ln(1+x)</c></summary>
        public static Tensor Log1p(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Log1p, [x], null, name);
        /// <summary><c>|x|</c></summary>
        public static Tensor Abs(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Abs, [x], null, name);
        /// <summary><c>sign(x)</c></summary>
        public static Tensor Sign(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Sign, [x], null, name);
        /// <summary><c>1/x</c></summary>
        public static Tensor Reciprocal(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Reciprocal, [x], null, name);
        /// <summary><c>cos x</c></summary>
        public static Tensor Cos(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Cos, [x], null, name);
        /// <summary><c>sin x</c></summary>
        public static Tensor Sin(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Sin, [x], null, name);
        /// <summary><c>⌊x⌋</c></summary>
        public static Tensor Floor(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Floor, [x], null, name);
        /// <summary>Logistic sigmoid.</summary>
        public static Tensor Sigmoid(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Sigmoid, [x], null, name);
        /// <summary>Hyperbolic tangent.</summary>
        public static Tensor Tanh(this Graph g, Tensor x, string? name = null) => g.Add1(UnaryOps.Tanh, [x], null, name);
    }
}
