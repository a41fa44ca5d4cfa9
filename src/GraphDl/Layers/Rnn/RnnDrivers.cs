namespace GraphDl;

/// <summary>TF1's recurrent drivers (<c>tf.nn.static_rnn</c>, <c>dynamic_rnn</c>, <c>bidirectional_dynamic_rnn</c>) and
/// <c>embedding_lookup</c>, as graph extension methods.</summary>
public static partial class RnnBuilders
{
    /// <summary>A zero state for <paramref name="cell"/> with the batch size of <paramref name="batchLike"/>'s first dimension.</summary>
    public static Tensor[] ZeroState(this Graph g, IRnnCell cell, Tensor batchLike, DType dtype)
    {
        using var _ = g.NameScope("zero_state");
        int b = batchLike.Shape.HasRank ? batchLike.Shape[0] : -1;
        Tensor batch = b >= 0 ? g.Const(NDArray.From(new[] { b }), "batch") : g.Slice(g.ShapeOf(batchLike), [0], [1]);
        var result = new Tensor[cell.StateSize.Length];
        for (int k = 0; k < result.Length; k++)
        {
            var shape = g.Concat([batch, g.Const(NDArray.From(new[] { cell.StateSize[k] }))], 0);
            result[k] = g.Fill(shape, g.Scalar(0, dtype), "zeros");
            result[k].SetShape(new Shape(b, cell.StateSize[k]));
        }
        return result;
    }

    /// <summary>TF1's <c>tf.nn.static_rnn</c>: the cell unrolled over a list of <c>[batch, features]</c> inputs (any cell,
    /// a user's own included). With <paramref name="sequenceLength"/>, outputs past an example's length are zero and its
    /// state stops updating. Variables live under the variable scope <paramref name="scope"/>.</summary>
    public static (Tensor[] Outputs, Tensor[] State) StaticRnn(this Graph g, IRnnCell cell, IReadOnlyList<Tensor> inputs,
        Tensor[]? initialState = null, Tensor? sequenceLength = null, string scope = "rnn")
    {
        if (inputs.Count == 0) throw new GraphBuildException($"StaticRnn: needs at least one input{CallSite.Describe()}");
        using var _ = g.VariableScope(scope);
        var state = initialState ?? g.ZeroState(cell, inputs[0], inputs[0].DType);
        CheckState(cell, state);
        var outputs = new Tensor[inputs.Count];
        Tensor? lengths = sequenceLength == null ? null : CheckLengths(g, sequenceLength);
        for (int t = 0; t < inputs.Count; t++)
        {
            var (y, s) = cell.Call(g, inputs[t], state);
            if (lengths != null)
            {
                using var __ = g.NameScope("mask");
                var active = g.ExpandDims(g.Less(g.Scalar(t, lengths.DType), lengths), 1);
                y = g.Where(active, y, g.ZerosLike(y));
                for (int k = 0; k < s.Length; k++) s[k] = g.Where(active, s[k], state[k]);
            }
            outputs[t] = y;
            state = s;
        }
        return (outputs, state);
    }

    /// <summary><see cref="StaticRnn(Graph, IRnnCell, IReadOnlyList{Tensor}, Tensor[], Tensor, string)"/> over a
    /// <c>[batch, time, features]</c> input whose time dimension is known; outputs stacked as <c>[batch, time, units]</c>.</summary>
    public static (Tensor Outputs, Tensor[] State) StaticRnn(this Graph g, IRnnCell cell, Tensor x,
        Tensor[]? initialState = null, Tensor? sequenceLength = null, string scope = "rnn")
    {
        if (!x.Shape.HasRank || x.Shape.Rank != 3 || x.Shape[1] < 0)
            throw new GraphBuildException($"StaticRnn: input {x.Name} must be [batch, time, features] with a known time dimension, got {x.Shape}{CallSite.Describe()}");
        var steps = g.Unstack(x, axis: 1);
        var (ys, state) = g.StaticRnn(cell, steps, initialState, sequenceLength, scope);
        return (g.Stack(ys, 1), state);
    }

    /// <summary>TF1's <c>tf.nn.dynamic_rnn</c> over <c>[batch, time, features]</c> (time may be unknown at build time):
    /// outputs <c>[batch, time, units]</c> and the final state. With <paramref name="sequenceLength"/> (int32 or int64,
    /// <c>[batch]</c>) outputs past an example's length are zero and its state stops there. Built-in cells
    /// (<see cref="BasicRNNCell"/> with tanh, <see cref="GRUCell"/>, <see cref="LSTMCell"/>, and a
    /// <see cref="MultiRNNCell"/> of them) run as fused sequence ops, one op per layer; other cells are unrolled (their
    /// input needs a known time dimension until graph control flow exists).</summary>
    public static (Tensor Outputs, Tensor[] State) DynamicRnn(this Graph g, IRnnCell cell, Tensor x, Tensor? sequenceLength = null,
        Tensor[]? initialState = null, string scope = "rnn")
    {
        if (!x.Shape.HasRank || x.Shape.Rank != 3)
            throw new GraphBuildException($"DynamicRnn: input {x.Name} must be [batch, time, features], got {x.Shape}{CallSite.Describe()}");
        if (!x.DType.IsFloating())
            throw new GraphBuildException($"DynamicRnn: input {x.Name} must be float32 or float64, got {x.DType.Name()}{CallSite.Describe()}");
        if (CanFuse(cell))
        {
            using var _ = g.VariableScope(scope);
            var state = initialState ?? g.ZeroState(cell, x, x.DType);
            CheckState(cell, state);
            var lengths = sequenceLength == null ? null : CheckLengths(g, sequenceLength);
            return RunFused(g, cell, x, lengths, state);
        }
        if (x.Shape[1] < 0)
            throw new GraphBuildException($"DynamicRnn: cell {cell.GetType().Name} has no fused sequence op, so the time dimension of {x.Name} must be known (got {x.Shape}); use a built-in cell or StaticRnn{CallSite.Describe()}");
        return g.StaticRnn(cell, x, initialState, sequenceLength, scope);
    }

