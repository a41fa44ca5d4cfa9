using GraphDl.Train;

namespace GraphDl;

/// <summary>A recurrent cell (TF1's <c>tf.nn.rnn_cell.RNNCell</c>): one time step from an input and a state to an output and
/// a new state. The state is a flat list of <c>[batch, StateSize[k]]</c> tensors (an LSTM's is <c>(c, h)</c>; a
/// <see cref="MultiRNNCell"/>'s is its cells' states one after the other).</summary>
public interface IRnnCell
{
    /// <summary>Widths of the flat state parts.</summary>
    int[] StateSize { get; }

    /// <summary>Width of the output.</summary>
    int OutputSize { get; }

    /// <summary>One step: creates the cell's variables on the first call (in a variable scope named after the cell, under
    /// the current one) and reuses them afterwards.</summary>
    (Tensor Output, Tensor[] State) Call(Graph g, Tensor input, Tensor[] state);
}

/// <summary>Shared plumbing of the built-in cells: a name, variables created once, input-width checks.</summary>
public abstract class RnnCellBase : IRnnCell
{
    /// <summary>Creates a cell of <paramref name="numUnits"/> units with an optional scope name.</summary>
    protected RnnCellBase(int numUnits, string? name, string defaultName)
    {
        if (numUnits <= 0) throw new ArgumentOutOfRangeException(nameof(numUnits), numUnits, "numUnits must be positive");
        NumUnits = numUnits;
        Name = name;
        DefaultName = defaultName;
    }

    /// <summary>Hidden width.</summary>
    public int NumUnits { get; }
    /// <summary>The scope name asked for (null = a unique default like <c>basic_lstm_cell</c>).</summary>
    public string? Name { get; }
    /// <summary>The snake-case default scope name.</summary>
    protected string DefaultName { get; }
    /// <summary>Input width once built, else -1.</summary>
    public int InputSize { get; private set; } = -1;
    /// <summary>Full variable-scope path once built (<c>rnn/basic_lstm_cell</c>).</summary>
    public string? ScopeName { get; private set; }
    /// <summary>True once the variables exist.</summary>
    public bool IsBuilt => ScopeName != null;

    /// <inheritdoc/>
    public abstract int[] StateSize { get; }
    /// <inheritdoc/>
    public int OutputSize => NumUnits;

    /// <summary>Creates the variables (in the current variable scope) for inputs of width <paramref name="inputSize"/>.</summary>
    public void Build(Graph g, int inputSize, DType dtype)
    {
        if (IsBuilt)
        {
            if (inputSize != InputSize)
                throw new GraphBuildException($"{GetType().Name} '{ScopeName}' was built for inputs of width {InputSize}, called with width {inputSize}{CallSite.Describe()}");
            return;
        }
        if (inputSize < 0)
            throw new GraphBuildException($"{GetType().Name}: the input's last dimension must be known to build the cell's variables{CallSite.Describe()}");
        using (g.VariableScope(Name ?? LayerBuilders.UniqueLayerName(g, DefaultName)))
        {
            CreateVariables(g, inputSize, dtype);
            ScopeName = g.CurrentVariableScope;
        }
        InputSize = inputSize;
    }

    /// <summary>Creates the cell's variables inside its variable scope.</summary>
    protected abstract void CreateVariables(Graph g, int inputSize, DType dtype);

    /// <summary>The step's math, with variables built.</summary>
    protected abstract (Tensor Output, Tensor[] State) Step(Graph g, Tensor input, Tensor[] state);

    /// <inheritdoc/>
    public (Tensor Output, Tensor[] State) Call(Graph g, Tensor input, Tensor[] state)
    {
        if (state.Length != StateSize.Length)
            throw new GraphBuildException($"{GetType().Name}: expected {StateSize.Length} state tensors, got {state.Length}{CallSite.Describe()}");
        Build(g, input.Shape.HasRank && input.Shape.Rank == 2 ? input.Shape[1] : -1, input.DType);
        string scope = ScopeName!;
        using (g.NameScope(scope[(scope.LastIndexOf('/') + 1)..]))
            return Step(g, input, state);
    }

    /// <summary><c>[input, h] · kernel + bias</c>.</summary>
    protected static Tensor Linear(Graph g, Tensor input, Tensor h, Variable kernel, Variable bias) =>
        g.Add(g.MatMul(g.Concat([input, h], 1), kernel.Value), bias.Value, "BiasAdd");
}

