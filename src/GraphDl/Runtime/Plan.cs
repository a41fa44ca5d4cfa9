using GraphDl.Devices;
using GraphDl.Ops;

namespace GraphDl.Runtime;

/// <summary>A compiled run: the pruned, ordered, placed steps for one (feeds, fetches, targets) set, and its buffer slots.</summary>
internal sealed partial class Plan
{
    /// <summary>One kernel launch, or a copy between devices when <see cref="Node"/> is null.</summary>
    internal sealed class Step
    {
        public Operation? Node;
        public Device Device = null!;
        public int[] Inputs = [];
        public int OutBase;
        public Device? CopyFrom;
        /// <summary>For a copy, the tensor it copies (error messages).</summary>
        public Tensor? CopyOf;
        /// <summary>A copy to a device of a constant's value (a <c>Const</c> without control inputs): the value never
        /// changes, so a frame copies it once and keeps the device copy.</summary>
        public bool ConstCopy;
        /// <summary>Slots whose last reader is this step: their buffers return to the pool after it.</summary>
        public int[] Release = [];
        /// <summary>The node's CPU kernel when it runs on <see cref="CpuDevice.Instance"/> (called directly, no device dispatch).</summary>
        public CpuKernel? Cpu;
        /// <summary><see cref="Device"/>.IsHost, read once at plan time.</summary>
        public bool Host;
        /// <summary>In <see cref="RunSteps"/> only: consecutive steps of this device that run as one launch
        /// (<see cref="Device.CanBatch"/>), this step's node first; <see cref="Release"/> is theirs together.</summary>
        public Step[]? Batch;
        /// <summary>In <see cref="RunSteps"/> only: two consecutive steps of this device that run as one kernel
        /// (<see cref="Device.CanFuse"/>): this step's node, then the only reader of its output, which is never stored;
        /// <see cref="Release"/> is theirs together.</summary>
        public Step[]? Chain;
        Step[]? self;
        /// <summary>The steps this one runs: its batch or chain, else itself (made once, not per run).</summary>
        public Step[] Members => Batch ?? Chain ?? (self ??= [this]);
    }

    public required Tensor[] Feeds;
    public required Tensor[] Fetches;
    public required Operation[] Targets;
    public required Step[] Steps;
    /// <summary>The steps an untraced run executes: <see cref="Steps"/> without the CPU constants, whose values are
    /// stored into their slots directly (<see cref="ConstSlots"/>, <see cref="ConstValues"/>).</summary>
    public Step[] RunSteps = [];
    public int[] ConstSlots = [];
    public NDArray[] ConstValues = [];
    public required int[] FeedSlots;
    public required int[] FetchSlots;
    public required int SlotCount;
    public required Device[] FetchDevices;
    public long Key;
    public int StepCopies;

    /// <summary>True when every step runs on the host (no other device, no copies): only such plans are specialized, so
    /// that a plan with device steps keeps one set of device buffers per frame (a specialization would hold its own).</summary>
    public bool HostOnly;

    /// <summary>For a specialization: the feed dims it is for (in <see cref="Feeds"/> order), and the general plan.</summary>
    public int[][]? FeedDims;
    public Plan? General;

    /// <summary>A general plan's specializations on feed dims (<see cref="PlanSpecializer"/>), replaced whole when one is
    /// added (readers take the array without a lock). An entry whose plan is this plan itself records dims that are not
    /// specialized (the first run contradicted the shape rules), so they are not tried again.</summary>
    public volatile Specialization[] Specializations = [];

    /// <summary>A specialization's static buffers: the buffer each slot writes into (-1: none, the slot takes pool buffers
    /// at run time), with its dims; and each buffer's dtype and length. Every frame allocates them once and keeps them, with
    /// the folded values, in its slots across runs (a kernel's <see cref="KernelContext.Output(int, ReadOnlySpan{int}, DType)"/>
    /// then only checks the dims); <see cref="ClearSlots"/> are the other slots, emptied after each run.</summary>
    public int[]? BufferOf;
    public int[]?[] BoundDims = [];
    public DType[] BufferTypes = [];
    public int[] BufferLengths = [];
    public int[] ClearSlots = [];

    /// <summary>At most this many feed-dims specializations per plan; further dims run the general plan.</summary>
    public const int MaxSpecializations = 8;

    public sealed record Specialization(int[][] FeedDims, Plan Plan);

    readonly Stack<Frame> frames = new();

    /// <summary>One idle frame kept outside the locked stack: a single-threaded caller rents and returns it with one
    /// interlocked exchange each.</summary>
    Frame? spare;

    public Frame Rent(Session s)
    {
        var f = Interlocked.Exchange(ref spare, null);
        if (f != null) return f;
        lock (frames)
            if (frames.Count > 0) return frames.Pop();
        return new Frame(this, s);
    }

