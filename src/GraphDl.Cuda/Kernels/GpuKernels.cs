using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>A GPU kernel: reads its inputs (on the device, or on the host where <see cref="GpuKernels.InputOnHost"/>
/// says so), takes outputs from the context and queues work on the device's stream.</summary>
internal delegate void GpuKernel(KernelContext c, CudaDevice d);

/// <summary>The GPU kernel of each op that has one. Broadcasting binary ops are instantiated from the op file's
/// own <see cref="OpDef.Functor"/>; every other op is keyed here by its <see cref="OpDef"/>.</summary>
public static class GpuKernels
{
    static readonly Dictionary<OpDef, GpuKernel> Table = [];
    static readonly Dictionary<OpDef, int[]> HostInputs = [];
    static readonly List<Func<IEnumerable<MethodInfo>>> KernelLists = [];

    /// <summary>Ops whose op-file functor does not compile for the GPU (it calls <c>T.CreateTruncating</c>, which
    /// ILGPU rejects): they get a GPU-side functor with the constant passed in instead.</summary>
    static readonly HashSet<OpDef> FunctorNotGpuSafe = [ActivationGradOps.Relu6Grad, ActivationGradOps.SeluGrad];

    /// <summary>The fused activation gradients take same-shape operands (no broadcasting), as on the CPU.</summary>
    static readonly HashSet<OpDef> SameShape = [ActivationGradOps.ReluGrad, ActivationGradOps.EluGrad];

    static GpuKernels()
    {
        // Binary ops from their op files' IArith functors.
        foreach (var op in OpCatalog.All)
        {
            if (op.Functor == null || FunctorNotGpuSafe.Contains(op)) continue;
            if (typeof(CompareOps.ICmp).IsAssignableFrom(op.Functor))
            {
                var cmp = typeof(CompareOp<>).MakeGenericType(op.Functor);
                Table[op] = cmp.GetMethod("Run", BindingFlags.Public | BindingFlags.Static)!.CreateDelegate<GpuKernel>();
                var cmpKernels = cmp.GetMethod("Kernels", BindingFlags.Public | BindingFlags.Static)!;
                KernelLists.Add(() => (IEnumerable<MethodInfo>)cmpKernels.Invoke(null, [true])!);
                continue;
            }
            var host = typeof(BinaryOp<>).MakeGenericType(op.Functor);
            var run = host.GetMethod(SameShape.Contains(op) ? "RunSameShape" : "Run", BindingFlags.Public | BindingFlags.Static)!;
            Table[op] = run.CreateDelegate<GpuKernel>();
            bool numeric = op.Infer == BinaryOps.Add.Infer || Array.IndexOf(NumericBinary, op) >= 0;
            var kernels = host.GetMethod("Kernels", BindingFlags.Public | BindingFlags.Static)!;
            KernelLists.Add(() => (IEnumerable<MethodInfo>)kernels.Invoke(null, [numeric])!);
        }

        Unary<NegFn>(UnaryOps.Neg); Unary<SquareFn>(UnaryOps.Square); Unary<SqrtFn>(UnaryOps.Sqrt); Unary<RsqrtFn>(UnaryOps.Rsqrt);
        Unary<ExpFn>(UnaryOps.Exp); Unary<LogFn>(UnaryOps.Log); Unary<Log1pFn>(UnaryOps.Log1p); Unary<AbsFn>(UnaryOps.Abs);
        Unary<SignFn>(UnaryOps.Sign); Unary<ReciprocalFn>(UnaryOps.Reciprocal); Unary<CosFn>(UnaryOps.Cos); Unary<SinFn>(UnaryOps.Sin);
        Unary<FloorFn>(UnaryOps.Floor); Unary<SigmoidFn>(UnaryOps.Sigmoid); Unary<TanhFn>(UnaryOps.Tanh);
        Unary<ReluFn>(ActivationOps.Relu); Unary<Relu6Fn>(ActivationOps.Relu6, 6);
        Add(ActivationOps.LeakyRelu, UnaryOp<LeakyReluFn>.WithAttr("alpha", 0.2), UnaryOp<LeakyReluFn>.Kernels);
        Unary<EluFn>(ActivationOps.Elu, 1, 1);
        Unary<EluFn>(ActivationOps.Selu, ActivationOps.SeluScale, ActivationOps.SeluScale * ActivationOps.SeluAlpha);
        Unary<SoftplusFn>(ActivationOps.Softplus); Unary<SoftsignFn>(ActivationOps.Softsign);

        Add(ActivationGradOps.Relu6Grad, Binary2Op<Relu6GradFn>.With(6), Binary2Op<Relu6GradFn>.Kernels);
        Add(ActivationGradOps.SeluGrad, Binary2Op<SeluGradFn>.With(ActivationOps.SeluScale, ActivationOps.SeluScale * ActivationOps.SeluAlpha), Binary2Op<SeluGradFn>.Kernels);
        Add(ActivationGradOps.LeakyReluGrad, Binary2Op<LeakyReluGradFn>.With(0.2, attr: "alpha"), Binary2Op<LeakyReluGradFn>.Kernels);
        Add(ActivationGradOps.SoftplusGrad, Binary2Op<SoftplusGradFn>.With(), Binary2Op<SoftplusGradFn>.Kernels);
        Add(ActivationGradOps.SoftsignGrad, Binary2Op<SoftsignGradFn>.With(), Binary2Op<SoftsignGradFn>.Kernels);

        Add(Reduce.Sum, ReduceOp.Of<SumStep>(), ReduceOp.Kernels, hostInputs: [1]);
        Add(Reduce.Mean, ReduceOp.Of<SumStep>(mean: true), null, hostInputs: [1]);
        Add(Reduce.Max, ReduceOp.Of<MaxStep>(), null, hostInputs: [1]);
        Add(Reduce.Min, ReduceOp.Of<MinStep>(), null, hostInputs: [1]);
        Add(Reduce.Prod, ReduceOp.Of<ProdStep>(), null, hostInputs: [1]);
        Add(LossOps.L2Loss, (c, d) =>
        {
            var x = c.Input(0);
            var y = c.Output(0, []);
            if (!x.DType.IsFloating()) throw c.Error($"L2Loss of {x.DType.Name()} is not supported");
            ReduceOp.Run<SumSquaresStep>(c, d, x, Enumerable.Repeat(true, x.Rank).ToArray(), y, 0);
        }, null);

        Add(MatMulOps.MatMul, (c, d) => MatMulOp.Run(c, d, batched: false), MatMulOp.Kernels);
        Add(MatMulOps.BatchMatMul, (c, d) => MatMulOp.Run(c, d, batched: true), null);

        Add(SoftmaxOps.Softmax, SoftmaxOp.Softmax(log: false), SoftmaxOp.Kernels);
        Add(SoftmaxOps.LogSoftmax, SoftmaxOp.Softmax(log: true), null);
        Add(LossOps.SoftmaxCrossEntropyWithLogits, SoftmaxOp.CrossEntropy, null);
        Add(LossOps.SparseSoftmaxCrossEntropyWithLogits, SoftmaxOp.SparseCrossEntropy, null);

        Add(CompareOps.LogicalAnd, LogicOp.Logic(0), LogicOp.Kernels);
        Add(CompareOps.LogicalOr, LogicOp.Logic(1), null);
        Add(CompareOps.LogicalNot, LogicOp.Not, null);
        Add(CompareOps.SelectV2, LogicOp.Select, null);
        Add(CompareOps.Cast, LogicOp.Cast, null);
        Add(Reduce.ArgMax, LogicOp.Arg(max: true), null, hostInputs: [1]);
        Add(Reduce.ArgMin, LogicOp.Arg(max: false), null, hostInputs: [1]);
        Add(ShapeOps.SumToShape, LogicOp.SumToShape, null, hostInputs: [1]);
        Add(ShapeOps.Fill, LogicOp.Fill, null, hostInputs: [0, 1]);

        Add(GatherOps.GatherV2, GatherOp.Gather, GatherOp.Kernels, hostInputs: [1, 2]);
        Add(GatherOps.OneHot, GatherOp.OneHot, null, hostInputs: [0, 1, 2, 3]);
        Add(GatherOps.UnsortedSegmentSum, GatherOp.SegmentSum, null, hostInputs: [1, 2]);
        Add(PowOps.Pow, GatherOp.Pow, null);
        Add(ClipOps.ClipByValue, GatherOp.Clip, null);

        Add(AddNOp.Def, MiscOp.AddN, MiscOp.Kernels);
        Add(ShapeOps.ZerosLike, MiscOp.FillLike(0), null);
        Add(ShapeOps.OnesLike, MiscOp.FillLike(1), null);
        Add(ArrayOps.Transpose, MiscOp.Transpose, null, hostInputs: [1]);
        Add(ShapeOps.BroadcastTo, MiscOp.BroadcastTo, null, hostInputs: [1]);

        // The CNN family (NHWC, as the CPU ops).
        Add(BiasOps.BiasAdd, BiasOp.BiasAdd, BiasOp.Kernels);
        Add(BiasOps.BiasAddGrad, BiasOp.BiasAddGrad, null);
        Add(ConvOps.Conv2D, ConvOp.Forward, ConvOp.Kernels);
        Add(ConvOps.Conv2DBackpropInput, ConvOp.BackpropInput, null, hostInputs: [0]);
        Add(ConvOps.Conv2DBackpropFilter, ConvOp.BackpropFilter, null, hostInputs: [1]);
        Add(LrnOps.LRN, LrnOp.Lrn, LrnOp.Kernels);
        Add(LrnOps.LRNGrad, LrnOp.LrnGrad, null);
        Add(PoolOps.MaxPool, PoolOp.Of(PoolOps.Mode.Max), PoolOp.Kernels);
        Add(PoolOps.MaxPoolGrad, PoolOp.Of(PoolOps.Mode.MaxGrad), null);
        Add(PoolOps.MaxPoolGradGrad, PoolOp.Of(PoolOps.Mode.MaxGradGrad), null);
        Add(PoolOps.AvgPool, PoolOp.Of(PoolOps.Mode.Avg), null);
        Add(PoolOps.AvgPoolGrad, PoolOp.Of(PoolOps.Mode.AvgGrad), null, hostInputs: [0]);

        // The fused RNN layers: seq_len is read on the host (validated as on the CPU, then copied to the GPU).
        Add(RnnSequenceOps.LstmSequence, RnnOp.LstmForward, RnnOp.Kernels, hostInputs: [1]);
        Add(RnnSequenceOps.LstmSequenceGrad, RnnOp.LstmBackward, null, hostInputs: [1]);
        Add(RnnSequenceOps.GruSequence, RnnOp.GruForward, null, hostInputs: [1]);
        Add(RnnSequenceOps.GruSequenceGrad, RnnOp.GruBackward, null, hostInputs: [1]);
        Add(RnnSequenceOps.RnnSequence, RnnOp.RnnForward, null, hostInputs: [1]);
        Add(RnnSequenceOps.RnnSequenceGrad, RnnOp.RnnBackward, null, hostInputs: [1]);

        // Variables that live on the GPU (the session keeps their values in device memory) and their in-place updates.
        Add(VariableOps.VariableV2, ApplyOp.Variable, ApplyOp.Kernels);
        Add(VariableOps.Assign, ApplyOp.Assign, null);
        Add(VariableOps.AssignAdd, ApplyOp.Update(+1), null);
        Add(VariableOps.AssignSub, ApplyOp.Update(-1), null);
        AddApply(ApplyOps.ApplyGradientDescent, ApplyOp.GradientDescent<float>, ApplyOp.GradientDescent<double>);
        AddApply(ApplyOps.ApplyMomentum, ApplyOp.Momentum<float>, ApplyOp.Momentum<double>);
        AddApply(ApplyOps.ApplyAdagrad, ApplyOp.Adagrad<float>, ApplyOp.Adagrad<double>);
        AddApply(ApplyOps.ApplyRMSProp, (c, d, v) => ApplyOp.RMSProp<float>(c, d, v, false), (c, d, v) => ApplyOp.RMSProp<double>(c, d, v, false));
        AddApply(ApplyOps.ApplyCenteredRMSProp, (c, d, v) => ApplyOp.RMSProp<float>(c, d, v, true), (c, d, v) => ApplyOp.RMSProp<double>(c, d, v, true));
        AddApply(ApplyOps.ApplyAdam, ApplyOp.Adam<float>, ApplyOp.Adam<double>);

        // Kernels of fused pairs (no op of their own): compiled by the PTX test like the rest.
        KernelLists.Add(FusedOp.Kernels);

        // RandomUniform: the CPU's generator, bit for bit (the normal samplers stay on the CPU: CpuOnlyOps says why).
        Add(RandomOps.RandomUniform, RandomOp.Uniform, RandomOp.Kernels, hostInputs: [0]);

        // Metadata-only ops: their CPU kernels touch no element, only dims (and host-side operands), so they run as is
        // on GPU arrays and yield views or forwards of them.
        Add(StateOps.Identity, (c, _) => c.Node.Def.Cpu(c), null);
        Add(StateOps.StopGradient, (c, _) => c.Node.Def.Cpu(c), null);
        Add(ShapeOps.Reshape, (c, _) => c.Node.Def.Cpu(c), null, hostInputs: [1]);
        Add(ArrayOps.ExpandDims, (c, _) => c.Node.Def.Cpu(c), null, hostInputs: [1]);
        Add(ArrayOps.Squeeze, (c, _) => c.Node.Def.Cpu(c), null);

        // Array ops whose CPU kernels touch elements only through ArrayKernels.StridedCopy/FillZero/FillWith, which hand GPU
        // arrays to CudaDevice.StridedCopy/Fill: the op file's own logic (validation, offsets) runs unchanged.
        GpuKernel opLogic = (c, _) => c.Node.Def.Cpu(c);
        Add(ConcatOps.ConcatV2, opLogic, null, hostInputs: [-1]);
        Add(ConcatOps.Split, opLogic, null, hostInputs: [0]);
        Add(ConcatOps.SplitV, opLogic, null, hostInputs: [1, 2]);
        Add(ConcatOps.Pack, opLogic, null);
        Add(ConcatOps.Unpack, opLogic, null);
        Add(SliceOps.Slice, opLogic, null, hostInputs: [1, 2]);
        Add(SliceOps.StridedSlice, opLogic, null, hostInputs: [1, 2, 3]);
        Add(SliceOps.StridedSliceGrad, opLogic, null, hostInputs: [0, 1, 2, 3]);
        Add(SliceOps.Pad, opLogic, null, hostInputs: [1]);
        Add(SliceOps.PadV2, opLogic, null, hostInputs: [1, 2]);
        Add(ArrayOps.Tile, opLogic, null, hostInputs: [1]);
        Add(SequenceOps.ReverseSequence, opLogic, null, hostInputs: [1]);
    }

    /// <summary>The seven broadcasting arithmetic ops accept every numeric dtype; the rest are float-only.</summary>
    static readonly OpDef[] NumericBinary = [BinaryOps.Add, BinaryOps.Sub, BinaryOps.Mul, BinaryOps.RealDiv, BinaryOps.Maximum, BinaryOps.Minimum, BinaryOps.SquaredDifference];

    static void Unary<TFn>(OpDef op, double p = 0, double q = 0) where TFn : struct, IGpuUnary =>
        Add(op, UnaryOp<TFn>.With(p, q), UnaryOp<TFn>.Kernels);

    static void Add(OpDef op, GpuKernel kernel, Func<IEnumerable<MethodInfo>>? kernels, int[]? hostInputs = null)
    {
        if (!Table.TryAdd(op, kernel)) throw new InvalidOperationException($"{op.Name} has two GPU kernels");
        if (kernels != null) KernelLists.Add(kernels);
        if (hostInputs != null) HostInputs[op] = hostInputs;
    }

    static void AddApply(OpDef op, Action<KernelContext, CudaDevice, NDArray> f32, Action<KernelContext, CudaDevice, NDArray> f64) =>
        Add(op, ApplyOp.Apply(op, f32, f64), null, hostInputs: ApplyOp.ScalarInputs(op));

    /// <summary>True if the op has a GPU kernel.</summary>
    public static bool Has(OpDef op) => Table.ContainsKey(op);

    /// <summary>The ops with a GPU kernel.</summary>
    public static IReadOnlyCollection<OpDef> Ops => Table.Keys;

    internal static GpuKernel? Get(OpDef op) => Table.GetValueOrDefault(op);

    /// <summary>True if the GPU kernel of <paramref name="node"/> reads input <paramref name="input"/> on the host (-1 in the
    /// table stands for the last input, ConcatV2's axis).</summary>
    public static bool InputOnHost(Operation node, int input) =>
        HostInputs.TryGetValue(node.Def, out var h) && (Array.IndexOf(h, input) >= 0 || (input == node.Inputs.Length - 1 && Array.IndexOf(h, -1) >= 0));

    /// <summary>Every ILGPU kernel method instantiation the GPU ops launch (the PTX test compiles each).</summary>
    public static IReadOnlyList<MethodInfo> AllKernelMethods() => KernelLists.SelectMany(f => f()).Distinct().ToList();
}
