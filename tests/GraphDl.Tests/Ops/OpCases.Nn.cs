using GraphDl.Ops;
using static GraphDl.Tests.Ops.OpCase;
using M = System.Math;

namespace GraphDl.Tests.Ops;

public static partial class OpCases
{
    const double SeluScale = ActivationOps.SeluScale, SeluAlpha = ActivationOps.SeluAlpha;

    static double Sigmoid(double x) => 1 / (1 + M.Exp(-x));

    [OpCaseSource]
    static IEnumerable<OpCase> Nn()
    {
        var a = Rand(31, -2, 2, 3, 4);
        var b = Rand(32, -2, 2, 3, 4);
        var pos = Rand(33, 0.5, 2.5, 3, 4);
        var exponents = Rand(34, -2, 2, 4);
        var kinky = AwayFromZero(35, 3, 4);
        // Away from both kinks of Relu6 (0 and 6).
        var relu6In = NDArray.From(new[] { -2.5, -1.1, -0.3, 0.4, 1.7, 2.9, 4.2, 5.5, 6.3, 7.1, 8.8, 3.3 }, 3, 4);

        // ---- Pow
        yield return Binary(PowOps.Pow, (g, x, y) => g.Pow(x, y), M.Pow, pos, exponents);
        yield return Binary(PowOps.Pow, (g, x, y) => g.Pow(x, y), M.Pow, a, NDArray.From(new double[] { 2, 3, 1, 4 }, 4))
            with { Name = "Pow_negative_base", DiffInputs = [0] }; // d/dy needs log(x): only x > 0
        yield return new OpCase("Pow_square", PowOps.Pow, (g, x) => g.Pow(x[0], 2.0), [a]) { Reference = xs => xs[0].Select(v => v * v).ToArray() };
        yield return new OpCase("Pow_scalar_base", PowOps.Pow, (g, x) => g.Pow(g.Scalar(1.7, x[0].DType), x[0]), [a])
        {
            Reference = xs => xs[0].Select(v => M.Pow(1.7, v)).ToArray(),
        };

        // ---- activations
        yield return Unary(ActivationOps.Relu, (g, x) => g.Relu(x), x => M.Max(x, 0), kinky);
        yield return Unary(ActivationOps.Relu6, (g, x) => g.Relu6(x), x => M.Min(M.Max(x, 0), 6), relu6In);
        yield return Unary(ActivationOps.LeakyRelu, (g, x) => g.LeakyRelu(x), x => x > 0 ? x : 0.2 * x, kinky);
        yield return Unary(ActivationOps.LeakyRelu, (g, x) => g.LeakyRelu(x, alpha: 0.01), x => x > 0 ? x : 0.01 * x, kinky) with { Name = "LeakyRelu_alpha" };
        yield return Unary(ActivationOps.Elu, (g, x) => g.Elu(x), x => x < 0 ? M.Exp(x) - 1 : x, kinky);
        yield return Unary(ActivationOps.Selu, (g, x) => g.Selu(x), x => SeluScale * (x < 0 ? SeluAlpha * (M.Exp(x) - 1) : x), kinky);
        yield return Unary(ActivationOps.Softplus, (g, x) => g.Softplus(x), x => M.Log(1 + M.Exp(x)), a);
        yield return Unary(ActivationOps.Softplus, (g, x) => g.Softplus(x), x => M.Max(x, 0) + M.Log(1 + M.Exp(-M.Abs(x))),
            NDArray.From(new double[] { -30, -12, 12, 30 }, 4)) with { Name = "Softplus_large" };
        yield return Unary(ActivationOps.Softsign, (g, x) => g.Softsign(x), x => x / (1 + M.Abs(x)), kinky);

        // ---- fused activation gradients (their rows check the second-derivative rules)
        yield return Binary(ActivationGradOps.ReluGrad, (g, dy, f) => g.Add1(ActivationGradOps.ReluGrad, [dy, f]), (dy, f) => f > 0 ? dy : 0, b, kinky);
        yield return Binary(ActivationGradOps.Relu6Grad, (g, dy, f) => g.Add1(ActivationGradOps.Relu6Grad, [dy, f]), (dy, f) => f > 0 && f < 6 ? dy : 0, b, relu6In);
        yield return Binary(ActivationGradOps.LeakyReluGrad, (g, dy, f) => g.Add1(ActivationGradOps.LeakyReluGrad, [dy, f], new Attrs { ["alpha"] = 0.3 }),
            (dy, f) => f > 0 ? dy : 0.3 * dy, b, kinky);
        yield return Binary(ActivationGradOps.EluGrad, (g, dy, y) => g.Add1(ActivationGradOps.EluGrad, [dy, y]), (dy, y) => y < 0 ? dy * (y + 1) : dy, b, kinky);
        yield return Binary(ActivationGradOps.SeluGrad, (g, dy, y) => g.Add1(ActivationGradOps.SeluGrad, [dy, y]),
            (dy, y) => y < 0 ? dy * (y + SeluScale * SeluAlpha) : dy * SeluScale, b, kinky);
        yield return Binary(ActivationGradOps.SoftplusGrad, (g, dy, x) => g.Add1(ActivationGradOps.SoftplusGrad, [dy, x]), (dy, x) => dy * Sigmoid(x), b, a);
        yield return Binary(ActivationGradOps.SoftsignGrad, (g, dy, x) => g.Add1(ActivationGradOps.SoftsignGrad, [dy, x]),
            (dy, x) => dy / ((1 + M.Abs(x)) * (1 + M.Abs(x))), b, kinky);
        yield return new OpCase("Elu_second_derivative", ActivationOps.Elu, (g, x) => g.Gradient(g.Sum(g.Square(g.Elu(x[0]))), x[0])!, [kinky])
        {
            Reference = xs => xs[0].Select(x => x < 0 ? 2 * (M.Exp(x) - 1) * M.Exp(x) : 2 * x).ToArray(),
        };

        // ---- softmax
        yield return new OpCase("Softmax", SoftmaxOps.Softmax, (g, x) => g.Softmax(x[0]), [a]) { Reference = xs => RefSoftmax(xs[0], 3, 4, 1, log: false) };
        yield return new OpCase("Softmax_axis0", SoftmaxOps.Softmax, (g, x) => g.Softmax(x[0], axis: 0), [a]) { Reference = xs => RefSoftmax(xs[0], 1, 3, 4, log: false) };
        yield return new OpCase("Softmax_rank3_axis1", SoftmaxOps.Softmax, (g, x) => g.Softmax(x[0], axis: 1), [Rand(36, -2, 2, 2, 3, 2)])
        {
            Reference = xs => RefSoftmax(xs[0], 2, 3, 2, log: false),
        };
        yield return new OpCase("LogSoftmax", SoftmaxOps.LogSoftmax, (g, x) => g.LogSoftmax(x[0]), [a]) { Reference = xs => RefSoftmax(xs[0], 3, 4, 1, log: true) };
        yield return new OpCase("LogSoftmax_axis0", SoftmaxOps.LogSoftmax, (g, x) => g.LogSoftmax(x[0], axis: -2), [a]) { Reference = xs => RefSoftmax(xs[0], 1, 3, 4, log: true) };

        // ---- losses
        var labels = Rand(37, 0, 1, 3, 4);
        yield return new OpCase("SoftmaxCrossEntropyWithLogits", LossOps.SoftmaxCrossEntropyWithLogits, (g, x) => g.SoftmaxCrossEntropyWithLogits(x[1], x[0]), [a, labels])
        {
            Reference = xs => RefCrossEntropy(xs[0], xs[1], 3, 4),
        };
        yield return new OpCase("SoftmaxCrossEntropyWithLogits_backprop", LossOps.SoftmaxCrossEntropyWithLogits,
            (g, x) => g.SoftmaxCrossEntropyWithLogits(x[1], x[0]).Op.Outputs[1], [a, labels])
        {
            // NOTE: these labels do not sum to 1 per row, so the exact gradient sum(labels)·softmax - labels is checked.
            Reference = xs => RefSoftmax(xs[0], 3, 4, 1, log: false).Select((p, i) => RowSum(xs[1], i / 4, 4) * p - xs[1][i]).ToArray(),
        };
        yield return new OpCase("SoftmaxCrossEntropyWithLogits_second_derivative", LossOps.SoftmaxCrossEntropyWithLogits,
            (g, x) => g.Gradient(g.Sum(g.Square(g.SoftmaxCrossEntropyWithLogits(x[1], x[0]))), x[0])!, [a, labels])
        {
            // d/dlogits sum(loss²) = 2·loss·(sum(labels)·softmax - labels)
            Reference = xs =>
            {
                var loss = RefCrossEntropy(xs[0], xs[1], 3, 4);
                var p = RefSoftmax(xs[0], 3, 4, 1, log: false);
                return p.Select((v, i) => 2 * loss[i / 4] * (RowSum(xs[1], i / 4, 4) * v - xs[1][i])).ToArray();
            },
        };
        var sparse = new[] { 2, 0, 3 };
        yield return new OpCase("SparseSoftmaxCrossEntropyWithLogits", LossOps.SparseSoftmaxCrossEntropyWithLogits,
            (g, x) => g.SparseSoftmaxCrossEntropyWithLogits(g.Const(NDArray.From(sparse)), x[0]), [a])
        {
            Reference = xs => RefCrossEntropy(xs[0], OneHot(sparse, 4), 3, 4),
        };
        yield return new OpCase("SparseSoftmaxCrossEntropyWithLogits_int64_backprop", LossOps.SparseSoftmaxCrossEntropyWithLogits,
            (g, x) => g.SparseSoftmaxCrossEntropyWithLogits(g.Const(NDArray.From(sparse.Select(v => (long)v).ToArray())), x[0]).Op.Outputs[1], [a])
        {
            Reference = xs => RefSoftmax(xs[0], 3, 4, 1, log: false).Zip(OneHot(sparse, 4), (p, l) => p - l).ToArray(),
        };
        yield return new OpCase("SparseSoftmaxCrossEntropyWithLogits_second_derivative", LossOps.SparseSoftmaxCrossEntropyWithLogits,
            (g, x) => g.Gradient(g.Sum(g.Square(g.SparseSoftmaxCrossEntropyWithLogits(g.Const(NDArray.From(sparse)), x[0]))), x[0])!, [a])
        {
            Reference = xs =>
            {
                var oh = OneHot(sparse, 4);
                var loss = RefCrossEntropy(xs[0], oh, 3, 4);
                return RefSoftmax(xs[0], 3, 4, 1, log: false).Select((v, i) => 2 * loss[i / 4] * (v - oh[i])).ToArray();
            },
        };
        yield return new OpCase("L2Loss", LossOps.L2Loss, (g, x) => g.L2Loss(x[0]), [a]) { Reference = xs => [xs[0].Sum(v => v * v) / 2] };
        yield return new OpCase("SigmoidCrossEntropyWithLogits", ActivationOps.Softplus, (g, x) => g.SigmoidCrossEntropyWithLogits(x[1], x[0]), [a, labels])
        {
            Reference = xs => xs[0].Zip(xs[1], (x, z) => M.Max(x, 0) - x * z + M.Log(1 + M.Exp(-M.Abs(x)))).ToArray(),
        };
        yield return new OpCase("MeanSquaredError", BinaryOps.SquaredDifference, (g, x) => g.MeanSquaredError(x[1], x[0]), [a, b])
        {
            Reference = xs => [xs[0].Zip(xs[1], (p, l) => (p - l) * (p - l)).Average()],
        };

        // ---- clipping
        // NOTE: the table feeds no rank-0 arrays, so the scalar bounds come in as [1] and are reshaped to scalars.
        yield return new OpCase("ClipByValue", ClipOps.ClipByValue, (g, x) => g.ClipByValue(x[0], g.Reshape(x[1], []), g.Reshape(x[2], [])),
            [a, NDArray.From(new[] { -0.5 }), NDArray.From(new[] { 0.7 })])
        {
            Reference = xs => xs[0].Select(v => M.Min(M.Max(v, xs[1][0]), xs[2][0])).ToArray(),
        };
        yield return new OpCase("ClipByValue_tensor_bounds", ClipOps.ClipByValue, (g, x) => g.ClipByValue(x[0], x[1], x[2]),
            [a, Rand(38, -1.5, -0.2, 3, 4), Rand(39, 0.2, 1.5, 3, 4)])
        {
            Reference = xs => xs[0].Select((v, i) => M.Min(M.Max(v, xs[1][i]), xs[2][i])).ToArray(),
        };
        yield return new OpCase("ClipByNorm", BinaryOps.Maximum, (g, x) => g.ClipByNorm(x[0], 1.5), [a])
        {
            Reference = xs => { double n = M.Sqrt(xs[0].Sum(v => v * v)); return xs[0].Select(v => v * 1.5 / M.Max(n, 1.5)).ToArray(); },
        };
        yield return new OpCase("ClipByNorm_rows", BinaryOps.Maximum, (g, x) => g.ClipByNorm(x[0], 1.5, axes: [1]), [a])
        {
            Reference = xs => xs[0].Select((v, i) =>
            {
                double n = M.Sqrt(xs[0].Skip(i / 4 * 4).Take(4).Sum(u => u * u));
                return v * 1.5 / M.Max(n, 1.5);
            }).ToArray(),
        };
        var rowIn = Rand(40, -2, 2, 4);
        yield return new OpCase("ClipByGlobalNorm", BinaryOps.Maximum, (g, x) =>
        {
            var (clipped, _) = g.ClipByGlobalNorm([x[0], x[1]], 2.5);
            return clipped[0] + clipped[1];
        }, [a, rowIn])
        {
            Reference = xs =>
            {
                double n = M.Sqrt(xs[0].Sum(v => v * v) + xs[1].Sum(v => v * v));
                double s = 2.5 / M.Max(n, 2.5);
                return xs[0].Select((v, i) => s * (v + xs[1][i % 4])).ToArray();
            },
        };
        yield return new OpCase("GlobalNorm", LossOps.L2Loss, (g, x) => g.GlobalNorm([x[0], x[1]]), [a, rowIn])
        {
            Reference = xs => [M.Sqrt(xs[0].Sum(v => v * v) + xs[1].Sum(v => v * v))],
        };
    }