    /// <summary>TF1's <c>tf.nn.bidirectional_dynamic_rnn</c>: a forward pass, and a backward pass over each sequence
    /// reversed within its own length (<c>ReverseSequence</c>), its outputs reversed back. Variables under
    /// <c>scope/fw/</c> and <c>scope/bw/</c>.</summary>
    public static (Tensor OutputFw, Tensor OutputBw, Tensor[] StateFw, Tensor[] StateBw) BidirectionalDynamicRnn(this Graph g,
        IRnnCell cellFw, IRnnCell cellBw, Tensor x, Tensor? sequenceLength = null, Tensor[]? initialStateFw = null,
        Tensor[]? initialStateBw = null, string scope = "bidirectional_rnn")
    {
        using var _ = g.VariableScope(scope);
        var (yf, sf) = g.DynamicRnn(cellFw, x, sequenceLength, initialStateFw, "fw");
        Tensor lengths;
        using (g.NameScope("bw_lengths"))
        {
            if (sequenceLength != null) lengths = CheckLengths(g, sequenceLength);
            else
            {
                var shape = g.ShapeOf(x);
                var batch = g.Slice(shape, [0], [1]);
                var time = g.Reshape(g.Slice(shape, [1], [1]), Array.Empty<int>());
                lengths = g.Fill(batch, time);
            }
        }
        var xr = g.ReverseSequence(x, lengths, 1, 0);
        var (yr, sb) = g.DynamicRnn(cellBw, xr, sequenceLength, initialStateBw, "bw");
        var yb = g.ReverseSequence(yr, lengths, 1, 0);
        return (yf, yb, sf, sb);
    }

    /// <summary>TF1's <c>tf.nn.embedding_lookup</c> (one partition): rows of <paramref name="params"/> at <paramref name="ids"/>,
    /// on Gather (its gradient flows back to the rows looked up).</summary>
    public static Tensor EmbeddingLookup(this Graph g, Tensor @params, Tensor ids, string? name = null) =>
        g.Gather(@params, ids, 0, name ?? "embedding_lookup");

    static void CheckState(IRnnCell cell, Tensor[] state)
    {
        if (state.Length != cell.StateSize.Length)
            throw new GraphBuildException($"{cell.GetType().Name}: initial state has {state.Length} tensors, the cell needs {cell.StateSize.Length}{CallSite.Describe()}");
    }

    static Tensor CheckLengths(Graph g, Tensor lengths)
    {
        if (lengths.DType != DType.Int32 && lengths.DType != DType.Int64)
            throw new GraphBuildException($"sequence_length {lengths.Name} must be int32 or int64, got {lengths.DType.Name()}{CallSite.Describe()}");
        if (lengths.Shape.HasRank && lengths.Shape.Rank != 1)
            throw new GraphBuildException($"sequence_length {lengths.Name} must be a vector [batch], got {lengths.Shape}{CallSite.Describe()}");
        return lengths;
    }
}

public static partial class RnnBuilders
{
    /// <summary>True if <paramref name="cell"/> runs on the fused sequence ops.</summary>
    public static bool CanFuse(IRnnCell cell) => cell switch
    {
        BasicRNNCell b => b.Activation == null,
        GRUCell or LSTMCell => true,
        MultiRNNCell m => m.Cells.All(CanFuse),
        _ => false,
    };

    static (Tensor Outputs, Tensor[] State) RunFused(Graph g, IRnnCell cell, Tensor x, Tensor? lengths, Tensor[] state)
    {
        if (cell is MultiRNNCell multi)
        {
            var next = new List<Tensor>();
            int at = 0;
            for (int k = 0; k < multi.Cells.Length; k++)
            {
                var sub = multi.Cells[k];
                int n = sub.StateSize.Length;
                var s = state[at..(at + n)];
                at += n;
                var input = x;
                var (y, ns) = multi.InCellScope(g, k, () => RunFused(g, sub, input, lengths, s));
                x = y;
                next.AddRange(ns);
            }
            return (x, next.ToArray());
        }
        var basic = (RnnCellBase)cell;
        basic.Build(g, x.Shape[2], x.DType);
        string scope = basic.ScopeName!;
        using (g.NameScope(scope[(scope.LastIndexOf('/') + 1)..]))
        {
            switch (cell)
            {
                case BasicRNNCell r:
                {
                    var (y, h) = g.RnnSequence(x, lengths, state[0], r.Kernel!.Value, r.Bias!.Value);
                    return (y, [h]);
                }
                case GRUCell gru:
                {
                    var (y, h) = g.GruSequence(x, lengths, state[0], gru.GateKernel!.Value, gru.GateBias!.Value,
                        gru.CandidateKernel!.Value, gru.CandidateBias!.Value);
                    return (y, [h]);
                }
                case LSTMCell lstm:
                {
                    var (y, h, c) = g.LstmSequence(x, lengths, state[1], state[0], lstm.Kernel!.Value, lstm.Bias!.Value, lstm.ForgetBias, lstm.CellClip);
                    return (y, [c, h]);
                }
                default: throw new InvalidOperationException(cell.GetType().Name);
            }
        }
    }
}
