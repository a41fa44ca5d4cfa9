using GraphDl.Ops;

namespace GraphDl.Cuda.Parity;

/// <summary>Tolerance families for GPU-vs-CPU parity in float32: |gpu - cpu| &lt;= atol + rtol·|cpu|.</summary>
public enum Family
{
    /// <summary>Moves or selects values: bit-exact.</summary>
    Data,
    /// <summary>+, -, ·, /, comparisons, masks, √: rtol 1e-6 (a few ulp, room for fused multiply-add).</summary>
    Arithmetic,
    /// <summary>exp, log, tanh, sigmoid, sin, cos and what is built on them: rtol 1e-5, atol 1e-6.</summary>
    Transcendental,
    /// <summary>Sums, means, products, L2Loss (other summation order): rtol 1e-5, atol 1e-5.</summary>
    Reduction,
    /// <summary>Matrix products (tiled vs blocked summation): rtol 1e-5, atol 1e-5.</summary>
    MatMul,
    /// <summary>Softmax and the cross-entropy losses: rtol 1e-5, atol 1e-6.</summary>
    Softmax,
    /// <summary>Convolutions (im2col times the tiled GEMM vs the CPU's blocked GEMM, another summation order; sums of at
    /// most ~50 products of inputs in [-1, 1], so a few float32 ulps of the largest term): rtol 1e-5, atol 1e-5.</summary>
    Conv,
    /// <summary>The fused RNN, GRU and LSTM layers and their gradients (device exp/tanh vs the CPU's float32 exponential,
    /// other GEMM summation order, carried through the recurrence): see <see cref="ParityCases"/>' RNN cases.</summary>
    Rnn,
    /// <summary>Variable updates (Assign*, the fused optimizer updates) on GPU-resident variables: bit-exact on the CPU
    /// accelerator (same operations in the same order as the CPU's scalar loop); on a GPU, fused multiply-add and the
    /// device's square root and division may move an ulp: rtol 1e-6, atol 1e-6.</summary>
    Update,
}

public sealed record ParityCase(string Name, OpDef Op, Family Family, Func<Graph, Tensor[], Tensor[]> Build, NDArray[] Inputs)
{
    public override string ToString() => Name;
}

/// <summary>The GPU-vs-CPU parity cases: every GPU kernel at small shapes in float32 (odd sizes, broadcasting, empty
/// tensors, NaN inputs where the op propagates them). Shared by the CI tests (simulated GPU) and the GPU check program
/// (tools/GraphDl.GpuCheck, on a real GPU with fresh random inputs).</summary>
public static partial class ParityCases
{
    public static (double rtol, double atol) Tolerance(Family f) => f switch
    {
        Family.Data => (0, 0),
        Family.Arithmetic => (1e-6, 0),
        Family.Transcendental => (1e-5, 1e-6),
        Family.Reduction => (1e-5, 1e-5),
        Family.MatMul => (1e-5, 1e-5),
        Family.Conv => (1e-5, 1e-5),
        Family.Rnn => RnnTolerance,
        Family.Update => (1e-6, 1e-6),
        _ => (1e-5, 1e-6),
    };

    static int seed = 1;

    /// <summary>Seeds the input generator (the GPU check uses a fresh seed per run).</summary>
    public static void Reseed(int value) => seed = value;

    static NDArray Rand(params int[] dims) => RandIn(-3, 3, dims);

    static NDArray RandIn(double lo, double hi, params int[] dims)
    {
        var r = new Random(seed++);
        int n = dims.Aggregate(1, (a, b) => a * b);
        return NDArray.From(Enumerable.Range(0, n).Select(_ => (float)(lo + (hi - lo) * r.NextDouble())).ToArray(), dims);
    }

    static NDArray WithNaN(NDArray a, params int[] at)
    {
        var v = a.ToArray<float>();
        foreach (var i in at) v[i] = float.NaN;
        return NDArray.From(v, a.Dims.ToArray());
    }