    /// <summary>Softmax over the middle axis of an [outer, n, inner] array.</summary>
    public static double[] RefSoftmax(double[] x, int outer, int n, int inner, bool log)
    {
        var y = new double[x.Length];
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < inner; k++)
            {
                int at(int j) => (o * n + j) * inner + k;
                double m = Enumerable.Range(0, n).Max(j => x[at(j)]);
                double s = Enumerable.Range(0, n).Sum(j => M.Exp(x[at(j)] - m));
                for (int j = 0; j < n; j++) y[at(j)] = log ? x[at(j)] - m - M.Log(s) : M.Exp(x[at(j)] - m) / s;
            }
        return y;
    }

    /// <summary>Per-row <c>sum(labels · -log_softmax(logits))</c>.</summary>
    public static double[] RefCrossEntropy(double[] logits, double[] labels, int rows, int n)
    {
        var ls = RefSoftmax(logits, rows, n, 1, log: true);
        return Enumerable.Range(0, rows).Select(r => -Enumerable.Range(0, n).Sum(j => labels[r * n + j] * ls[r * n + j])).ToArray();
    }

    static double RowSum(double[] x, int row, int n) => x.Skip(row * n).Take(n).Sum();

    public static double[] OneHot(int[] labels, int n)
    {
        var y = new double[labels.Length * n];
        for (int r = 0; r < labels.Length; r++) y[r * n + labels[r]] = 1;
        return y;
    }
}
