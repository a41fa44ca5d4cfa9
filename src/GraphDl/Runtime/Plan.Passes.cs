using GraphDl.Devices;

namespace GraphDl.Runtime;

// Two passes of Plan.Build: where each op runs (PlaceAll, before the steps are made) and which device steps run as one
// launch (Batched, on the finished run steps).
internal sealed partial class Plan
{
    /// <summary>The most elements a pure op's outputs may have for <see cref="PlaceAll"/> to keep it on the host when
    /// all its inputs are there: a kernel launch and a copy of its inputs cost more than computing that little here.</summary>
    internal const int SmallHostElements = 64;

    /// <summary>Each op's device (<see cref="Session.Place"/>), then two adjustments, both only for a pure op placed on
    /// another device by the session's default device alone (no device scope) and whose inputs are all on the host:
    /// <list type="number">
    /// <item>when its outputs have static shapes of at most <see cref="SmallHostElements"/> elements in all, it runs on
    /// the CPU: one small copy of its result replaces a kernel launch (and copies of its inputs). A mean's gradient
    /// divides by a count computed from shapes this way: <c>Cast(Size(x)) / Cast(Size(y))</c> on the host, one scalar
    /// copied;</item>
    /// <item>when every consumer reads its value on the host (an update kernel's scalar hyperparameter, a reduction's
    /// axes, a CPU op), it runs on the CPU, so its value needs no copy back and no wait for the device inside the step (a
    /// learning-rate schedule computed from <c>global_step</c>, for example).</item>
    /// </list>
    /// The second element of each entry says why an op moved to the host, for the placement log.</summary>
    static Dictionary<Operation, (Device device, string? why)> PlaceAll(Session session, List<Operation> order, HashSet<Tensor> fed)
    {
        var placed = new Dictionary<Operation, (Device, string?)>(order.Count);
        foreach (var op in order) placed[op] = (session.Place(op), null);
        if (order.TrueForAll(op => placed[op].Item1.IsHost)) return placed;
        bool Movable(Operation op) => !placed[op].Item1.IsHost && op.Device == null && !op.Def.Stateful && op.Def.RefInputs == 0
            && op.Def.Cpu != null;
        bool InputsOnHost(Operation op)
        {
            foreach (var t in op.Inputs)
                if (!fed.Contains(t) && placed.TryGetValue(t.Op, out var p) && !p.Item1.IsHost && !t.Op.Def.DimsOnly) return false;
            return true;
        }
        // 1. Small results from host inputs (forward: a moved op's consumers see it on the host).
        foreach (var op in order)
        {
            if (!Movable(op) || op.Inputs.Length == 0 || !InputsOnHost(op)) continue;
            long elements = 0;
            foreach (var t in op.Outputs)
            {
                if (fed.Contains(t) || !t.Shape.IsFullyDefined) { elements = long.MaxValue; break; }
                elements += t.Shape.NumElements;
            }
            if (elements > SmallHostElements) continue;
            placed[op] = (CpuDevice.Instance, $"its inputs are on the host and it makes {elements} element{(elements == 1 ? "" : "s")}: " +
                "computed here and copied, cheaper than a kernel launch");
        }
        var consumers = new Dictionary<Operation, List<(Operation op, int input)>>();
        foreach (var op in order)
            for (int i = 0; i < op.Inputs.Length; i++)
            {
                var t = op.Inputs[i];
                if (fed.Contains(t) || !placed.ContainsKey(t.Op)) continue;
                if (!consumers.TryGetValue(t.Op, out var list)) consumers[t.Op] = list = [];
                list.Add((op, i));
            }
        var original = new Dictionary<Operation, Device>();
        // Consumers come after their producers in id order, so a reverse pass sees a consumer's final device first.
        for (int k = order.Count - 1; k >= 0; k--)
        {
            var op = order[k];
            var (device, _) = placed[op];
            if (!Movable(op)) continue;
            if (!consumers.TryGetValue(op, out var uses)) continue;
            bool hostOnly = true;
            Operation? reader = null;
            foreach (var (c, i) in uses)
            {
                if (c.Def.DimsOnly) continue;   // reads no value, wherever it is
                var cd = placed[c].Item1;
                if (!cd.IsHost && !cd.InputOnHost(c, i)) { hostOnly = false; break; }
                reader ??= c;
            }
            if (!hostOnly || reader == null) continue;
            original[op] = device;
            placed[op] = (CpuDevice.Instance, $"its value is read on the host by {reader.Name} and its inputs are there");
        }
        // Moved only when its inputs are on the host already: a device tensor is never copied back to feed a moved op.
        foreach (var op in order)
            if (original.TryGetValue(op, out var back) && !InputsOnHost(op)) placed[op] = (back, null);
        return placed;
    }

