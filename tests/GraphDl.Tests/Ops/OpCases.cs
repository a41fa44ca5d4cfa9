using System.Reflection;
using GraphDl.Ops;
using static GraphDl.Tests.Ops.OpCase;

namespace GraphDl.Tests.Ops;

/// <summary>The op test table. Each area adds a static method returning its rows, marked [OpCaseSource];
/// <see cref="All"/> gathers them.</summary>
public static partial class OpCases
{
    [AttributeUsage(AttributeTargets.Method)]
    public sealed class OpCaseSourceAttribute : Attribute;

    /// <summary>Every row of every area.</summary>
    public static IEnumerable<OpCase> All() =>
        typeof(OpCases).GetMethods(BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            .Where(m => m.GetCustomAttribute<OpCaseSourceAttribute>() != null)
            .OrderBy(m => m.Name)
            .SelectMany(m => (IEnumerable<OpCase>)m.Invoke(null, null)!);

    /// <summary>Ops that a table row cannot exercise alone (they have their own tests), with the reason.</summary>
    public static readonly Dictionary<OpDef, string> Exempt = new()
    {
        [StateOps.Const] = "no inputs; covered by every case",
        [StateOps.Placeholder] = "fed; covered by every case",
        [StateOps.NoOp] = "no outputs",
        [VariableOps.VariableV2] = "stateful; VariableTests",
        [VariableOps.Assign] = "stateful; VariableTests",
        [VariableOps.AssignAdd] = "stateful; VariableTests",
        [VariableOps.AssignSub] = "stateful; VariableTests",
        [RandomOps.RandomUniform] = "random; RandomTests",
        [RandomOps.RandomStandardNormal] = "random; RandomTests",
        [RandomOps.TruncatedNormal] = "random; RandomTests",
        [RandomOps.RandomShuffle] = "random; RandomTests",
        [ApplyOps.ApplyGradientDescent] = "stateful; OptimizerTests",
        [ApplyOps.ApplyMomentum] = "stateful; OptimizerTests",
        [ApplyOps.ApplyAdagrad] = "stateful; OptimizerTests",
        [ApplyOps.ApplyRMSProp] = "stateful; OptimizerTests",
        [ApplyOps.ApplyCenteredRMSProp] = "stateful; OptimizerTests",
        [ApplyOps.ApplyAdam] = "stateful; OptimizerTests",
        [SummaryOps.ScalarSummary] = "outputs serialized Summary bytes, not numbers; SummaryOpTests",
        [SummaryOps.HistogramSummary] = "outputs serialized Summary bytes, not numbers; SummaryOpTests",
        [SummaryOps.ImageSummary] = "outputs serialized Summary bytes (PNG), not numbers; SummaryOpTests",
        [SummaryOps.TensorSummaryV2] = "outputs serialized Summary bytes, not numbers; SummaryOpTests",
        [SummaryOps.MergeSummary] = "outputs serialized Summary bytes, not numbers; SummaryOpTests",
    };

    [OpCaseSource]
    static IEnumerable<OpCase> Math()
    {
        var a = Rand(1, -2, 2, 3, 4);
        var b = Rand(2, -2, 2, 3, 4);
        var row = Rand(3, -2, 2, 4);
        var pos = Rand(4, 0.5, 2.5, 3, 4);
        var pos2 = Rand(5, 0.5, 2.5, 3, 4);
        yield return Binary(BinaryOps.Add, (g, x, y) => x + y, (x, y) => x + y, a, row);
        yield return Binary(BinaryOps.Sub, (g, x, y) => x - y, (x, y) => x - y, a, row);
        yield return Binary(BinaryOps.Mul, (g, x, y) => x * y, (x, y) => x * y, a, row);
        yield return Binary(BinaryOps.RealDiv, (g, x, y) => x / y, (x, y) => x / y, a, pos);
        yield return Binary(BinaryOps.Maximum, (g, x, y) => g.Maximum(x, y), System.Math.Max, a, b);
        yield return Binary(BinaryOps.Minimum, (g, x, y) => g.Minimum(x, y), System.Math.Min, a, b);
        yield return Binary(BinaryOps.SquaredDifference, (g, x, y) => g.SquaredDifference(x, y), (x, y) => (x - y) * (x - y), a, b);
        yield return Unary(UnaryOps.Neg, (g, x) => -x, x => -x, a);
        yield return Unary(UnaryOps.Square, (g, x) => g.Square(x), x => x * x, a);
        yield return Unary(UnaryOps.Sqrt, (g, x) => g.Sqrt(x), System.Math.Sqrt, pos);
        yield return Unary(UnaryOps.Rsqrt, (g, x) => g.Rsqrt(x), x => 1 / System.Math.Sqrt(x), pos);
        yield return Unary(UnaryOps.Exp, (g, x) => g.Exp(x), System.Math.Exp, a);
        yield return Unary(UnaryOps.Log, (g, x) => g.Log(x), System.Math.Log, pos);
        yield return Unary(UnaryOps.Log1p, (g, x) => g.Log1p(x), x => System.Math.Log(1 + x), pos);
        yield return Unary(UnaryOps.Abs, (g, x) => g.Abs(x), System.Math.Abs, AwayFromZero(6, 3, 4));
        yield return Unary(UnaryOps.Sign, (g, x) => g.Sign(x), x => System.Math.Sign(x), AwayFromZero(7, 3, 4)) with { NotDifferentiable = true };
        yield return Unary(UnaryOps.Cos, (g, x) => g.Cos(x), System.Math.Cos, a);
        yield return Unary(UnaryOps.Sin, (g, x) => g.Sin(x), System.Math.Sin, a);
        yield return Unary(UnaryOps.Floor, (g, x) => g.Floor(x), System.Math.Floor, Rand(12, -3.9, 3.9, 3, 4)) with { NotDifferentiable = true };
        yield return Unary(UnaryOps.Reciprocal, (g, x) => g.Reciprocal(x), x => 1 / x, pos);
        yield return Unary(UnaryOps.Sigmoid, (g, x) => g.Sigmoid(x), x => 1 / (1 + System.Math.Exp(-x)), a);
        yield return Unary(UnaryOps.Tanh, (g, x) => g.Tanh(x), System.Math.Tanh, a);
        yield return Binary(UnaryOps.SigmoidGrad, (g, y, dy) => g.Add1(UnaryOps.SigmoidGrad, [y, dy]), (y, dy) => dy * y * (1 - y), Rand(8, 0.1, 0.9, 3, 4), b);
        yield return Binary(UnaryOps.TanhGrad, (g, y, dy) => g.Add1(UnaryOps.TanhGrad, [y, dy]), (y, dy) => dy * (1 - y * y), Rand(9, -0.9, 0.9, 3, 4), b);
        foreach (var (def, f) in new (OpDef, Func<double, double, bool>)[]
                 {
                     (CompareOps.Less, (x, y) => x < y), (CompareOps.LessEqual, (x, y) => x <= y), (CompareOps.Greater, (x, y) => x > y),
                     (CompareOps.GreaterEqual, (x, y) => x >= y), (CompareOps.Equal, (x, y) => x == y), (CompareOps.NotEqual, (x, y) => x != y),
                 })
            yield return new OpCase(def.Name, def, (g, x) => g.Cast(g.Add1(def, [x[0], x[1]]), DType.Float64), [a, NDArray.From(new double[] { a.GetValue<double>(0, 0), 0, 1, -1 }, 4)])
            {
                NotDifferentiable = true,
                Reference = xs => BroadcastBool(xs[0], xs[1], f),
            };
        foreach (var (def, f) in new (OpDef, Func<bool, bool, bool>)[] { (CompareOps.LogicalAnd, (x, y) => x && y), (CompareOps.LogicalOr, (x, y) => x || y) })
            yield return new OpCase(def.Name, def, (g, x) => g.Cast(g.Add1(def, [g.Greater(x[0], g.Scalar(0, x[0].DType)), g.Greater(x[1], g.Scalar(0, x[1].DType))]), DType.Float64), [a, b])
            {
                NotDifferentiable = true,
                Reference = xs => xs[0].Zip(xs[1], (x, y) => f(x > 0, y > 0) ? 1.0 : 0.0).ToArray(),
            };
        yield return new OpCase("LogicalNot", CompareOps.LogicalNot, (g, x) => g.Cast(g.LogicalNot(g.Greater(x[0], g.Scalar(0, x[0].DType))), DType.Float64), [a])
        {
            NotDifferentiable = true,
            Reference = xs => xs[0].Select(x => x > 0 ? 0.0 : 1.0).ToArray(),
        };
        yield return new OpCase("SelectV2", CompareOps.SelectV2, (g, x) => g.Where(g.Greater(x[0], x[1]), x[0] * 2.0, x[1]), [a, b])
        {
            Reference = xs => xs[0].Zip(xs[1], (x, y) => x > y ? 2 * x : y).ToArray(),
        };
        yield return new OpCase("Cast", CompareOps.Cast, (g, x) => g.Cast(g.Cast(x[0], DType.Float32), DType.Float64), [a])
        {
            // NOTE: Cast is linear, so a large step has no truncation error and stays far above float32 rounding.
            Reference = xs => xs[0].Select(x => (double)(float)x).ToArray(), Step = 1e-2,
        };
        yield return new OpCase("AddN", AddNOp.Def, (g, x) => g.AddN([x[0], x[1], x[0]]), [a, b])
        {
            Reference = xs => xs[0].Zip(xs[1], (x, y) => 2 * x + y).ToArray(),
        };
        yield return new OpCase("MatMul", MatMulOps.MatMul, (g, x) => g.MatMul(x[0], x[1], transposeB: true), [a, b])
        {
            Reference = xs => RefMatMul(xs[0], xs[1], 3, 4, 3, transB: true),
        };
        yield return new OpCase("MatMul_ta", MatMulOps.MatMul, (g, x) => g.MatMul(x[0], x[1], transposeA: true), [a, b])
        {
            Reference = xs => RefMatMul(Transpose(xs[0], 3, 4), xs[1], 4, 3, 4, transB: false),
        };
        yield return new OpCase("BatchMatMulV2", MatMulOps.BatchMatMul, (g, x) => g.BatchMatMul(x[0], x[1]), [Rand(10, -1, 1, 2, 3, 4), Rand(11, -1, 1, 4, 2)])
        {
            Reference = xs => RefMatMul(xs[0][..12], xs[1], 3, 4, 2, false).Concat(RefMatMul(xs[0][12..], xs[1], 3, 4, 2, false)).ToArray(),
        };
        yield return new OpCase("Sum", Reduce.Sum, (g, x) => g.Sum(x[0], [0]), [a]) { Reference = xs => ColSums(xs[0], 3, 4) };
        yield return new OpCase("Sum_all", Reduce.Sum, (g, x) => g.Sum(x[0]), [a]) { Reference = xs => [xs[0].Sum()] };
        yield return new OpCase("Sum_rows_keep", Reduce.Sum, (g, x) => g.Sum(x[0], [1], keepDims: true), [a])
        {
            Reference = xs => Enumerable.Range(0, 3).Select(r => xs[0].Skip(r * 4).Take(4).Sum()).ToArray(),
        };
        yield return new OpCase("Mean", Reduce.Mean, (g, x) => g.Mean(x[0], [0]), [a]) { Reference = xs => ColSums(xs[0], 3, 4).Select(v => v / 3).ToArray() };
        yield return new OpCase("Max", Reduce.Max, (g, x) => g.ReduceMax(x[0], [1]), [a])
        {
            Reference = xs => Enumerable.Range(0, 3).Select(r => xs[0].Skip(r * 4).Take(4).Max()).ToArray(),
        };
        yield return new OpCase("Min", Reduce.Min, (g, x) => g.ReduceMin(x[0], [0]), [a])
        {
            Reference = xs => Enumerable.Range(0, 4).Select(c => Enumerable.Range(0, 3).Min(r => xs[0][r * 4 + c])).ToArray(),
        };
        yield return new OpCase("Prod", Reduce.Prod, (g, x) => g.Prod(x[0], [1]), [pos])
        {
            Reference = xs => Enumerable.Range(0, 3).Select(r => xs[0].Skip(r * 4).Take(4).Aggregate(1.0, (p, v) => p * v)).ToArray(),
        };
        yield return new OpCase("LogSumExp", Reduce.Max, (g, x) => g.LogSumExp(x[0], [1]), [a])
        {
            Reference = xs => Enumerable.Range(0, 3).Select(r => System.Math.Log(xs[0].Skip(r * 4).Take(4).Sum(System.Math.Exp))).ToArray(),
        };
        yield return new OpCase("ArgMax", Reduce.ArgMax, (g, x) => g.Cast(g.ArgMax(x[0], 1), DType.Float64), [a])
        {
            NotDifferentiable = true,
            Reference = xs => Enumerable.Range(0, 3).Select(r => (double)Array.IndexOf(xs[0], xs[0].Skip(r * 4).Take(4).Max(), r * 4) - r * 4).ToArray(),
        };
        yield return new OpCase("ArgMin", Reduce.ArgMin, (g, x) => g.Cast(g.ArgMin(x[0], 0), DType.Float64), [a])
        {
            NotDifferentiable = true,
            Reference = xs => Enumerable.Range(0, 4).Select(c => (double)Enumerable.Range(0, 3).OrderBy(r => xs[0][r * 4 + c]).First()).ToArray(),
        };
        yield return new OpCase("ReducedShape", Reduce.ReducedShape, (g, x) => g.Cast(g.ReducedShape(g.ShapeOf(x[0]), g.Const(NDArray.From(new[] { 1 }))), DType.Float64), [a])
        {
            NotDifferentiable = true, Reference = _ => [3, 1],
        };
    }

    [OpCaseSource]
    static IEnumerable<OpCase> Shapes()
    {
        var a = Rand(21, -2, 2, 3, 4);
        yield return new OpCase("Shape", ShapeOps.Shape, (g, x) => g.Cast(g.ShapeOf(x[0]), DType.Float64), [a]) { NotDifferentiable = true, Reference = _ => [3, 4] };
        yield return new OpCase("Size", ShapeOps.Size, (g, x) => g.Cast(g.Size(x[0]), DType.Float64), [a]) { NotDifferentiable = true, Reference = _ => [12] };
        yield return new OpCase("Reshape", ShapeOps.Reshape, (g, x) => g.Reshape(x[0], [2, -1]) * 1.0, [a]) { Reference = xs => xs[0] };
        yield return new OpCase("BroadcastTo", ShapeOps.BroadcastTo, (g, x) => g.BroadcastTo(x[0], g.Const(NDArray.From(new[] { 2, 3, 4 }))), [a])
        {
            Reference = xs => xs[0].Concat(xs[0]).ToArray(),
        };
        yield return new OpCase("SumToShape", ShapeOps.SumToShape, (g, x) => g.SumToShape(x[0], g.Const(NDArray.From(new[] { 1, 4 }))), [a])
        {
            Reference = xs => ColSums(xs[0], 3, 4),
        };
        yield return new OpCase("Fill", ShapeOps.Fill, (g, x) => g.Fill(g.Const(NDArray.From(new[] { 2, 2 })), g.Sum(x[0])), [a])
        {
            Reference = xs => Enumerable.Repeat(xs[0].Sum(), 4).ToArray(),
        };
        yield return new OpCase("ZerosLike", ShapeOps.ZerosLike, (g, x) => g.ZerosLike(x[0]) + x[0], [a]) { Reference = xs => xs[0] };
        yield return new OpCase("OnesLike", ShapeOps.OnesLike, (g, x) => g.OnesLike(x[0]) * x[0], [a]) { Reference = xs => xs[0] };
        yield return new OpCase("Identity", StateOps.Identity, (g, x) => g.Identity(x[0]), [a]) { Reference = xs => xs[0] };
        yield return new OpCase("StopGradient", StateOps.StopGradient, (g, x) => g.StopGradient(x[0]), [a]) { NotDifferentiable = true, Reference = xs => xs[0] };
        yield return new OpCase("PlaceholderWithDefault", StateOps.PlaceholderWithDefault, (g, x) => g.PlaceholderWithDefault(x[0]) * 3.0, [a])
        {
            NotDifferentiable = true, Reference = xs => xs[0].Select(v => 3 * v).ToArray(),
        };
    }

    public static double[] RefMatMul(double[] a, double[] b, int m, int k, int n, bool transB)
    {
        var c = new double[m * n];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0;
                for (int p = 0; p < k; p++) s += a[i * k + p] * (transB ? b[j * k + p] : b[p * n + j]);
                c[i * n + j] = s;
            }
        return c;
    }

    public static double[] Transpose(double[] a, int rows, int cols)
    {
        var t = new double[a.Length];
        for (int r = 0; r < rows; r++) for (int c = 0; c < cols; c++) t[c * rows + r] = a[r * cols + c];
        return t;
    }

    public static double[] ColSums(double[] a, int rows, int cols) =>
        Enumerable.Range(0, cols).Select(c => Enumerable.Range(0, rows).Sum(r => a[r * cols + c])).ToArray();

    static double[] BroadcastBool(double[] a, double[] row, Func<double, double, bool> f) =>
        a.Select((x, i) => f(x, row[i % row.Length]) ? 1.0 : 0.0).ToArray();
}
