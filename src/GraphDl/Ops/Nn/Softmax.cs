using System.Numerics;
using System.Numerics.Tensors;
using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.Families;

namespace GraphDl.Ops
{
    /// <summary>Softmax and log-softmax along an axis (the last one unless the internal attr <c>_axis</c> says otherwise),
    /// computed stably by subtracting the maximum.</summary>
    public static class SoftmaxOps
    {
        /// <summary><c>exp(x - max) / sum(exp(x - max))</c> along the axis (TF's <c>Softmax</c>).</summary>
        public static readonly OpDef Softmax = Def("Softmax", log: false, c =>
        {
            // dx = (dy - sum(dy·y)) · y
            var (g, y, dy) = (c.G, c.Y(), c.Dy);
            return [(dy - g.Sum(dy * y, [Axis(c.Op)], keepDims: true)) * y];
        });

        /// <summary><c>x - max - log(sum(exp(x - max)))</c> along the axis (TF's <c>LogSoftmax</c>).</summary>
        public static readonly OpDef LogSoftmax = Def("LogSoftmax", log: true, c =>
        {
            // dx = dy - sum(dy) · exp(y)
            var (g, y, dy) = (c.G, c.Y(), c.Dy);
            return [dy - g.Sum(dy, [Axis(c.Op)], keepDims: true) * g.Exp(y)];
        });

        internal static int Axis(Operation op) => op.Attrs.Int("_axis", -1);

        static OpDef Def(string name, bool log, GradFn grad) => new()
        {
            Name = name,
            Grad = grad,
            Infer = c =>
            {
                RequireFloat(c, 0);
                var s = c.Shape(0);
                if (s.HasRank)
                {
                    if (s.Rank < 1) throw new ShapeError($"logits must have rank >= 1, got {s}");
                    int a = c.Attrs.Int("_axis", -1);
                    if (a < -s.Rank || a >= s.Rank) throw new ShapeError($"axis {a} is out of range for logits of shape {s}");
                }
                return InferContext.One(c.DType(0), s);
            },
            Cpu = c =>
            {
                var x = c.Input(0);
                if (x.Rank < 1) throw c.Error($"logits must have rank >= 1, got {Shape.Format(x.Dims)}");
                int a = c.Attrs.Int("_axis", -1);
                if (a < 0) a += x.Rank;
                if (a < 0 || a >= x.Rank) throw c.Error($"axis {c.Attrs.Int("_axis", -1)} is out of range for logits of shape {Shape.Format(x.Dims)}");
                var (outer, n, inner) = Split(x.Dims, a);
                var y = c.Output(0, x.Dims);
                if (x.DType == DType.Float32) Run(x.AsSpan<float>(), y.AsSpan<float>(), outer, n, inner, log);
                else Run(x.AsSpan<double>(), y.AsSpan<double>(), outer, n, inner, log);
            },
        };

        internal static (int outer, int n, int inner) Split(ReadOnlySpan<int> dims, int axis)
        {
            int outer = 1, inner = 1;
            for (int i = 0; i < axis; i++) outer *= dims[i];
            for (int i = axis + 1; i < dims.Length; i++) inner *= dims[i];
            return (outer, dims[axis], inner);
        }

        static void Run<T>(ReadOnlySpan<T> x, Span<T> y, int outer, int n, int inner, bool log) where T : unmanaged, IFloatingPointIeee754<T>
        {
            if (n == 0) return;
            if (inner == 1)
            {
                for (int r = 0; r < outer; r++) Row(x.Slice(r * n, n), y.Slice(r * n, n), log);
                return;
            }
            // Softmax over a non-last axis: strided columns.
            for (int o = 0; o < outer; o++)
                for (int k = 0; k < inner; k++)
                {
                    int b = o * n * inner + k;
                    T m = x[b];
                    for (int j = 1; j < n; j++) m = Max(m, x[b + j * inner]);
                    T s = T.Zero;
                    for (int j = 0; j < n; j++) s += y[b + j * inner] = T.Exp(x[b + j * inner] - m);
                    if (log)
                    {
                        T ls = T.Log(s);
                        for (int j = 0; j < n; j++) y[b + j * inner] = x[b + j * inner] - m - ls;
                    }
                    else
                        for (int j = 0; j < n; j++) y[b + j * inner] /= s;
                }
        }

        /// <summary>NaN-propagating maximum.</summary>
        static T Max<T>(T a, T b) where T : IFloatingPointIeee754<T> => T.IsNaN(a) || T.IsNaN(b) ? a + b : a > b ? a : b;

        /// <summary>Softmax (or log-softmax) of one contiguous row.</summary>
        internal static void Row<T>(ReadOnlySpan<T> x, Span<T> y, bool log) where T : unmanaged, IFloatingPointIeee754<T>
        {
            T m = TensorPrimitives.Max(x);
            TensorPrimitives.Subtract(x, m, y);
            TensorPrimitives.Exp(y, y);
            T s = TensorPrimitives.Sum<T>(y);
            if (log)
            {
                TensorPrimitives.Subtract(x, m, y);
                TensorPrimitives.Subtract(y, T.Log(s), y);
            }
            else TensorPrimitives.Divide(y, s, y);
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for softmax and log-softmax.</summary>
    public static class SoftmaxBuilders
    {
        static Tensor Build(Graph g, OpDef def, Tensor logits, int axis, string? name)
        {
            var attrs = new Attrs { ["T"] = logits.DType };
            // TF's op always works on the last axis; another axis is an internal attr ('_' attrs are ignored by TF).
            int rank = logits.Shape.Rank;
            if (!(axis == -1 || (rank > 0 && axis == rank - 1))) attrs["_axis"] = axis;
            return g.Add1(def, [logits], attrs, name);
        }

        /// <summary>Softmax along <paramref name="axis"/> (default the last), stable for large logits.</summary>
        public static Tensor Softmax(this Graph g, Tensor logits, int axis = -1, string? name = null) => Build(g, SoftmaxOps.Softmax, logits, axis, name);

        /// <summary>Log-softmax along <paramref name="axis"/> (default the last), stable for large logits.</summary>
        public static Tensor LogSoftmax(this Graph g, Tensor logits, int axis = -1, string? name = null) => Build(g, SoftmaxOps.LogSoftmax, logits, axis, name);
    }
}
