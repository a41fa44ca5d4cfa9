using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary><c>x^y</c> with broadcasting (TF's <c>Pow</c>).</summary>
    public static class PowOps
    {
        /// <summary><c>x^y</c> elementwise; float32/float64 (differentiable) and int32/int64 (non-negative exponents).</summary>
        public static readonly OpDef Pow = new()
        {
            Name = "Pow",
            Grad = c =>
            {
                // dx = dy·y·x^(y-1); dy = dy·z·log(x) where x > 0, else 0 (log taken of a safe value so that
                // second derivatives stay finite where x <= 0).
                var g = c.G;
                var (x, y, z, dy) = (c.X(0), c.X(1), c.Y(), c.Dy);
                var gx = dy * y * g.Pow(x, y - 1);
                var pos = g.Greater(x, g.Scalar(0, x.DType));
                var safe = g.Where(pos, x, g.OnesLike(x));
                var logx = g.Where(pos, g.Log(safe), g.ZerosLike(x));
                var gy = dy * z * logx;
                return [c.ReduceTo(gx, 0), c.ReduceTo(gy, 1)];
            },
            Infer = c =>
            {
                SameDType(c);
                if (c.DType(0) is not (DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64))
                    throw new ShapeError($"needs float32, float64, int32 or int64, got {c.DType(0).Name()}");
                return InferContext.One(c.DType(0), Broadcast.Shapes(c.Shape(0), c.Shape(1)));
            },
            Cpu = c =>
            {
                var (a, b, y) = BroadcastOut(c);
                try
                {
                    switch (a.DType)
                    {
                        case DType.Float32: Broadcast.Run<FloatPow<float>, float, float>(a, b, y); break;
                        case DType.Float64: Broadcast.Run<FloatPow<double>, double, double>(a, b, y); break;
                        case DType.Int32: Broadcast.Run<IntPow<int>, int, int>(a, b, y); break;
                        case DType.Int64: Broadcast.Run<IntPow<long>, long, long>(a, b, y); break;
                        default: throw c.Error($"Pow of {a.DType.Name()}");
                    }
                }
                catch (ArgumentOutOfRangeException e) { throw c.Error(e.Message.Split(" (Parameter")[0]); }
            },
        };

        readonly struct FloatPow<T> : IZip<T, T> where T : IPowerFunctions<T>
        {
            public static void Zip(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Pow(a, b, y);
            public static void ScalarA(T a, ReadOnlySpan<T> b, Span<T> y) => TensorPrimitives.Pow(a, b, y);
            public static void ScalarB(ReadOnlySpan<T> a, T b, Span<T> y)
            {
                // Squares (the common case) get the exact, cheaper form.
                if (b == T.One + T.One) TensorPrimitives.Multiply(a, a, y);
                else TensorPrimitives.Pow(a, b, y);
            }
        }

        readonly struct IntPow<T> : IZip<T, T> where T : IBinaryInteger<T>
        {
            static T P(T x, T e)
            {
                if (T.IsNegative(e)) throw new ArgumentOutOfRangeException(nameof(e), "Integers to negative integer powers are not allowed");
                T r = T.One;
                while (e != T.Zero)
                {
                    if (T.IsOddInteger(e)) r *= x;
                    e >>= 1;
                    if (e != T.Zero) x *= x;
                }
                return r;
            }

            public static void Zip(ReadOnlySpan<T> a, ReadOnlySpan<T> b, Span<T> y) { for (int i = 0; i < y.Length; i++) y[i] = P(a[i], b[i]); }
            public static void ScalarA(T a, ReadOnlySpan<T> b, Span<T> y) { for (int i = 0; i < y.Length; i++) y[i] = P(a, b[i]); }
            public static void ScalarB(ReadOnlySpan<T> a, T b, Span<T> y) { for (int i = 0; i < y.Length; i++) y[i] = P(a[i], b); }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for powers.</summary>
    public static class PowBuilders
    {
        /// <summary><c>x^y</c> elementwise with broadcasting (TF's <c>tf.pow</c>).</summary>
        public static Tensor Pow(this Graph g, Tensor x, Tensor y, string? name = null) => g.Add1(PowOps.Pow, [x, y], null, name);

        /// <summary><c>x^y</c> for a constant exponent of x's dtype.</summary>
        public static Tensor Pow(this Graph g, Tensor x, double y, string? name = null) => g.Pow(x, g.Scalar(y, x.DType, "y"), name);
    }
}
