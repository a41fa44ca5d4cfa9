using GraphDl.Ops;

namespace GraphDl.Runtime;

/// <summary>What the first run of a plan with given feed dims saw: each slot's dims right after its step ran, and a copy of
/// each small host value (<see cref="PlanSpecializer.MaxFoldElements"/> elements or fewer).</summary>
internal sealed class Observation
{
    public readonly int[]?[] Dims;
    public readonly NDArray?[] Values;

    public Observation(int slots)
    {
        Dims = new int[]?[slots];
        Values = new NDArray?[slots];
    }

    /// <summary>Records the outputs of <paramref name="step"/> (called right after it ran, before any buffer is reused).</summary>
    public void Record(Plan.Step step, NDArray?[] values)
    {
        int count = step.Node?.Outputs.Length ?? 1;
        for (int o = 0; o < count; o++)
        {
            int slot = step.OutBase + o;
            var v = values[slot];
            if (v == null) continue;
            Dims[slot] = v.dims.ToArray();
            if (v.device == null && v.Size <= PlanSpecializer.MaxFoldElements && v.DType != DType.String) Values[slot] = v.Clone();
        }
    }
}

/// <summary>Specializes a plan on the dims of its feeds (<see cref="SessionOptions.OptimizePlans"/>).</summary>
/// <remarks>
/// Once the feed dims are known, much of a training step is constant: gradient graphs take <c>Shape</c>, <c>Size</c>
/// and <c>ZerosLike</c> of tensors whose shapes follow from the feeds, reduce gradients with <c>SumToShape</c> to the shape
/// they already have, and so on. The specializer
/// <list type="number">
/// <item>works out every slot's exact dims by running each op's shape rule (<see cref="OpDef.Infer"/>) on the exact input
/// shapes and the values known so far; a fed tensor has its fed dims and never a known value;</item>
/// <item>folds every CPU step that is pure (not stateful, no control inputs) and whose result is fixed by what is known: all
/// its inputs are known values, or it is <c>Shape</c>/<c>Size</c>/<c>Rank</c>/<c>ZerosLike</c>/<c>OnesLike</c> of a
/// tensor of known dims. Its value is the one the first run computed (the same kernel on the same inputs), kept when it has
/// at most <see cref="MaxFoldElements"/> elements;</item>
/// <item>turns <c>Identity</c>/<c>StopGradient</c>, and <c>SumToShape</c>/<c>BroadcastTo</c>/<c>Reshape</c> whose output
/// dims equal their input's, into aliases: readers read the input's slot directly;</item>
/// <item>drops the steps no one reads any more, and plans buffer lifetimes again.</item>
/// </list>
/// The first run with the feed dims runs the general plan and records what it saw (<see cref="Observation"/>); the
/// specialization is built from that run and checked against it: if any inferred dims differ from the dims the run
/// produced (a shape rule that claims more than it knows), the dims are not specialized at all. Shapes that depend on
/// values (a <c>Reshape</c> to a fed shape, <c>Where</c>) are never known, because their shape rules do not know them
/// either. Only plans whose steps all run on the host are specialized (<see cref="Plan.HostOnly"/>); the folding and
/// aliasing also check that a step runs on the CPU, so that device steps and copies would be kept as they are.
/// </remarks>
internal static class PlanSpecializer
{
    /// <summary>Largest folded value, in elements.</summary>
    internal const int MaxFoldElements = 1 << 16;

    /// <summary>Ops whose result depends only on the dims (and dtype) of input 0.</summary>
    static bool ShapeOnly(OpDef d) => d == ShapeOps.Shape || d == ShapeOps.Size || d == ShapeOps.ZerosLike || d == ShapeOps.OnesLike
        || d.Name == "Rank";

    /// <summary>Ops that pass input 0 through unchanged.</summary>
    static bool PassThrough(OpDef d) => d == StateOps.Identity || d == StateOps.StopGradient || d == StateOps.PlaceholderWithDefault
        || d == CompareOps.Cast;   // to its own dtype (checked by the caller)

    /// <summary>Ops that pass input 0 through when their output has its dims.</summary>
    static bool SameDimsPassThrough(OpDef d) => d == ShapeOps.SumToShape || d == ShapeOps.BroadcastTo || d == ShapeOps.Reshape;