/// <summary>TF1's <c>BasicRNNCell</c>: <c>h' = tanh([x, h] · kernel + bias)</c>; variables <c>basic_rnn_cell/kernel</c>
/// [in + units, units] and <c>basic_rnn_cell/bias</c> [units] (zeros). The output is the new state.</summary>
public sealed class BasicRNNCell(int numUnits, Func<Tensor, Tensor>? activation = null, string? name = null)
    : RnnCellBase(numUnits, name, "basic_rnn_cell")
{
    /// <summary>A non-default activation (null = tanh; only tanh runs on the fused op).</summary>
    public Func<Tensor, Tensor>? Activation { get; } = activation;
    /// <summary>The kernel, once built.</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The bias, once built.</summary>
    public Variable? Bias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSize => [NumUnits];

    /// <inheritdoc/>
    protected override void CreateVariables(Graph g, int inputSize, DType dtype)
    {
        Kernel = g.GetVariable("kernel", new Shape(inputSize + NumUnits, NumUnits), dtype);
        Bias = g.GetVariable("bias", new Shape(NumUnits), dtype, Initializers.Zeros());
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Graph g, Tensor input, Tensor[] state)
    {
        var pre = Linear(g, input, state[0], Kernel!, Bias!);
        var h = Activation != null ? Activation(pre) : g.Tanh(pre);
        return (h, [h]);
    }
}

/// <summary>TF1's <c>GRUCell</c>: <c>r, u = σ([x, h] · gates/kernel + gates/bias)</c> (that order),
/// <c>c = tanh([x, r∘h] · candidate/kernel + candidate/bias)</c>, <c>h' = u∘h + (1 − u)∘c</c>. Variables
/// <c>gru_cell/gates/kernel</c> [in + units, 2·units], <c>gru_cell/gates/bias</c> (ones), <c>gru_cell/candidate/kernel</c>
/// [in + units, units], <c>gru_cell/candidate/bias</c> (zeros).</summary>
public sealed class GRUCell(int numUnits, string? name = null) : RnnCellBase(numUnits, name, "gru_cell")
{
    /// <summary>Gates kernel, once built.</summary>
    public Variable? GateKernel { get; private set; }
    /// <summary>Gates bias, once built.</summary>
    public Variable? GateBias { get; private set; }
    /// <summary>Candidate kernel, once built.</summary>
    public Variable? CandidateKernel { get; private set; }
    /// <summary>Candidate bias, once built.</summary>
    public Variable? CandidateBias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSize => [NumUnits];

    /// <inheritdoc/>
    protected override void CreateVariables(Graph g, int inputSize, DType dtype)
    {
        using (g.VariableScope("gates"))
        {
            GateKernel = g.GetVariable("kernel", new Shape(inputSize + NumUnits, 2 * NumUnits), dtype);
            GateBias = g.GetVariable("bias", new Shape(2 * NumUnits), dtype, Initializers.Constant(1.0));
        }
        using (g.VariableScope("candidate"))
        {
            CandidateKernel = g.GetVariable("kernel", new Shape(inputSize + NumUnits, NumUnits), dtype);
            CandidateBias = g.GetVariable("bias", new Shape(NumUnits), dtype, Initializers.Zeros());
        }
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Graph g, Tensor input, Tensor[] state)
    {
        var h = state[0];
        var value = g.Sigmoid(Linear(g, input, h, GateKernel!, GateBias!));
        var ru = g.Split(value, 2, 1);
        var (r, u) = (ru[0], ru[1]);
        var c = g.Tanh(Linear(g, input, r * h, CandidateKernel!, CandidateBias!));
        var newH = u * h + (1.0 - u) * c;
        return (newH, [newH]);
    }
}

/// <summary>TF1's <c>LSTMCell</c> (no projection, no peepholes): <c>i, j, f, o = split([x, h] · kernel + bias, 4)</c> in that
/// gate order (input gate, candidate, forget gate, output gate), <c>c' = σ(f + forgetBias)∘c + σ(i)∘tanh(j)</c>, optionally
/// clipped to ±cellClip, <c>h' = σ(o)∘tanh(c')</c>. Variables <c>lstm_cell/kernel</c> [in + units, 4·units] and
/// <c>lstm_cell/bias</c> [4·units] (zeros). State <c>(c, h)</c>; output h.</summary>
public class LSTMCell : RnnCellBase
{
    /// <summary>An LSTM cell.</summary>
    public LSTMCell(int numUnits, double forgetBias = 1.0, double? cellClip = null, string? name = null)
        : this(numUnits, forgetBias, cellClip, name, "lstm_cell") { }

