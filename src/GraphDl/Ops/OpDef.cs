namespace GraphDl.Ops;

/// <summary>One row of the op table: everything GraphDl knows about an op.</summary>
public sealed class OpDef
{
    /// <summary>TensorFlow's op type string (<c>MatMul</c>, <c>Relu</c>).</summary>
    public required string Name { get; init; }

    /// <summary>Output dtypes and static shapes, computed when the node is added.</summary>
    public required InferFn Infer { get; init; }

    /// <summary>Gradient rule; <c>null</c> means "not differentiable", stated on purpose.</summary>
    public required GradFn? Grad { get; init; }

    /// <summary>The CPU kernel.</summary>
    public required CpuKernel Cpu { get; init; }

    /// <summary>True if output 0 may share input 0's buffer (a pass-through or a reshape view): the planner then keeps
    /// input 0's buffer alive as long as the output is used. A kernel that forwards an input without it fails.</summary>
    public bool Aliases { get; init; }

    /// <summary>True for ops whose result is not a pure function of their inputs (random, variables, assign).</summary>
    public bool Stateful { get; init; }

    /// <summary>How many leading inputs are variable refs (<c>VariableV2</c> outputs) that the kernel updates in place
    /// (<c>Assign*</c>, <c>Apply*</c>): a session runs such an op on the device where those variables live.</summary>
    public int RefInputs { get; init; }

    /// <summary>True for ops whose kernel reads only the dtype and dims of its inputs, never their elements
    /// (<c>Shape</c>, <c>Size</c>, <c>Rank</c>): the planner hands such a node its inputs where they are, so a host op
    /// asking for the shape of a GPU tensor costs no copy of that tensor to the host.</summary>
    public bool DimsOnly { get; init; }

    /// <summary>The elementwise functor type (an <see cref="IArith"/> or <see cref="CompareOps.ICmp"/> struct) behind this
    /// op's kernel, or null: other
    /// devices (the GPU) instantiate their own kernels over the same functor, so its math is written once.</summary>
    public Type? Functor { get; init; }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>An output's dtype and static shape.</summary>
public readonly record struct OutputSpec(DType DType, Shape Shape);

/// <summary>Shape and dtype rule.</summary>
public delegate OutputSpec[] InferFn(InferContext c);

/// <summary>Gradient rule: one entry per input, null for "no gradient".</summary>
public delegate Tensor?[] GradFn(GradContext c);

/// <summary>A CPU kernel.</summary>
public delegate void CpuKernel(Runtime.KernelContext c);

/// <summary>What a shape rule sees.</summary>
public sealed class InferContext
{
    internal InferContext(Graph graph, Tensor[] inputs, Attrs attrs) { Graph = graph; Inputs = inputs; Attrs = attrs; }

    /// <summary>A context that knows more than the graph: the shapes and values that a run plan specialized on its feed
    /// shapes has worked out (<see cref="Runtime.PlanSpecializer"/>). A null shape falls back to the static shape; a null
    /// value means unknown (no fallback to build-time folding, which cannot know that the run feeds a tensor).</summary>
    internal InferContext(Graph graph, Tensor[] inputs, Attrs attrs, Shape?[] shapes, NDArray?[] values) : this(graph, inputs, attrs)
    {
        shapeOverride = shapes;
        valueOverride = values;
    }

    readonly Shape?[]? shapeOverride;
    readonly NDArray?[]? valueOverride;

    /// <summary>The graph.</summary>
    public Graph Graph { get; }
    /// <summary>The inputs.</summary>
    public Tensor[] Inputs { get; }
    /// <summary>The attributes.</summary>
    public Attrs Attrs { get; }
    /// <summary>Static shape of input <paramref name="i"/>.</summary>
    public Shape Shape(int i) => shapeOverride?[i] ?? Inputs[i].Shape;
    /// <summary>Dtype of input <paramref name="i"/>.</summary>
    public DType DType(int i) => Inputs[i].DType;
    /// <summary>The value of input <paramref name="i"/> when it is known at build time, else null.</summary>
    public NDArray? Constant(int i) => valueOverride != null ? valueOverride[i] : ConstantFolding.TryGetValue(Inputs[i]);
    /// <summary>Input <paramref name="i"/> as an int vector (axes, dims) when its value is known at build time, else null.</summary>
    public int[]? Ints(int i) => ConstantFolding.Ints(Constant(i));
    /// <summary>The shape that int-vector input <paramref name="i"/> describes, as far as it is known at build time (TF's
    /// <c>constant_value_as_shape</c>).</summary>
    public Shape AsShape(int i)
    {
        if (valueOverride == null) return ConstantFolding.AsShape(Inputs[i]);
        if (ConstantFolding.Ints(valueOverride[i]) is { } dims) return new Shape(dims);
        var s = Shape(i);
        return s.Rank == 1 && s[0] >= 0 ? GraphDl.Shape.UnknownOfRank(s[0]) : GraphDl.Shape.Unknown;
    }
    /// <summary>A single-output result.</summary>
    public static OutputSpec[] One(DType t, Shape s) => [new(t, s)];
}

/// <summary>What a gradient rule sees.</summary>
public sealed class GradContext
{
    internal GradContext(Operation op, Tensor?[] dys) { Op = op; Dys = dys; }

    /// <summary>The graph.</summary>
    public Graph G => Op.Graph;
    /// <summary>The forward op.</summary>
    public Operation Op { get; }
    /// <summary>Incoming gradients, one per output (null where none flows).</summary>
    public Tensor?[] Dys { get; }
    /// <summary>Gradient of output 0 (zeros if none flows).</summary>
    public Tensor Dy => Dys[0] ?? G.ZerosLike(Op.Outputs[0]);
    /// <summary>Forward input <paramref name="i"/>.</summary>
    public Tensor X(int i) => Op.Inputs[i];
    /// <summary>Forward output <paramref name="i"/>.</summary>
    public Tensor Y(int i = 0) => Op.Outputs[i];
    /// <summary>Sums <paramref name="grad"/> back to input <paramref name="input"/>'s shape if the op may have broadcast it.</summary>
    public Tensor ReduceTo(Tensor grad, int input) =>
        Families.ReduceTo(grad, X(input), Op.Inputs.Where((_, j) => j != input).ToArray());
    /// <summary>An attribute of the forward op.</summary>
    public Attrs Attrs => Op.Attrs;
}
