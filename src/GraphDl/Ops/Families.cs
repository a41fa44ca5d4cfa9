using System.Numerics;
using GraphDl.Runtime;

namespace GraphDl.Ops;

/// <summary>A kernel over a contiguous span.</summary>
public delegate void SpanMap<T>(ReadOnlySpan<T> x, Span<T> y);

/// <summary>Helpers that build the op rows of the common families, so an op file states only what differs.</summary>
public static class Families
{
    /// <summary>A float elementwise op <c>y = f(x)</c>: same shape and dtype as its input.</summary>
    public static OpDef Unary(string name, SpanMap<float> f32, SpanMap<double> f64, GradFn? grad)
    {
        int id32 = ElementwiseParallel.Register(f32), id64 = ElementwiseParallel.Register(f64);
        return new()
    {
        Name = name,
        Grad = grad,
        Infer = c =>
        {
            RequireFloat(c, 0);
            return InferContext.One(c.DType(0), c.Shape(0));
        },
        Cpu = c =>
        {
            var x = c.Input(0);
            var y = c.Output(0, x.Dims);
            if (x.DType == DType.Float32) ElementwiseParallel.Map(id32, x.Raw<float>(), y.Raw<float>(), x.Size, c.Pool);
            else ElementwiseParallel.Map(id64, x.Raw<double>(), y.Raw<double>(), x.Size, c.Pool);
        },
    };
    }

    /// <summary>A numeric elementwise op with broadcasting, <c>y = f(a, b)</c>.</summary>
    public static OpDef Binary<TOp>(string name, GradFn? grad) where TOp : IArith => new()
    {
        Name = name,
        Grad = grad,
        Functor = typeof(TOp),
        Infer = c =>
        {
            SameDType(c);
            if (!c.DType(0).IsNumeric()) throw new ShapeError($"needs a numeric dtype, got {c.DType(0).Name()}");
            return InferContext.One(c.DType(0), Broadcast.Shapes(c.Shape(0), c.Shape(1)));
        },
        Cpu = c =>
        {
            var (a, b, y) = BroadcastOut(c);
            switch (a.DType)
            {
                case DType.Float32:
                    if (!ElementwiseParallel.TryZip<TOp, float>(a, b, y, c.Pool)) Broadcast.Run<Arith<TOp, float>, float, float>(a, b, y);
                    break;
                case DType.Float64:
                    if (!ElementwiseParallel.TryZip<TOp, double>(a, b, y, c.Pool)) Broadcast.Run<Arith<TOp, double>, double, double>(a, b, y);
                    break;
                case DType.Int32: Broadcast.Run<Arith<TOp, int>, int, int>(a, b, y); break;
                case DType.Int64: Broadcast.Run<Arith<TOp, long>, long, long>(a, b, y); break;
                default: Broadcast.Run<Arith<TOp, byte>, byte, byte>(a, b, y); break;
            }
        },
    };

    /// <summary>Allocates the broadcast output of a binary kernel.</summary>
    public static (NDArray a, NDArray b, NDArray y) BroadcastOut(KernelContext c, DType? outType = null)
    {
        var a = c.Input(0); var b = c.Input(1);
        if (a.dims.AsSpan().SequenceEqual(b.dims)) return (a, b, c.Output(0, a.dims, outType ?? a.DType));
        Span<int> dims = stackalloc int[Math.Max(a.Rank, b.Rank)];
        if (!Broadcast.Dims(a.Dims, b.Dims, dims))
            throw c.Error($"incompatible shapes for broadcasting, {Shape.Format(a.Dims)} and {Shape.Format(b.Dims)}");
        return (a, b, c.Output(0, dims, outType ?? a.DType));
    }

    /// <summary>Throws unless input <paramref name="i"/> is float32 or float64.</summary>
    public static void RequireFloat(InferContext c, int i)
    {
        if (!c.DType(i).IsFloating()) throw new ShapeError($"needs float32 or float64, got {c.DType(i).Name()}");
    }

    /// <summary>Throws unless all inputs share one dtype.</summary>
    public static void SameDType(InferContext c)
    {
        for (int i = 1; i < c.Inputs.Length; i++)
            if (c.DType(i) != c.DType(0))
                throw new ShapeError($"dtypes differ, {c.DType(0).Name()} {c.Shape(0)} and {c.DType(i).Name()} {c.Shape(i)}");
    }

    /// <summary>Sums a gradient back to the shape of <paramref name="x"/> when the op broadcast it.</summary>
    public static Tensor ReduceTo(Tensor grad, Tensor x) => ReduceTo(grad, x, null);

    /// <summary>Sums a gradient back to the shape of <paramref name="x"/>, unless the static shapes prove that the op,
    /// whose other operands were <paramref name="others"/>, cannot have broadcast <paramref name="x"/>.</summary>
    public static Tensor ReduceTo(Tensor grad, Tensor x, IReadOnlyList<Tensor>? others)
    {
        if (x.Shape.IsFullyDefined && grad.Shape.Equals(x.Shape)) return grad;
        if (others != null && NotBroadcast(x.Shape, others)) return grad;
        return grad.Graph.SumToShape(grad, x.Graph.ShapeOf(x));
    }

    /// <summary>True if every output dim equals x's: each dim of x is a known non-1 size, or every other operand has
    /// size 1 there (or no such dim); and no other operand has more dims than x.</summary>
    static bool NotBroadcast(Shape x, IReadOnlyList<Tensor> others)
    {
        if (!x.HasRank) return false;
        foreach (var o in others)
            if (!o.Shape.HasRank || o.Shape.Rank > x.Rank) return false;
        for (int i = 0; i < x.Rank; i++)
        {
            if (x[i] > 1) continue;
            foreach (var o in others)
            {
                int j = i - (x.Rank - o.Shape.Rank);
                if (j >= 0 && o.Shape[j] != 1) return false;
            }
        }
        return true;
    }
}

/// <summary>The arithmetic operators.</summary>
public static class ArithOps
{
    /// <summary>a + b</summary>
    public readonly struct Add : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => a + b;
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> => a + b;
    }
    /// <summary>a - b</summary>
    public readonly struct Sub : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => a - b;
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> => a - b;
    }
    /// <summary>a * b</summary>
    public readonly struct Mul : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => a * b;
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> => a * b;
    }
    /// <summary>a / b</summary>
    public readonly struct Div : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => a / b;
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> => a / b;
    }
    /// <summary>max(a, b), NaN-propagating.</summary>
    public readonly struct Max : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => T.IsNaN(a) || T.IsNaN(b) ? a + b : (a > b ? a : b);
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.Equals(a, a) & Vector.Equals(b, b), Vector.ConditionalSelect(Vector.GreaterThan(a, b), a, b), a + b);
    }
    /// <summary>min(a, b), NaN-propagating.</summary>
    public readonly struct Min : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => T.IsNaN(a) || T.IsNaN(b) ? a + b : (a < b ? a : b);
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> =>
            Vector.ConditionalSelect(Vector.Equals(a, a) & Vector.Equals(b, b), Vector.ConditionalSelect(Vector.LessThan(a, b), a, b), a + b);
    }
    /// <summary>(a - b)^2</summary>
    public readonly struct SquaredDifference : IArith
    {
        /// <inheritdoc/>
        public static T Apply<T>(T a, T b) where T : unmanaged, INumber<T> => (a - b) * (a - b);
        /// <inheritdoc/>
        public static Vector<T> Apply<T>(Vector<T> a, Vector<T> b) where T : unmanaged, INumber<T> => (a - b) * (a - b);
    }
}