    /// <summary>For subclasses with another default name.</summary>
    protected LSTMCell(int numUnits, double forgetBias, double? cellClip, string? name, string defaultName) : base(numUnits, name, defaultName)
    {
        if (cellClip is <= 0) throw new ArgumentOutOfRangeException(nameof(cellClip), cellClip, "cellClip must be positive");
        ForgetBias = forgetBias;
        CellClip = cellClip;
    }

    /// <summary>Added to the forget gate's pre-activation.</summary>
    public double ForgetBias { get; }
    /// <summary>Cell-state clipping bound, or null.</summary>
    public double? CellClip { get; }
    /// <summary>The kernel, once built.</summary>
    public Variable? Kernel { get; private set; }
    /// <summary>The bias, once built.</summary>
    public Variable? Bias { get; private set; }

    /// <inheritdoc/>
    public override int[] StateSize => [NumUnits, NumUnits];

    /// <inheritdoc/>
    protected override void CreateVariables(Graph g, int inputSize, DType dtype)
    {
        Kernel = g.GetVariable("kernel", new Shape(inputSize + NumUnits, 4 * NumUnits), dtype);
        Bias = g.GetVariable("bias", new Shape(4 * NumUnits), dtype, Initializers.Zeros());
    }

    /// <inheritdoc/>
    protected override (Tensor Output, Tensor[] State) Step(Graph g, Tensor input, Tensor[] state)
    {
        var (c, h) = (state[0], state[1]);
        var parts = g.Split(Linear(g, input, h, Kernel!, Bias!), 4, 1);
        var (i, j, f, o) = (parts[0], parts[1], parts[2], parts[3]);
        var newC = g.Sigmoid(f + ForgetBias) * c + g.Sigmoid(i) * g.Tanh(j);
        if (CellClip is double clip) newC = g.ClipByValue(newC, -clip, clip);
        var newH = g.Sigmoid(o) * g.Tanh(newC);
        return (newH, [newC, newH]);
    }
}

/// <summary>TF1's <c>BasicLSTMCell</c>: <see cref="LSTMCell"/> without clipping, variables under <c>basic_lstm_cell</c>.</summary>
public sealed class BasicLSTMCell(int numUnits, double forgetBias = 1.0, string? name = null)
    : LSTMCell(numUnits, forgetBias, null, name, "basic_lstm_cell");

/// <summary>TF1's <c>MultiRNNCell</c>: cells stacked, each cell's output the next one's input; cell k's variables live under
/// <c>multi_rnn_cell/cell_k/</c>. The state is the cells' flat states concatenated.</summary>
public sealed class MultiRNNCell : IRnnCell
{
    string? scope;

    /// <summary>A stack of cells (first = bottom).</summary>
    public MultiRNNCell(IReadOnlyList<IRnnCell> cells, string? name = null)
    {
        if (cells.Count == 0) throw new ArgumentException("MultiRNNCell needs at least one cell", nameof(cells));
        Cells = cells.ToArray();
        Name = name;
    }

    /// <summary>The cells, bottom first.</summary>
    public IRnnCell[] Cells { get; }
    /// <summary>The scope name asked for.</summary>
    public string? Name { get; }

    /// <inheritdoc/>
    public int[] StateSize => Cells.SelectMany(c => c.StateSize).ToArray();
    /// <inheritdoc/>
    public int OutputSize => Cells[^1].OutputSize;

    /// <summary>Runs <paramref name="body"/> inside cell <paramref name="k"/>'s scope (<c>multi_rnn_cell/cell_k</c>).</summary>
    internal T InCellScope<T>(Graph g, int k, Func<T> body)
    {
        scope ??= Name ?? LayerBuilders.UniqueLayerName(g, "multi_rnn_cell");
        using (g.VariableScope(scope))
        using (g.VariableScope("cell_" + k))
            return body();
    }

    /// <inheritdoc/>
    public (Tensor Output, Tensor[] State) Call(Graph g, Tensor input, Tensor[] state)
    {
        if (state.Length != StateSize.Length)
            throw new GraphBuildException($"MultiRNNCell: expected {StateSize.Length} state tensors, got {state.Length}{CallSite.Describe()}");
        var x = input;
        var next = new List<Tensor>();
        int at = 0;
        for (int k = 0; k < Cells.Length; k++)
        {
            var cell = Cells[k];
            int n = cell.StateSize.Length;
            var sub = state[at..(at + n)];
            at += n;
            var (y, s) = InCellScope(g, k, () => cell.Call(g, x, sub));
            x = y;
            next.AddRange(s);
        }
        return (x, next.ToArray());
    }
}
