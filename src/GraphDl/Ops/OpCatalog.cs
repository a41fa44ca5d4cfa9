namespace GraphDl.Ops;

/// <summary>The table of contents of every op. A test fails if an <see cref="OpDef"/> exists that is missing here,
/// or that the op test table does not cover with a forward check and a gradient check (or an explicit
/// "not differentiable").</summary>
public static class OpCatalog
{
    /// <summary>Every op.</summary>
    public static readonly OpDef[] All =
    [
        // state and plumbing
        StateOps.Const, StateOps.Placeholder, StateOps.PlaceholderWithDefault, StateOps.Identity, StateOps.StopGradient, StateOps.NoOp,
        VariableOps.VariableV2, VariableOps.Assign, VariableOps.AssignAdd, VariableOps.AssignSub,
        // math
        BinaryOps.Add, BinaryOps.Sub, BinaryOps.Mul, BinaryOps.RealDiv, BinaryOps.Maximum, BinaryOps.Minimum, BinaryOps.SquaredDifference,
        UnaryOps.Neg, UnaryOps.Square, UnaryOps.Sqrt, UnaryOps.Rsqrt, UnaryOps.Exp, UnaryOps.Log, UnaryOps.Log1p, UnaryOps.Abs,
        UnaryOps.Sign, UnaryOps.Reciprocal, UnaryOps.Cos, UnaryOps.Sin, UnaryOps.Floor, UnaryOps.Sigmoid, UnaryOps.Tanh, UnaryOps.SigmoidGrad, UnaryOps.TanhGrad,
        CompareOps.Less, CompareOps.LessEqual, CompareOps.Greater, CompareOps.GreaterEqual, CompareOps.Equal, CompareOps.NotEqual,
        CompareOps.LogicalAnd, CompareOps.LogicalOr, CompareOps.LogicalNot, CompareOps.SelectV2, CompareOps.Cast,
        AddNOp.Def, MatMulOps.MatMul, MatMulOps.BatchMatMul,
        Reduce.Sum, Reduce.Mean, Reduce.Max, Reduce.Min, Reduce.Prod, Reduce.ArgMax, Reduce.ArgMin, Reduce.ReducedShape,
        // shapes
        ShapeOps.Shape, ShapeOps.Size, ShapeOps.Reshape, ShapeOps.BroadcastTo, ShapeOps.SumToShape, ShapeOps.Fill,
        ShapeOps.ZerosLike, ShapeOps.OnesLike,
        // random
        RandomOps.RandomUniform, RandomOps.RandomStandardNormal, RandomOps.TruncatedNormal, RandomOps.RandomShuffle,
        // array ops (helper: array)
        ArrayOps.Transpose, ArrayOps.InvertPermutation, ArrayOps.ExpandDims, ArrayOps.Squeeze, ArrayOps.Rank, ArrayOps.Tile,
        ConcatOps.ConcatV2, ConcatOps.ConcatOffset, ConcatOps.Split, ConcatOps.SplitV, ConcatOps.Pack, ConcatOps.Unpack,
        SliceOps.Slice, SliceOps.StridedSlice, SliceOps.StridedSliceGrad, SliceOps.Pad, SliceOps.PadV2,
        GatherOps.GatherV2, GatherOps.UnsortedSegmentSum, GatherOps.OneHot,
        SequenceOps.Range, SequenceOps.ReverseSequence,
        // nn ops (helper: nn)
        PowOps.Pow,
        ActivationOps.Relu, ActivationOps.Relu6, ActivationOps.LeakyRelu, ActivationOps.Elu, ActivationOps.Selu, ActivationOps.Softplus, ActivationOps.Softsign,
        ActivationGradOps.ReluGrad, ActivationGradOps.Relu6Grad, ActivationGradOps.LeakyReluGrad, ActivationGradOps.EluGrad, ActivationGradOps.SeluGrad,
        ActivationGradOps.SoftplusGrad, ActivationGradOps.SoftsignGrad,
        SoftmaxOps.Softmax, SoftmaxOps.LogSoftmax,
        LossOps.SoftmaxCrossEntropyWithLogits, LossOps.SparseSoftmaxCrossEntropyWithLogits, LossOps.L2Loss,
        ClipOps.ClipByValue,
        // convolution ops (helper: cnn)
        ConvOps.Conv2D, ConvOps.Conv2DBackpropInput, ConvOps.Conv2DBackpropFilter,
        PoolOps.MaxPool, PoolOps.MaxPoolGrad, PoolOps.MaxPoolGradGrad, PoolOps.AvgPool, PoolOps.AvgPoolGrad,
        BiasOps.BiasAdd, BiasOps.BiasAddGrad, LrnOps.LRN, LrnOps.LRNGrad,
        // recurrent ops (helper: rnn)
        RnnSequenceOps.RnnSequence, RnnSequenceOps.RnnSequenceGrad, RnnSequenceOps.GruSequence, RnnSequenceOps.GruSequenceGrad,
        RnnSequenceOps.LstmSequence, RnnSequenceOps.LstmSequenceGrad,
        // summary ops (helper: tensorboard)
        SummaryOps.ScalarSummary, SummaryOps.HistogramSummary, SummaryOps.ImageSummary, SummaryOps.TensorSummaryV2, SummaryOps.MergeSummary,
        // training ops (helper: train)
        ApplyOps.ApplyGradientDescent, ApplyOps.ApplyMomentum, ApplyOps.ApplyAdagrad, ApplyOps.ApplyRMSProp,
        ApplyOps.ApplyCenteredRMSProp, ApplyOps.ApplyAdam,
    ];
}