    public void Return(Frame f)
    {
        if (Interlocked.CompareExchange(ref spare, f, null) == null) return;
        lock (frames) frames.Push(f);
    }

    /// <summary>Gives the buffers that idle frames hold on non-host devices back to their devices (session disposal).</summary>
    public void FreeDeviceBuffers(HashSet<NDArray> freed)
    {
        var f = Interlocked.Exchange(ref spare, null);
        if (f != null) f.FreeDeviceBuffers(freed);
        lock (frames)
            while (frames.Count > 0) frames.Pop().FreeDeviceBuffers(freed);
    }

    /// <summary>The common-subexpression key of a pure op on a device with these input slots (null: never merged).</summary>
    static string? CseKey(Operation op, Device device, int[] inputs, HashSet<Tensor> fed)
    {
        if (op.Def.Stateful || op.ControlInputs.Length > 0 || op.Inputs.Length == 0 || op.Outputs.Length == 0) return null;
        foreach (var t in op.Outputs) if (fed.Contains(t)) return null;
        var sb = new System.Text.StringBuilder(op.Def.Name).Append('@').Append(device.Name).Append('(');
        foreach (var i in inputs) sb.Append(i).Append(',');
        sb.Append(')');
        foreach (var (k, v) in op.Attrs.OrderBy(a => a.Key, StringComparer.Ordinal))
        {
            string? text = v switch
            {
                bool or int or long or string or DType => v.ToString(),
                float f => f.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                double d => d.ToString("R", System.Globalization.CultureInfo.InvariantCulture),
                Shape sh => sh.ToString(),
                int[] a => string.Join(",", a),
                long[] a => string.Join(",", a),
                _ => null,
            };
            if (text == null) return null;   // an attr we cannot compare: never merge
            sb.Append(k).Append('=').Append(text).Append(';');
        }
        return sb.ToString();
    }

    /// <summary>Buffer lifetimes: a slot's buffer goes back to the frame's pool after its last reader (fetched slots
    /// live to the end); an aliasing op keeps its input's buffer alive as long as its own output.</summary>
    internal static void PlanLifetimes(List<Step> steps, int slots, int[] fetchSlots, int[]? bufferOf = null)
    {
        var last = LastUses(steps, slots, fetchSlots);
        var release = new List<int>[steps.Count];
        for (int s = 0; s < slots; s++)
            if (last[s] >= 0 && last[s] < steps.Count && (bufferOf == null || bufferOf[s] < 0)) (release[last[s]] ??= []).Add(s);
        for (int k = 0; k < steps.Count; k++) steps[k].Release = release[k]?.ToArray() ?? [];
    }

    /// <summary>The index of each slot's last reader (int.MaxValue for fetched slots, -1 for slots no step touches); a
    /// slot no one reads lives until the end of its own step, and an aliasing op's input lives as long as its output.</summary>
    internal static int[] LastUses(List<Step> steps, int slots, int[] fetchSlots)
    {
        var last = new int[slots];
        Array.Fill(last, -1);
        for (int k = 0; k < steps.Count; k++)
        {
            foreach (var s in steps[k].Inputs) last[s] = k;
            if (steps[k].Node is { } node)
                for (int o = 0; o < node.Outputs.Length; o++)
                    if (last[steps[k].OutBase + o] < k) last[steps[k].OutBase + o] = k;
        }
        foreach (var s in fetchSlots) last[s] = int.MaxValue;
        for (int k = steps.Count - 1; k >= 0; k--)
        {
            var node = steps[k].Node;
            if (node == null || !node.Def.Aliases || steps[k].Inputs.Length == 0) continue;
            int i = steps[k].Inputs[0];
            for (int o = 0; o < node.Outputs.Length; o++) last[i] = Math.Max(last[i], last[steps[k].OutBase + o]);
        }
        return last;
    }

    /// <summary>Builds a plan: prune to what the fetches need, order by node id (a topological order),
    /// place each node (<see cref="PlaceAll"/>), insert copies where an edge crosses devices, and batch or fuse device
    /// steps (<see cref="Batched"/>).</summary>
    public static Plan Build(Session session, Tensor[] feeds, Tensor[] fetches, Operation[] targets)
    {
        var graph = session.Graph;
        var fed = new HashSet<Tensor>(feeds);
        var needed = new HashSet<Operation>();
        var stack = new Stack<Operation>();
        void Need(Operation op) { if (needed.Add(op)) stack.Push(op); }
        foreach (var t in fetches) if (!fed.Contains(t)) Need(t.Op);
        foreach (var op in targets) Need(op);
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            foreach (var t in op.Inputs) if (!fed.Contains(t)) Need(t.Op);
            foreach (var c in op.ControlInputs) Need(c);
        }
        foreach (var op in needed)
            if (op.Type == "Placeholder")
                throw new FeedException($"You must feed a value for placeholder '{op.Name}' with dtype {op.Outputs[0].DType.Name()} and shape {op.Outputs[0].Shape}");