    /// <summary>The specialization of <paramref name="plan"/> for feeds of <paramref name="feedDims"/> (in the plan's feed
    /// order), or null when the first run contradicts what the shape rules inferred.</summary>
    public static Plan? Build(Plan plan, Graph graph, int[][] feedDims, Observation seen)
    {
        int n = plan.SlotCount;
        var exact = new int[]?[n];
        var value = new NDArray?[n];
        var alias = new int[n];
        for (int s = 0; s < n; s++) alias[s] = s;
        for (int i = 0; i < plan.Feeds.Length; i++) exact[plan.FeedSlots[i]] = feedDims[i];
        var kept = new List<Plan.Step>();
        foreach (var step in plan.Steps)
        {
            var inputs = new int[step.Inputs.Length];
            for (int i = 0; i < inputs.Length; i++) inputs[i] = alias[step.Inputs[i]];
            var node = step.Node;
            if (node == null)
            {
                exact[step.OutBase] = exact[inputs[0]];
                kept.Add(Copy(step, inputs));
                continue;
            }
            bool cpu = step.Cpu != null;
            bool pure = cpu && !node.Def.Stateful && node.ControlInputs.Length == 0;
            int outs = node.Outputs.Length;
            if (pure && node.Def == StateOps.Const && node.Attrs.TryGetValue("value", out var cv) && cv is NDArray constant)
            {
                value[step.OutBase] = constant;
                exact[step.OutBase] = constant.dims;
                continue;
            }
            // Exact output dims from the shape rule, checked against the first run.
            var specs = Infer(graph, node, inputs, exact, value);
            for (int o = 0; o < outs && specs != null && o < specs.Length; o++)
            {
                if (!specs[o].Shape.IsFullyDefined || specs[o].DType != node.Outputs[o].DType) continue;
                var dims = specs[o].Shape.Dims;
                var saw = seen.Dims[step.OutBase + o];
                if (saw == null) continue;   // not produced in the first run: nothing to check against, so not trusted
                if (!saw.AsSpan().SequenceEqual(dims)) return null;
                exact[step.OutBase + o] = dims;
            }
            if (pure && outs > 0)
            {
                bool fixedResult = ShapeOnly(node.Def)
                    ? inputs.Length == 1 && exact[inputs[0]] != null
                    : Array.TrueForAll(inputs, s => value[s] != null);
                if (fixedResult && AllObserved(step.OutBase, outs, exact, seen))
                {
                    for (int o = 0; o < outs; o++) value[step.OutBase + o] = seen.Values[step.OutBase + o];
                    continue;
                }
            }
            if (pure && outs == 1 && inputs.Length >= 1 && node.Outputs[0].DType == node.Inputs[0].DType
                && (PassThrough(node.Def) || (SameDimsPassThrough(node.Def) && exact[inputs[0]] is { } a
                    && exact[step.OutBase] is { } b && a.AsSpan().SequenceEqual(b))))
            {
                alias[step.OutBase] = inputs[0];
                continue;
            }
            kept.Add(Copy(step, inputs));
        }

        // Drop what no one reads: walk back from the fetches, the targets, stateful steps and control inputs.
        var fetchSlots = plan.FetchSlots.Select(s => alias[s]).ToArray();
        var liveSlot = new bool[n];
        foreach (var s in fetchSlots) liveSlot[s] = true;
        var needed = new HashSet<Operation>(plan.Targets);
        var live = new bool[kept.Count];
        for (int k = kept.Count - 1; k >= 0; k--)
        {
            var st = kept[k];
            bool used = false;
            int outs = st.Node?.Outputs.Length ?? 1;
            for (int o = 0; o < outs; o++) used |= liveSlot[st.OutBase + o];
            if (!used && st.Node != null) used = st.Node.Def.Stateful || needed.Contains(st.Node);
            if (!used) continue;
            live[k] = true;
            foreach (var s in st.Inputs) liveSlot[s] = true;
            if (st.Node != null) foreach (var c in st.Node.ControlInputs) needed.Add(c);
        }
        var steps = kept.Where((_, k) => live[k]).ToList();
        var constSlots = new List<int>();
        var constValues = new List<NDArray>();
        for (int s = 0; s < n; s++)
            if (value[s] != null && liveSlot[s] && alias[s] == s)
            {
                constSlots.Add(s);
                constValues.Add(value[s]!);
            }
        var buffers = AssignBuffers(steps, n, fetchSlots, exact);
        Plan.PlanLifetimes(steps, n, fetchSlots, buffers.BufferOf);
        var persistent = new bool[n];
        foreach (var s in constSlots) persistent[s] = true;
        for (int s = 0; s < n; s++) persistent[s] |= buffers.BufferOf[s] >= 0;
        var array = steps.ToArray();
        return new Plan
        {
            Feeds = plan.Feeds, Fetches = plan.Fetches, Targets = plan.Targets, Steps = array, RunSteps = array,
            ConstSlots = constSlots.ToArray(), ConstValues = constValues.ToArray(),
            FeedSlots = plan.FeedSlots, FetchSlots = fetchSlots, SlotCount = n, FetchDevices = plan.FetchDevices,
            Key = plan.Key, StepCopies = steps.Count(st => st.Node == null), FeedDims = feedDims, General = plan,
            BufferOf = buffers.BufferOf, BoundDims = buffers.Dims, BufferTypes = buffers.Types, BufferLengths = buffers.Lengths,
            ClearSlots = Enumerable.Range(0, n).Where(s => !persistent[s]).ToArray(),
        };
    }

