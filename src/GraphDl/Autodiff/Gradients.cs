namespace GraphDl;

/// <summary>Reverse-mode differentiation that adds gradient nodes to the graph (so gradients of gradients work).</summary>
public static class GradientsBuilder
{
    /// <summary>d(sum of ys)/d(xs), TF1's <c>tf.gradients</c>. Fan-out is summed; <c>StopGradient</c> and non-differentiable
    /// ops block the flow; an x that ys do not depend on gets null, or zeros when <paramref name="unconnectedZeros"/>.</summary>
    public static Tensor?[] Gradients(this Graph g, Tensor[] ys, Tensor[] xs, Tensor?[]? gradYs = null,
        bool unconnectedZeros = false, string name = "gradients")
    {
        if (gradYs != null && gradYs.Length != ys.Length)
            throw new ArgumentException($"{gradYs.Length} gradYs for {ys.Length} ys");
        var ops = g.Operations;
        int count = ops.Count;
        var xset = new HashSet<Tensor>(xs);
        // Ops that depend on some x (forward sweep: ids are a topological order).
        var fromX = new bool[count];
        foreach (var op in ops)
            foreach (var t in op.Inputs)
                if (xset.Contains(t) || fromX[t.Op.Id]) { fromX[op.Id] = true; break; }
        // Ops that some y depends on (backward sweep).
        var toY = new bool[count];
        foreach (var y in ys) toY[y.Op.Id] = true;
        for (int id = count - 1; id >= 0; id--)
            if (toY[id]) foreach (var t in ops[id].Inputs) toY[t.Op.Id] = true;

        bool Relevant(Tensor t) => xset.Contains(t) || fromX[t.Op.Id];
        var pending = new Dictionary<Tensor, List<Tensor>>();
        void Accumulate(Tensor t, Tensor grad)
        {
            if (!pending.TryGetValue(t, out var list)) pending[t] = list = [];
            list.Add(grad);
        }

        using var scope = g.NameScope(name);
        for (int i = 0; i < ys.Length; i++)
        {
            var gy = gradYs?[i];
            if (gy != null && gy.DType != ys[i].DType)
                throw new GraphBuildException($"gradient for {ys[i].Name} has dtype {gy.DType.Name()}, expected {ys[i].DType.Name()}");
            // Ones of a static shape come from constants, so a small seed (a scalar loss's) is made on the host; OnesLike
            // would be a kernel on the loss's device.
            Accumulate(ys[i], gy ?? (ys[i].Shape.IsFullyDefined ? g.Ones(ys[i].Shape, ys[i].DType, $"grad_ys_{i}") : g.OnesLike(ys[i], $"grad_ys_{i}")));
        }

        var done = new Dictionary<Tensor, Tensor>();
        Tensor? Total(Tensor t)
        {
            if (done.TryGetValue(t, out var d)) return d;
            if (!pending.TryGetValue(t, out var list)) return null;
            var sum = list.Count == 1 ? list[0] : g.AddN(list);
            done[t] = sum;
            return sum;
        }

        for (int id = count - 1; id >= 0; id--)
        {
            var op = ops[id];
            if (!fromX[id] || !toY[id] || op.Def.Grad == null) continue;
            var dys = op.Outputs.Select(Total).ToArray();
            if (dys.All(d => d == null)) continue;
            Tensor?[] dxs;
            using (g.NameScope(op.Name + "_grad"))
                dxs = op.Def.Grad(new Ops.GradContext(op, dys));
            if (dxs.Length != op.Inputs.Length)
                throw new InvalidOperationException($"gradient of {op} returned {dxs.Length} values for {op.Inputs.Length} inputs");
            for (int i = 0; i < dxs.Length; i++)
            {
                var dx = dxs[i];
                if (dx == null || !Relevant(op.Inputs[i])) continue;
                Accumulate(op.Inputs[i], dx);
            }
        }

        var result = new Tensor?[xs.Length];
        for (int i = 0; i < xs.Length; i++)
        {
            result[i] = Total(xs[i]);
            if (result[i] == null && unconnectedZeros) result[i] = g.ZerosLike(xs[i]);
        }
        return result;
    }

    /// <summary>Gradient of one scalar with respect to one tensor (null if unconnected).</summary>
    public static Tensor? Gradient(this Graph g, Tensor y, Tensor x) => g.Gradients([y], [x])[0];
}
