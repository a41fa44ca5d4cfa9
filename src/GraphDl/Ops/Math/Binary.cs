using GraphDl.Ops;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Broadcasting binary arithmetic. Gradients are summed back to each input's shape.</summary>
    public static class BinaryOps
    {
        /// <summary><c>a + b</c></summary>
        public static readonly OpDef Add = Binary<ArithOps.Add>("Add",
            c => [c.ReduceTo(c.Dy, 0), c.ReduceTo(c.Dy, 1)]);

        /// <summary><c>a - b</c></summary>
        public static readonly OpDef Sub = Binary<ArithOps.Sub>("Sub",
            c => [c.ReduceTo(c.Dy, 0), c.ReduceTo(c.G.Neg(c.Dy), 1)]);

        /// <summary><c>a * b</c></summary>
        public static readonly OpDef Mul = Binary<ArithOps.Mul>("Mul",
            c => [c.ReduceTo(c.Dy * c.X(1), 0), c.ReduceTo(c.X(0) * c.Dy, 1)]);

        /// <summary><c>a / b</c> (true division).</summary>
        public static readonly OpDef RealDiv = Binary<ArithOps.Div>("RealDiv",
            c => [c.ReduceTo(c.Dy / c.X(1), 0), c.ReduceTo(c.G.Neg(c.Dy) * c.X(0) / c.G.Square(c.X(1)), 1)]);

        /// <summary><c>max(a, b)</c>; the gradient goes to <c>a</c> where <c>a &gt;= b</c>.</summary>
        public static readonly OpDef Maximum = Binary<ArithOps.Max>("Maximum", c => SelectGrad(c, c.G.GreaterEqual(c.X(0), c.X(1))));

        /// <summary><c>min(a, b)</c>; the gradient goes to <c>a</c> where <c>a &lt;= b</c>.</summary>
        public static readonly OpDef Minimum = Binary<ArithOps.Min>("Minimum", c => SelectGrad(c, c.G.LessEqual(c.X(0), c.X(1))));

        /// <summary><c>(a - b)^2</c></summary>
        public static readonly OpDef SquaredDifference = Binary<ArithOps.SquaredDifference>("SquaredDifference", c =>
        {
            var d = c.G.Scalar(2, c.Dy.DType) * c.Dy * (c.X(0) - c.X(1));
            return [c.ReduceTo(d, 0), c.ReduceTo(c.G.Neg(d), 1)];
        });

        static Tensor?[] SelectGrad(GradContext c, Tensor pickA)
        {
            var zeros = c.G.ZerosLike(c.Dy);
            return [c.ReduceTo(c.G.Where(pickA, c.Dy, zeros), 0), c.ReduceTo(c.G.Where(pickA, zeros, c.Dy), 1)];
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for binary arithmetic.</summary>
    public static class BinaryBuilders
    {
        /// <summary><c>a + b</c> with broadcasting.</summary>
        public static Tensor Add(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.Add, [a, b], null, name);
        /// <summary><c>a - b</c> with broadcasting.</summary>
        public static Tensor Sub(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.Sub, [a, b], null, name);
        /// <summary><c>a * b</c> with broadcasting.</summary>
        public static Tensor Mul(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.Mul, [a, b], null, name);
        /// <summary><c>a / b</c> with broadcasting.</summary>
        public static Tensor Div(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.RealDiv, [a, b], null, name);
        /// <summary>Elementwise maximum.</summary>
        public static Tensor Maximum(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.Maximum, [a, b], null, name);
        /// <summary>Elementwise minimum.</summary>
        public static Tensor Minimum(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.Minimum, [a, b], null, name);
        /// <summary><c>(a - b)^2</c>.</summary>
        public static Tensor SquaredDifference(this Graph g, Tensor a, Tensor b, string? name = null) => g.Add1(BinaryOps.SquaredDifference, [a, b], null, name);
    }

    public sealed partial class Tensor
    {
        Tensor Lift(double v) => Graph.Scalar(v, DType);

        /// <summary><c>a + b</c></summary>
        public static Tensor operator +(Tensor a, Tensor b) => a.Graph.Add(a, b);
        /// <summary><c>a - b</c></summary>
        public static Tensor operator -(Tensor a, Tensor b) => a.Graph.Sub(a, b);
        /// <summary><c>a * b</c></summary>
        public static Tensor operator *(Tensor a, Tensor b) => a.Graph.Mul(a, b);
        /// <summary><c>a / b</c></summary>
        public static Tensor operator /(Tensor a, Tensor b) => a.Graph.Div(a, b);
        /// <summary><c>-a</c></summary>
        public static Tensor operator -(Tensor a) => a.Graph.Neg(a);
        /// <summary><c>a + s</c> (s in a's dtype)</summary>
        public static Tensor operator +(Tensor a, double s) => a + a.Lift(s);
        /// <summary><c>s + a</c></summary>
        public static Tensor operator +(double s, Tensor a) => a.Lift(s) + a;
        /// <summary><c>a - s</c></summary>
        public static Tensor operator -(Tensor a, double s) => a - a.Lift(s);
        /// <summary><c>s - a</c></summary>
        public static Tensor operator -(double s, Tensor a) => a.Lift(s) - a;
        /// <summary><c>a * s</c></summary>
        public static Tensor operator *(Tensor a, double s) => a * a.Lift(s);
        /// <summary><c>s * a</c></summary>
        public static Tensor operator *(double s, Tensor a) => a.Lift(s) * a;
        /// <summary><c>a / s</c></summary>
        public static Tensor operator /(Tensor a, double s) => a / a.Lift(s);
        /// <summary><c>s / a</c></summary>
        public static Tensor operator /(double s, Tensor a) => a.Lift(s) / a;
    }
}