    /// <summary>Static buffers for the outputs of pure CPU kernels whose dims are known (not for aliasing ops, whose outputs
    /// may be their inputs): a slot takes a free buffer of its dtype, or a new one, and frees it after its last reader, so
    /// two slots share a buffer only when their lifetimes do not overlap (a step's output never shares with its inputs).</summary>
    static (int[] BufferOf, int[]?[] Dims, DType[] Types, int[] Lengths) AssignBuffers(List<Plan.Step> steps, int n, int[] fetchSlots, int[]?[] exact)
    {
        var last = Plan.LastUses(steps, n, fetchSlots);
        var bufferOf = new int[n];
        Array.Fill(bufferOf, -1);
        var dims = new int[]?[n];
        var types = new List<DType>();
        var lengths = new List<int>();
        var busyUntil = new List<int>();   // per buffer: the last step that reads what it holds
        for (int k = 0; k < steps.Count; k++)
        {
            var st = steps[k];
            if (st.Node == null || st.Cpu == null || st.Node.Def.Stateful || st.Node.Def.Aliases) continue;
            for (int o = 0; o < st.Node.Outputs.Length; o++)
            {
                int slot = st.OutBase + o;
                var d = exact[slot];
                var dtype = st.Node.Outputs[o].DType;
                if (d == null || dtype == DType.String) continue;
                long size = NDArray.Product(d);
                if (size > int.MaxValue) continue;
                int best = -1;
                for (int b = 0; b < types.Count; b++)
                    if (busyUntil[b] < k && types[b] == dtype && (best < 0 || Math.Abs(lengths[b] - size) < Math.Abs(lengths[best] - size))) best = b;
                if (best < 0)
                {
                    best = types.Count;
                    types.Add(dtype);
                    lengths.Add(0);
                    busyUntil.Add(0);
                }
                lengths[best] = Math.Max(lengths[best], (int)size);
                busyUntil[best] = Math.Max(k, last[slot]);
                bufferOf[slot] = best;
                dims[slot] = d;
            }
        }
        return (bufferOf, dims, types.ToArray(), lengths.ToArray());
    }

    /// <summary>True if the first run recorded every output's value, with the dims inferred for it.</summary>
    static bool AllObserved(int outBase, int outs, int[]?[] exact, Observation seen)
    {
        for (int o = 0; o < outs; o++)
        {
            var v = seen.Values[outBase + o];
            if (v == null) return false;
            if (exact[outBase + o] is { } d && !v.Dims.SequenceEqual(d)) return false;
        }
        return true;
    }

    /// <summary>The node's shape rule on what is known of its inputs, or null if it fails.</summary>
    static OutputSpec[]? Infer(Graph graph, Operation node, int[] inputs, int[]?[] exact, NDArray?[] value)
    {
        var shapes = new Shape?[inputs.Length];
        var values = new NDArray?[inputs.Length];
        for (int i = 0; i < inputs.Length; i++)
        {
            if (exact[inputs[i]] is { } d) shapes[i] = new Shape(d);
            values[i] = value[inputs[i]];
        }
        try { return node.Def.Infer(new InferContext(graph, node.Inputs, node.Attrs, shapes, values)); }
        catch (Exception e) when (e is not OutOfMemoryException) { return null; }   // e.g. shapes that do not fit: the kernel will say so
    }

    static Plan.Step Copy(Plan.Step s, int[] inputs) => new()
    {
        Node = s.Node, Device = s.Device, Inputs = inputs, OutBase = s.OutBase, CopyFrom = s.CopyFrom, CopyOf = s.CopyOf,
        ConstCopy = s.ConstCopy, Cpu = s.Cpu, Host = s.Host,
    };
}
