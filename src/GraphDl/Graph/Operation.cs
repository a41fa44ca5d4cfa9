using GraphDl.Ops;

namespace GraphDl;

/// <summary>A node of the graph: an op applied to input tensors, producing output tensors.</summary>
public sealed class Operation
{
    internal Operation(Graph graph, int id, string name, OpDef def, Tensor[] inputs, Operation[] controlInputs, Attrs attrs, string? device)
    {
        Graph = graph; Id = id; Name = name; Def = def; Inputs = inputs; ControlInputs = controlInputs; Attrs = attrs; Device = device;
        Outputs = [];
    }

    /// <summary>The graph that owns this node.</summary>
    public Graph Graph { get; }
    /// <summary>Position in the graph; inputs always have smaller ids (the graph is built in order).</summary>
    public int Id { get; }
    /// <summary>Unique name, scope included (<c>dense/MatMul_1</c>).</summary>
    public string Name { get; }
    /// <summary>The op definition.</summary>
    public OpDef Def { get; }
    /// <summary>TensorFlow's op type string.</summary>
    public string Type => Def.Name;
    /// <summary>Data inputs.</summary>
    public Tensor[] Inputs { get; }
    /// <summary>Ops that must run before this one.</summary>
    public Operation[] ControlInputs { get; }
    /// <summary>Outputs.</summary>
    public Tensor[] Outputs { get; internal set; }
    /// <summary>Attributes.</summary>
    public Attrs Attrs { get; }
    /// <summary>Attr-derived flags a hot kernel parses once and keeps here (-1 until then; each op type defines its bits).</summary>
    internal int kernelFlags = -1;
    /// <summary>Requested device (<c>/cpu:0</c>, <c>/gpu:0</c>), or null for the session's default.</summary>
    public string? Device { get; }
    /// <summary>The first output.</summary>
    public Tensor Output => Outputs.Length > 0 ? Outputs[0] : throw new InvalidOperationException($"{Type} '{Name}' has no outputs");

    /// <summary>Runs this op in a session (TF1's <c>op.run()</c>).</summary>
    public void Run(Session session, params (Tensor, NDArray)[] feeds) => session.Run([], feeds, [this]);

    /// <inheritdoc/>
    public override string ToString() => $"{Type} '{Name}'";
}

/// <summary>A symbolic value: output <see cref="Index"/> of an <see cref="Operation"/>.</summary>
public sealed partial class Tensor
{
    internal Tensor(Operation op, int index, DType dtype, Shape shape) { Op = op; Index = index; DType = dtype; Shape = shape; }

    /// <summary>The producing op.</summary>
    public Operation Op { get; }
    /// <summary>Which output of the op.</summary>
    public int Index { get; }
    /// <summary>The element type.</summary>
    public DType DType { get; }
    /// <summary>The static shape (dims may be unknown).</summary>
    public Shape Shape { get; private set; }
    /// <summary>The graph.</summary>
    public Graph Graph => Op.Graph;
    /// <summary>TensorFlow-style name, <c>op:index</c>.</summary>
    public string Name => $"{Op.Name}:{Index}";

    /// <summary>Refines the static shape (TF1's <c>set_shape</c>); throws if incompatible.</summary>
    public void SetShape(Shape shape)
    {
        try { Shape = Shape.MergeWith(shape); }
        catch (ShapeError e) { throw new GraphBuildException($"{Op}: cannot set shape: {e.Message}{CallSite.Describe()}"); }
    }

    /// <summary>Runs the graph to compute this tensor (TF1's <c>tensor.eval()</c>).</summary>
    public NDArray Eval(Session session, params (Tensor, NDArray)[] feeds) => session.Run(this, feeds);

    /// <inheritdoc/>
    public override string ToString() => $"Tensor(\"{Name}\", shape={Shape}, dtype={DType.Name()})";
}