        var order = needed.OrderBy(o => o.Id).ToList();
        int slots = 0;
        var slotOf = new Dictionary<Tensor, int>();
        var deviceOfSlot = new List<Device>();
        int NewSlot(Device d) { deviceOfSlot.Add(d); return slots++; }
        var cpu = CpuDevice.Instance;
        var feedSlots = feeds.Select(f => { int s = NewSlot(cpu); slotOf[f] = s; return s; }).ToArray();
        var steps = new List<Plan.Step>();
        var copies = new Dictionary<(int, Device), int>();
        var tensorOf = new Dictionary<int, Tensor>();
        int copyCount = 0;
        int On(int slot, Device d)
        {
            var from = deviceOfSlot[slot];
            if (from == d || (from.IsHost && d.IsHost)) return slot;
            if (copies.TryGetValue((slot, d), out int c)) return c;
            if (!from.IsHost && !d.IsHost) slot = On(slot, cpu);
            c = NewSlot(d);
            var of = tensorOf.GetValueOrDefault(slot);
            steps.Add(new Step
            {
                Device = d, Host = d.IsHost, CopyFrom = deviceOfSlot[slot], Inputs = [slot], OutBase = c, CopyOf = of,
                ConstCopy = !d.IsHost && of != null && of.Op.Def == StateOps.Const && of.Op.ControlInputs.Length == 0,
            });
            if (tensorOf.TryGetValue(slot, out var copied)) tensorOf[c] = copied;
            copies[(slot, d)] = c;
            copyCount++;
            return c;
        }
        var seen = new Dictionary<string, Operation>();
        var placed = PlaceAll(session, order, fed);
        foreach (var op in order)
        {
            var (device, why) = placed[op];
            if (session.Options.LogDevicePlacement) session.LogPlacement(op, device, why);
            // A dims-only op (Shape, Size, Rank) reads its inputs' metadata wherever their elements live: no copy.
            var inputs = op.Def.DimsOnly
                ? op.Inputs.Select(t => slotOf[t]).ToArray()
                : op.Inputs.Select((t, i) => On(slotOf[t], device.InputOnHost(op, i) ? cpu : device)).ToArray();
            // Common subexpressions: a pure op with the same inputs and attrs as an earlier one reuses its outputs
            // (gradient graphs take Shape(x) many times, for example).
            if (CseKey(op, device, inputs, fed) is { } key)
            {
                if (seen.TryGetValue(key, out var same))
                {
                    for (int i = 0; i < op.Outputs.Length; i++) slotOf[op.Outputs[i]] = slotOf[same.Outputs[i]];
                    continue;
                }
                seen[key] = op;
            }
            int outBase = slots;
            foreach (var t in op.Outputs)
            {
                int s = NewSlot(device);
                tensorOf[s] = t;
                if (!fed.Contains(t)) slotOf[t] = s;
            }
            steps.Add(new Step
            {
                Node = op, Device = device, Inputs = inputs, OutBase = outBase, Host = device.IsHost,
                Cpu = ReferenceEquals(device, CpuDevice.Instance) ? op.Def.Cpu : null,
            });
        }
        var fetchSlots = fetches.Select(t => slotOf[t]).ToArray();
        PlanLifetimes(steps, slots, fetchSlots);
        // A CPU Const step only forwards its value (no inputs, so it releases nothing but its own unowned slot).
        var runSteps = new List<Step>();
        var constSlots = new List<int>();
        var constValues = new List<NDArray>();
        foreach (var st in steps)
        {
            if (st.Cpu != null && st.Node!.Def == StateOps.Const && st.Node.ControlInputs.Length == 0
                && st.Node.Attrs.TryGetValue("value", out var v) && v is NDArray value)
            {
                constSlots.Add(st.OutBase);
                constValues.Add(value);
            }
            else runSteps.Add(st);
        }
        return new Plan
        {
            RunSteps = Batched(runSteps), ConstSlots = constSlots.ToArray(), ConstValues = constValues.ToArray(),
            Feeds = feeds, Fetches = fetches, Targets = targets, Steps = steps.ToArray(),
            FeedSlots = feedSlots, FetchSlots = fetchSlots, SlotCount = slots,
            FetchDevices = fetchSlots.Select(s => deviceOfSlot[s]).ToArray(), StepCopies = copyCount,
            HostOnly = steps.TrueForAll(st => st.Node != null && st.Host) && feedSlots.All(f => deviceOfSlot[f].IsHost),
        };
    }
}