    /// <summary>The run steps with each pair of steps the device fuses into one kernel (<see cref="Device.CanFuse"/>)
    /// and each batch of consecutive device steps that it runs as one launch (<see cref="Device.CanBatch"/>) replaced by
    /// one step holding them. Copies from the host to that device between
    /// the members (a fed delta, say) move before the batch: their sources are host values made before it, and the
    /// slots they release are released after the batch instead. Traced runs keep running <see cref="Steps"/> one by one,
    /// so that every node has its own timing.</summary>
    static Step[] Batched(List<Step> steps)
    {
        var result = new List<Step>(steps.Count);
        var batch = new List<Operation>();
        var members = new List<Step>();
        var hoisted = new List<Step>();
        var pending = new List<Step>();
        for (int i = 0; i < steps.Count;)
        {
            var st = steps[i];
            int j = i + 1;
            // A step and the only reader of its single output, right after it on the same device: one kernel.
            if (st.Node is { Outputs.Length: 1 } first && !st.Host && j < steps.Count && steps[j] is { Node: { } reader } sn
                && ReferenceEquals(sn.Device, st.Device) && Array.IndexOf(sn.Inputs, st.OutBase) >= 0
                && Array.IndexOf(sn.Release, st.OutBase) >= 0 && st.Device.CanFuse(first, reader))
            {
                result.Add(new Step
                {
                    Node = first, Device = st.Device, Inputs = st.Inputs, OutBase = st.OutBase, Host = false, Chain = [st, sn],
                    Release = [.. st.Release, .. sn.Release],
                });
                i = j + 1;
                continue;
            }
            members.Clear();
            hoisted.Clear();
            if (st.Node != null && !st.Host)
            {
                batch.Clear();
                batch.Add(st.Node);
                members.Add(st);
                pending.Clear();
                for (int k = j; k < steps.Count; k++)
                {
                    var sk = steps[k];
                    if (sk.Node == null && !sk.Host && sk.CopyFrom!.IsHost && ReferenceEquals(sk.Device, st.Device)) { pending.Add(sk); continue; }
                    if (sk.Node is not { } next || !ReferenceEquals(sk.Device, st.Device) || !st.Device.CanBatch(batch, next)) break;
                    batch.Add(next);
                    members.Add(sk);
                    hoisted.AddRange(pending);
                    pending.Clear();
                    j = k + 1;
                }
            }
            if (members.Count <= 1) result.Add(st);
            else
            {
                foreach (var h in hoisted)
                    result.Add(new Step
                    {
                        Device = h.Device, Host = h.Host, CopyFrom = h.CopyFrom, Inputs = h.Inputs, OutBase = h.OutBase, CopyOf = h.CopyOf,
                        ConstCopy = h.ConstCopy,
                    });
                result.Add(new Step
                {
                    Node = st.Node, Device = st.Device, Inputs = st.Inputs, OutBase = st.OutBase, Host = false, Batch = members.ToArray(),
                    Release = members.Concat(hoisted).SelectMany(m => m.Release).ToArray(),
                });
            }
            i = j;
        }
        return result.ToArray();
    }
}