    static ParityCase C(string name, OpDef op, Family f, Func<Graph, Tensor[], Tensor> build, params NDArray[] inputs) =>
        new(name, op, f, (g, x) => [build(g, x)], inputs);

    static Tensor Op2(Graph g, OpDef op, Tensor a, Tensor b, Attrs? attrs = null) => g.AddOp(op, [a, b], attrs).Outputs[0];

    public static IEnumerable<ParityCase> All()
    {
        // Broadcasting binary ops (functors from the op files).
        var binary = new (OpDef op, Func<Graph, Tensor, Tensor, Tensor> f)[]
        {
            (BinaryOps.Add, (g, a, b) => g.Add(a, b)), (BinaryOps.Sub, (g, a, b) => g.Sub(a, b)), (BinaryOps.Mul, (g, a, b) => g.Mul(a, b)),
            (BinaryOps.RealDiv, (g, a, b) => g.Div(a, b)), (BinaryOps.Maximum, (g, a, b) => g.Maximum(a, b)),
            (BinaryOps.Minimum, (g, a, b) => g.Minimum(a, b)), (BinaryOps.SquaredDifference, (g, a, b) => g.SquaredDifference(a, b)),
        };
        foreach (var (op, f) in binary)
        {
            yield return C($"{op.Name} [5,7]+[5,7]", op, Family.Arithmetic, (g, x) => f(g, x[0], x[1]), WithNaN(Rand(5, 7), 3), Rand(5, 7));
            yield return C($"{op.Name} [3,1,5]+[4,1] broadcast", op, Family.Arithmetic, (g, x) => f(g, x[0], x[1]), Rand(3, 1, 5), Rand(4, 1));
        }
        yield return C("Add [6,7]+scalar", BinaryOps.Add, Family.Arithmetic, (g, x) => g.Add(x[0], x[1]), Rand(6, 7), Rand());
        yield return C("Add [0,7]+[7] empty", BinaryOps.Add, Family.Arithmetic, (g, x) => g.Add(x[0], x[1]), Rand(0, 7), Rand(7));
        yield return C("Mul [2,3,1,5,1,3,2]+[3,1] rank 7", BinaryOps.Mul, Family.Arithmetic, (g, x) => g.Mul(x[0], x[1]), Rand(2, 3, 1, 5, 1, 3, 2), Rand(3, 1));
        yield return C("Add int32 broadcast", BinaryOps.Add, Family.Data, (g, x) => g.Add(x[0], x[1]),
            NDArray.From(Enumerable.Range(-20, 35).ToArray(), 5, 7), NDArray.From(new[] { 1, 2, 3, 4, 5, 6, 7 }, 7));
        yield return C("Maximum int64", BinaryOps.Maximum, Family.Data, (g, x) => g.Maximum(x[0], x[1]),
            NDArray.From(new long[] { 1, -5, 9, 4 }, 4), NDArray.From(new long[] { 3 }, 1));

        // Unary ops (GPU-side scalar functors of the op files' span kernels).
        var pos = new[] { UnaryOps.Sqrt, UnaryOps.Rsqrt, UnaryOps.Log, UnaryOps.Log1p };
        var unary = new (OpDef op, Func<Graph, Tensor, Tensor> f, Family fam)[]
        {
            (UnaryOps.Neg, (g, x) => g.Neg(x), Family.Arithmetic), (UnaryOps.Square, (g, x) => g.Square(x), Family.Arithmetic),
            (UnaryOps.Sqrt, (g, x) => g.Sqrt(x), Family.Arithmetic), (UnaryOps.Rsqrt, (g, x) => g.Rsqrt(x), Family.Arithmetic),
            (UnaryOps.Exp, (g, x) => g.Exp(x), Family.Transcendental), (UnaryOps.Log, (g, x) => g.Log(x), Family.Transcendental),
            (UnaryOps.Log1p, (g, x) => g.Log1p(x), Family.Transcendental), (UnaryOps.Abs, (g, x) => g.Abs(x), Family.Arithmetic),
            (UnaryOps.Sign, (g, x) => g.Sign(x), Family.Arithmetic), (UnaryOps.Reciprocal, (g, x) => g.Reciprocal(x), Family.Arithmetic),
            (UnaryOps.Cos, (g, x) => g.Cos(x), Family.Transcendental), (UnaryOps.Sin, (g, x) => g.Sin(x), Family.Transcendental),
            (UnaryOps.Floor, (g, x) => g.Floor(x), Family.Arithmetic), (UnaryOps.Sigmoid, (g, x) => g.Sigmoid(x), Family.Transcendental),
            (UnaryOps.Tanh, (g, x) => g.Tanh(x), Family.Transcendental), (ActivationOps.Relu, (g, x) => g.Relu(x), Family.Arithmetic),
            (ActivationOps.Relu6, (g, x) => g.Relu6(x * 3.0), Family.Arithmetic), (ActivationOps.LeakyRelu, (g, x) => g.LeakyRelu(x, 0.3), Family.Arithmetic),
            (ActivationOps.Elu, (g, x) => g.Elu(x), Family.Transcendental), (ActivationOps.Selu, (g, x) => g.Selu(x), Family.Transcendental),
            (ActivationOps.Softplus, (g, x) => g.Softplus(x), Family.Transcendental), (ActivationOps.Softsign, (g, x) => g.Softsign(x), Family.Arithmetic),
        };
        foreach (var (op, f, fam) in unary)
        {
            var x = pos.Contains(op) ? RandIn(0.01, 5, 6, 11) : Rand(6, 11);
            yield return C($"{op.Name} [6,11]", op, fam, (g, t) => f(g, t[0]), WithNaN(x, 5));
        }
        yield return C("Exp [0,3] empty", UnaryOps.Exp, Family.Transcendental, (g, t) => g.Exp(t[0]), Rand(0, 3));
        yield return C("Softplus large |x|", ActivationOps.Softplus, Family.Transcendental, (g, t) => g.Softplus(t[0]),
            NDArray.From(new float[] { -100, -30, -1e-8f, 0, 1e-8f, 30, 100 }, 7));

        // Fused activation gradients: (dy, features or outputs).
        var grads = new (OpDef op, Attrs? attrs, Family fam)[]
        {
            (ActivationGradOps.ReluGrad, null, Family.Arithmetic), (ActivationGradOps.Relu6Grad, null, Family.Arithmetic),
            (ActivationGradOps.EluGrad, null, Family.Arithmetic), (ActivationGradOps.SeluGrad, null, Family.Arithmetic),
            (ActivationGradOps.LeakyReluGrad, new Attrs { ["alpha"] = 0.3 }, Family.Arithmetic),
            (ActivationGradOps.SoftplusGrad, null, Family.Transcendental), (ActivationGradOps.SoftsignGrad, null, Family.Arithmetic),
            (UnaryOps.SigmoidGrad, null, Family.Arithmetic), (UnaryOps.TanhGrad, null, Family.Arithmetic),
        };
        foreach (var (op, attrs, fam) in grads)
            yield return C($"{op.Name} [7,9]", op, fam, (g, t) => Op2(g, op, t[0], t[1], attrs), Rand(7, 9), RandIn(-8, 8, 7, 9));
        yield return C("SigmoidGrad broadcast", UnaryOps.SigmoidGrad, Family.Arithmetic, (g, t) => Op2(g, UnaryOps.SigmoidGrad, t[0], t[1]), Rand(4, 5), Rand(5));

        // Reductions.
        yield return C("Sum [5,7,3] axis 1", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0], [1]), Rand(5, 7, 3));
        yield return C("Sum [4,3,5,2] axes 0,2 (transposed)", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0], [0, 2]), Rand(4, 3, 5, 2));
        yield return C("Sum all, keep_dims", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0], [0, 1], keepDims: true), Rand(13, 17));
        yield return C("Sum [0,4] axis 0 empty", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0], [0]), Rand(0, 4));
        yield return C("Sum int32 axis -1", Reduce.Sum, Family.Data, (g, t) => g.Sum(t[0], [-1]), NDArray.From(Enumerable.Range(-10, 21).ToArray(), 3, 7));
        yield return C("Mean [6,5] axis 0", Reduce.Mean, Family.Reduction, (g, t) => g.Mean(t[0], [0]), Rand(6, 5));
        yield return C("Mean all", Reduce.Mean, Family.Reduction, (g, t) => g.Mean(t[0]), Rand(3, 4, 5));
        yield return C("Max [5,9] axis 1 with NaN", Reduce.Max, Family.Data, (g, t) => g.ReduceMax(t[0], [1]), WithNaN(Rand(5, 9), 12));
        yield return C("Min [4,3,5] axes 0,2", Reduce.Min, Family.Data, (g, t) => g.ReduceMin(t[0], [0, 2]), Rand(4, 3, 5));
        yield return C("Prod [3,6] axis 1", Reduce.Prod, Family.Reduction, (g, t) => g.Prod(t[0], [1]), RandIn(0.5, 1.5, 3, 6));
        yield return C("L2Loss [9,7]", LossOps.L2Loss, Family.Reduction, (g, t) => g.L2Loss(t[0]), Rand(9, 7));
        // Few outputs with long reductions take the two-stage tree path (chunks, then shared-memory tree).
        yield return C("Sum all [50,37] (tree)", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0]), Rand(50, 37));
        // Columns: at least 32 contiguous kept columns, at least 64 reduced rows (two stages in row chunks).
        yield return C("Sum [70,40] axis 0 (columns)", Reduce.Sum, Family.Reduction, (g, t) => g.Sum(t[0], [0]), Rand(70, 40));
        yield return C("Mean [3,65,32] axis 1 (columns, outer kept)", Reduce.Mean, Family.Reduction, (g, t) => g.Mean(t[0], [1]), Rand(3, 65, 32));
        yield return C("Max [64,33] axis 0 with NaN (columns)", Reduce.Max, Family.Data, (g, t) => g.ReduceMax(t[0], [0]), WithNaN(Rand(64, 33), 700));
        yield return C("Sum int32 [80,32] axis 0 (columns)", Reduce.Sum, Family.Data, (g, t) => g.Sum(t[0], [0]),
            NDArray.From(Enumerable.Range(-1280, 2560).ToArray(), 80, 32));
        yield return C("Mean [3,400] axis 1 (tree)", Reduce.Mean, Family.Reduction, (g, t) => g.Mean(t[0], [1]), Rand(3, 400));
        yield return C("Max all with NaN (tree)", Reduce.Max, Family.Data, (g, t) => g.ReduceMax(t[0]), WithNaN(Rand(20, 20), 301));
        yield return C("Min [300,2] axis 0 (tree, strided)", Reduce.Min, Family.Data, (g, t) => g.ReduceMin(t[0], [0]), Rand(300, 2));
        yield return C("Prod [130] (tree)", Reduce.Prod, Family.Reduction, (g, t) => g.Prod(t[0]), RandIn(0.95, 1.05, 130));
        yield return C("Sum int32 all (tree)", Reduce.Sum, Family.Data, (g, t) => g.Sum(t[0]), NDArray.From(Enumerable.Range(-50, 173).ToArray(), 173));
        yield return C("L2Loss [40,30] (tree)", LossOps.L2Loss, Family.Reduction, (g, t) => g.L2Loss(t[0]), Rand(40, 30));

        // Matrix products.
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            yield return C($"MatMul 13x6·6x9 ta={ta} tb={tb}", MatMulOps.MatMul, Family.MatMul, (g, t) => g.MatMul(t[0], t[1], ta, tb),
                ta ? Rand(6, 13) : Rand(13, 6), tb ? Rand(9, 6) : Rand(6, 9));
        yield return C("MatMul k=0", MatMulOps.MatMul, Family.MatMul, (g, t) => g.MatMul(t[0], t[1]), Rand(3, 0), Rand(0, 4));
        yield return C("MatMul m=0", MatMulOps.MatMul, Family.MatMul, (g, t) => g.MatMul(t[0], t[1]), Rand(0, 5), Rand(5, 4));
        yield return C("BatchMatMul [2,5,7]·[7,3]", MatMulOps.BatchMatMul, Family.MatMul, (g, t) => g.BatchMatMul(t[0], t[1]), Rand(2, 5, 7), Rand(7, 3));
        yield return C("BatchMatMul [2,1,4,6]·[3,5,6] adj_y", MatMulOps.BatchMatMul, Family.MatMul, (g, t) => g.BatchMatMul(t[0], t[1], adjY: true),
            Rand(2, 1, 4, 6), Rand(3, 5, 6));

        // Softmax and losses.
        yield return C("Softmax [6,9]", SoftmaxOps.Softmax, Family.Softmax, (g, t) => g.Softmax(t[0]), Rand(6, 9));
        yield return C("Softmax [4,5,3] axis 1", SoftmaxOps.Softmax, Family.Softmax, (g, t) => g.Softmax(t[0], 1), Rand(4, 5, 3));
        yield return C("LogSoftmax [6,9]", SoftmaxOps.LogSoftmax, Family.Softmax, (g, t) => g.LogSoftmax(t[0]), Rand(6, 9));
        var labels = NDArray.From(Enumerable.Range(0, 54).Select(i => (float)(i % 9 == i / 9 % 9 ? 0.7 : 0.3 / 8)).ToArray(), 6, 9);
        yield return new("SoftmaxCrossEntropyWithLogits [6,9]", LossOps.SoftmaxCrossEntropyWithLogits, Family.Softmax,
            (g, t) => g.AddOp(LossOps.SoftmaxCrossEntropyWithLogits, [t[0], t[1]]).Outputs, [Rand(6, 9), labels]);
        yield return new("SparseSoftmaxCrossEntropyWithLogits int32", LossOps.SparseSoftmaxCrossEntropyWithLogits, Family.Softmax,
            (g, t) => g.AddOp(LossOps.SparseSoftmaxCrossEntropyWithLogits, [t[0], t[1]]).Outputs, [Rand(7, 5), NDArray.From(new[] { 0, 4, 2, 2, 1, 3, 0 }, 7)]);
        yield return new("SparseSoftmaxCrossEntropyWithLogits int64", LossOps.SparseSoftmaxCrossEntropyWithLogits, Family.Softmax,
            (g, t) => g.AddOp(LossOps.SparseSoftmaxCrossEntropyWithLogits, [t[0], t[1]]).Outputs, [Rand(3, 11), NDArray.From(new long[] { 10, 0, 5 }, 3)]);

        // Comparisons (functors from the op file), logic, select, cast, arg-extremum.
        var cmps = new (OpDef op, Func<Graph, Tensor, Tensor, Tensor> f)[]
        {
            (CompareOps.Less, (g, a, b) => g.Less(a, b)), (CompareOps.LessEqual, (g, a, b) => g.LessEqual(a, b)),
            (CompareOps.Greater, (g, a, b) => g.Greater(a, b)), (CompareOps.GreaterEqual, (g, a, b) => g.GreaterEqual(a, b)),
            (CompareOps.Equal, (g, a, b) => g.Equal(a, b)), (CompareOps.NotEqual, (g, a, b) => g.NotEqual(a, b)),
        };
        var left = NDArray.From(new float[] { 1, 2, 3, float.NaN, 5, 2, 0, -1, 3, 3, 7, 2 }, 3, 4);
        foreach (var (op, f) in cmps)
            yield return C($"{op.Name} [3,4] vs [4] with NaN", op, Family.Data, (g, t) => f(g, t[0], t[1]), left, NDArray.From(new float[] { 2, 2, 3, 1 }, 4));
        yield return C("Equal int32 broadcast", CompareOps.Equal, Family.Data, (g, t) => g.Equal(t[0], t[1]),
            NDArray.From(new[] { 1, 2, 3, 4, 5, 6 }, 2, 3), NDArray.From(new[] { 2 }, 1));
        yield return C("Equal bool", CompareOps.Equal, Family.Data, (g, t) => g.Equal(t[0], t[1]),
            NDArray.From(new[] { true, false, true, false }, 4), NDArray.From(new[] { true, true, false, false }, 4));
        var p = NDArray.From(new[] { true, false, true, false, true, true }, 2, 3);
        var q = NDArray.From(new[] { false, true, true }, 3);
        yield return C("LogicalAnd broadcast", CompareOps.LogicalAnd, Family.Data, (g, t) => g.LogicalAnd(t[0], t[1]), p, q);
        yield return C("LogicalOr broadcast", CompareOps.LogicalOr, Family.Data, (g, t) => g.LogicalOr(t[0], t[1]), p, q);
        yield return C("LogicalNot", CompareOps.LogicalNot, Family.Data, (g, t) => g.AddOp(CompareOps.LogicalNot, [t[0]]).Outputs[0], p);
        yield return C("SelectV2 same shapes", CompareOps.SelectV2, Family.Data, (g, t) => g.Where(g.Greater(t[0], t[1]), t[0], t[1]), Rand(5, 7), Rand(5, 7));
        yield return C("SelectV2 cond [3,1], a [4], b scalar", CompareOps.SelectV2, Family.Data,
            (g, t) => g.Where(t[0], t[1], t[2]), NDArray.From(new[] { true, false, true }, 3, 1), Rand(4), Rand());
        yield return C("SelectV2 int64", CompareOps.SelectV2, Family.Data, (g, t) => g.Where(t[0], t[1], t[2]),
            NDArray.From(new[] { true, false, false }, 3), NDArray.From(new long[] { 1, 2, 3 }, 3), NDArray.From(new long[] { -1, -2, -3 }, 3));
        var mixed = NDArray.From(new float[] { -2.7f, -0.5f, 0, 0.5f, 1.5f, 2.5f, 300, -1e10f, float.NaN, 1e10f }, 10);
        foreach (var to in new[] { DType.Int32, DType.Int64, DType.UInt8, DType.Bool, DType.Float64 })
            yield return C($"Cast float32 to {to.Name()}", CompareOps.Cast, Family.Data, (g, t) => g.Cast(t[0], to), mixed);
        yield return C("Cast int32 to float32", CompareOps.Cast, Family.Data, (g, t) => g.Cast(t[0], DType.Float32),
            NDArray.From(new[] { -5, 0, 7, 16777217, int.MaxValue }, 5));
        yield return C("Cast bool to float32", CompareOps.Cast, Family.Data, (g, t) => g.Cast(g.Less(t[0], t[1]), DType.Float32), Rand(3, 4), Rand(4));
        yield return C("Cast int64 to int32", CompareOps.Cast, Family.Data, (g, t) => g.Cast(t[0], DType.Int32), NDArray.From(new long[] { 3, -4, 1L << 40 }, 3));
        yield return C("ArgMax [4,7] axis 1", Reduce.ArgMax, Family.Data, (g, t) => g.ArgMax(t[0], 1), WithNaN(Rand(4, 7), 9));
        yield return C("ArgMax [3,5,2] axis 1 int32", Reduce.ArgMax, Family.Data, (g, t) => g.ArgMax(t[0], 1, DType.Int32), Rand(3, 5, 2));
        yield return C("ArgMin [6,4] axis 0", Reduce.ArgMin, Family.Data, (g, t) => g.ArgMin(t[0], 0), Rand(6, 4));
        yield return C("SumToShape [4,3,5] to [3,1]", ShapeOps.SumToShape, Family.Reduction,
            (g, t) => g.SumToShape(t[0], g.Const(NDArray.From(new[] { 3, 1 }))), Rand(4, 3, 5));
        yield return C("SumToShape [6,5] to [5]", ShapeOps.SumToShape, Family.Reduction,
            (g, t) => g.SumToShape(t[0], g.Const(NDArray.From(new[] { 5 }))), Rand(6, 5));
        yield return C("Fill [3,4] with 2.5", ShapeOps.Fill, Family.Data,
            (g, t) => g.Fill(g.Const(NDArray.From(new[] { 3, 4 })), g.Const(NDArray.Scalar(2.5f))), Rand(1));

        // Array ops run by their op files' own logic over GPU strided copies and fills.
        static Tensor I(Graph g, params int[] v) => g.Const(NDArray.From(v));
        yield return C("ConcatV2 axis 1", ConcatOps.ConcatV2, Family.Data, (g, t) => g.Concat([t[0], t[1], t[2]], 1), Rand(3, 2), Rand(3, 5), Rand(3, 1));
        yield return C("ConcatV2 axis 0 int32", ConcatOps.ConcatV2, Family.Data, (g, t) => g.Concat([t[0], t[1]], 0),
            NDArray.From(new[] { 1, 2, 3, 4 }, 2, 2), NDArray.From(new[] { 5, 6 }, 1, 2));
        yield return new("Split 3 along axis 1", ConcatOps.Split, Family.Data, (g, t) => g.Split(t[0], 3, 1), [Rand(4, 6, 2)]);
        yield return new("SplitV 2,-1,1 along axis 0", ConcatOps.SplitV, Family.Data, (g, t) => g.SplitV(t[0], [2, -1, 1], 0), [Rand(7, 3)]);
        yield return C("Pack axis 1", ConcatOps.Pack, Family.Data, (g, t) => g.Stack([t[0], t[1], t[2]], 1), Rand(4, 3), Rand(4, 3), Rand(4, 3));
        yield return new("Unpack axis 1", ConcatOps.Unpack, Family.Data, (g, t) => g.Unstack(t[0], axis: 1), [Rand(2, 3, 4)]);
        yield return C("Slice [1,0,2] size [2,-1,3]", SliceOps.Slice, Family.Data, (g, t) => g.Slice(t[0], [1, 0, 2], [2, -1, 3]), Rand(4, 3, 6));
        yield return C("StridedSlice reversed, shrink", SliceOps.StridedSlice, Family.Data,
            (g, t) => g.StridedSlice(t[0], [0, 5, 1], [3, 0, 2], [2, -2, 1], shrinkAxisMask: 4), Rand(4, 7, 3));
        yield return C("StridedSliceGrad", SliceOps.StridedSliceGrad, Family.Data,
            (g, t) => g.StridedSliceGrad(I(g, 5, 6), I(g, 1, 0), I(g, 5, 6), I(g, 2, 3), t[0]), Rand(2, 2));
        yield return C("Pad [[1,2],[0,3]]", SliceOps.Pad, Family.Data, (g, t) => g.Pad(t[0], new[,] { { 1, 2 }, { 0, 3 } }), Rand(3, 4));
        yield return C("PadV2 with 7.5", SliceOps.PadV2, Family.Data, (g, t) => g.Pad(t[0], new[,] { { 2, 0 }, { 1, 1 } }, 7.5), Rand(2, 3));
        yield return C("Tile [2,1,3]", ArrayOps.Tile, Family.Data, (g, t) => g.Tile(t[0], [2, 1, 3]), Rand(2, 3, 2));
        yield return C("ReverseSequence", SequenceOps.ReverseSequence, Family.Data,
            (g, t) => g.ReverseSequence(t[0], g.Const(NDArray.From(new long[] { 3, 0, 5 })), seqAxis: 1, batchAxis: 0), Rand(3, 5, 2));

        // Index-driven ops and the rest of the math.
        yield return C("GatherV2 axis 1, indices [2,3]", GatherOps.GatherV2, Family.Data, (g, t) => g.Gather(t[0], t[1], 1),
            Rand(3, 5, 2), NDArray.From(new[] { 4, 0, 0, 2, 1, 4 }, 2, 3));
        yield return C("GatherV2 int64 indices", GatherOps.GatherV2, Family.Data, (g, t) => g.Gather(t[0], t[1]), Rand(6, 3), NDArray.From(new long[] { 5, 1, 1 }, 3));
        yield return C("OneHot depth 4 axis -1", GatherOps.OneHot, Family.Data, (g, t) => g.OneHot(t[0], 4, 2.5, -1),
            NDArray.From(new[] { 0, 3, -1, 5, 2, 1 }, 2, 3));
        yield return C("OneHot axis 0", GatherOps.OneHot, Family.Data, (g, t) => g.OneHot(t[0], 3, axis: 0), NDArray.From(new long[] { 2, 0, 1, 1 }, 4));
        yield return C("UnsortedSegmentSum", GatherOps.UnsortedSegmentSum, Family.Data, (g, t) => g.UnsortedSegmentSum(t[0], t[1], 4),
            Rand(6, 3), NDArray.From(new[] { 3, 0, 3, 1, 0, 3 }, 6));
        yield return C("Pow float broadcast", PowOps.Pow, Family.Transcendental, (g, t) => g.Pow(t[0], t[1]), RandIn(0.1, 3, 4, 5), Rand(5));
        yield return C("Pow int32", PowOps.Pow, Family.Data, (g, t) => g.Pow(t[0], t[1]),
            NDArray.From(new[] { 2, -3, 5, 0, 7 }, 5), NDArray.From(new[] { 10, 3, 0, 4, 1 }, 5));
        yield return C("ClipByValue scalar bounds with NaN", ClipOps.ClipByValue, Family.Data, (g, t) => g.ClipByValue(t[0], -1.0, 1.5), WithNaN(Rand(4, 6), 7));
        yield return C("ClipByValue tensor bounds", ClipOps.ClipByValue, Family.Data, (g, t) => g.ClipByValue(t[0], t[1], t[2]),
            Rand(3, 4), RandIn(-2, -1, 3, 4), RandIn(0, 1, 3, 4));

        // Small ops and data movement.
        yield return C("AddN x3", AddNOp.Def, Family.Arithmetic, (g, t) => g.AddN([t[0], t[1], t[2]]), Rand(5, 3), Rand(5, 3), Rand(5, 3));
        yield return C("ZerosLike", ShapeOps.ZerosLike, Family.Data, (g, t) => g.ZerosLike(t[0]), Rand(4, 7));
        yield return C("OnesLike", ShapeOps.OnesLike, Family.Data, (g, t) => g.OnesLike(t[0]), Rand(4, 7));
        yield return C("Transpose [2,3,4] perm 2,0,1", ArrayOps.Transpose, Family.Data, (g, t) => g.Transpose(t[0], [2, 0, 1]), Rand(2, 3, 4));
        yield return C("BroadcastTo [3,1] to [2,3,4]", ShapeOps.BroadcastTo, Family.Data,
            (g, t) => g.BroadcastTo(t[0], g.Const(NDArray.From(new[] { 2, 3, 4 }))), Rand(3, 1));
        yield return C("Identity", StateOps.Identity, Family.Data, (g, t) => g.Identity(t[0] * 2.0), Rand(3, 5));
        yield return C("StopGradient", StateOps.StopGradient, Family.Data, (g, t) => g.StopGradient(t[0] * 2.0), Rand(3, 5));
        yield return C("Reshape [3,4] to [2,-1]", ShapeOps.Reshape, Family.Data, (g, t) => g.Reshape(t[0] * 2.0, [2, -1]), Rand(3, 4));
        yield return C("ExpandDims axis 1", ArrayOps.ExpandDims, Family.Data, (g, t) => g.ExpandDims(t[0] * 2.0, 1), Rand(3, 4));
        yield return C("Squeeze", ArrayOps.Squeeze, Family.Data, (g, t) => g.Squeeze(t[0] * 2.0), Rand(3, 1, 4));

        foreach (var c in Cnn()) yield return c;
        foreach (var c in Rnn()) yield return c;
        foreach (var c in State()) yield return c;
    }

}