/// <summary>Per-run state of a plan: slot values and the buffers they reuse. One per concurrent caller.</summary>
internal sealed class Frame
{
    /// <summary>The value of each slot during a run.</summary>
    public readonly NDArray?[] Values;
    /// <summary>Pool buffers a slot holds during this run (released after the slot's last reader).</summary>
    public readonly NDArray?[] Owned;
    /// <summary>Reshape views, one wrapper per slot, reused across runs.</summary>
    public readonly NDArray?[] Views;
    /// <summary>Device-copy destinations, one per copy slot, reused across runs.</summary>
    public readonly NDArray?[] Copies;
    /// <summary>The constant value a copy destination already holds (constants never change: copied once, not every run).</summary>
    public readonly NDArray?[] CopiedConst;
    /// <summary>Dims arrays per slot, so a pooled buffer takes a slot's rank without allocating.</summary>
    public readonly int[]?[] Dims;
    /// <summary>Free buffers, kept across runs; each knows its index here (<c>NDArray.poolIndex</c>).</summary>
    NDArray[] free = new NDArray[8];
    int freeCount;
    /// <summary>The buffer each slot had last run: taken back first, so a steady run finds every buffer in O(1).</summary>
    public readonly NDArray?[] Preferred;
    public readonly KernelContext Context;

    /// <summary>A specialized plan's static output buffers, by slot (null for a general plan; see <see cref="Plan.BufferOf"/>).</summary>
    public readonly NDArray?[]? Bound;

    public Frame(Plan plan, Session s)
    {
        int slots = plan.SlotCount;
        Values = new NDArray?[slots];
        Owned = new NDArray?[slots];
        Views = new NDArray?[slots];
        Copies = new NDArray?[slots];
        CopiedConst = new NDArray?[slots];
        Dims = new int[]?[slots];
        Preferred = new NDArray?[slots];
        Context = new KernelContext(s) { frame = this };
        if (plan.BufferOf is { } bufferOf)
        {
            // Folded values and static buffers stay in their slots across runs.
            for (int c = 0; c < plan.ConstSlots.Length; c++) Values[plan.ConstSlots[c]] = plan.ConstValues[c];
            var buffers = new Array[plan.BufferLengths.Length];
            for (int b = 0; b < buffers.Length; b++) buffers[b] = NDArray.Zeros(plan.BufferTypes[b], plan.BufferLengths[b]).data;
            Bound = new NDArray?[slots];
            for (int slot = 0; slot < slots; slot++)
                if (bufferOf[slot] >= 0)
                    Values[slot] = Bound[slot] = new NDArray(plan.BufferTypes[bufferOf[slot]], buffers[bufferOf[slot]], (int[])plan.BoundDims[slot]!.Clone());
        }
    }

    /// <summary>A free buffer of this dtype and device holding <paramref name="n"/> elements: the slot's buffer from the
    /// last run if it is free and fits, else the smallest that fits; null if none.</summary>
    public NDArray? Take(int slot, DType dtype, Devices.Device? device, long n)
    {
        var pref = Preferred[slot];
        int best = -1;
        if (pref != null && pref.poolIndex >= 0 && pref.DType == dtype && pref.device == device && pref.Capacity >= n)
        {
            best = pref.poolIndex;
            if (best == freeCount - 1)
            {
                // The slot's own buffer is the last one freed (a chain reuses its input's buffer): pop it, no reordering.
                free[--freeCount] = null!;
                pref.poolIndex = -1;
                return pref;
            }
        }
        else
            for (int i = 0; i < freeCount; i++)
            {
                var b = free[i];
                if (b.DType == dtype && b.device == device && b.Capacity >= n && (best < 0 || b.Capacity < free[best].Capacity)) best = i;
            }
        if (best < 0) return null;
        var r = free[best];
        var last = free[--freeCount];
        free[best] = last;
        last.poolIndex = best;
        free[freeCount] = null!;
        r.poolIndex = -1;
        Preferred[slot] = r;
        return r;
    }

    /// <summary>Frees every device buffer this frame holds (pool, copy destinations); each array at most once.</summary>
    public void FreeDeviceBuffers(HashSet<NDArray> freed)
    {
        void Free(NDArray? b)
        {
            if (b?.device is { } d && freed.Add(b)) d.Free(b);
        }
        for (int i = 0; i < freeCount; i++) Free(free[i]);
        foreach (var b in Owned) Free(b);
        foreach (var b in Copies) Free(b);
        freeCount = 0;
        Array.Clear(free);
        Array.Clear(Owned);
        Array.Clear(Copies);
        Array.Clear(CopiedConst);
        Array.Clear(Preferred);
    }

    /// <summary>Number of buffers in the pool (diagnostics).</summary>
    public int FreeCount => freeCount;

    public void Release(int slot)
    {
        var b = Owned[slot];
        if (b == null) return;
        Owned[slot] = null;
        if (freeCount == free.Length) Array.Resize(ref free, free.Length * 2);
        b.poolIndex = freeCount;
        free[freeCount++] = b;
    }
}
