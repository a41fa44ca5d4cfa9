using System.Collections.Concurrent;
using GraphDl.Devices;
using GraphDl.Devices.Cpu;
using GraphDl.Runtime;

namespace GraphDl;

/// <summary>Options for a <see cref="Session"/>.</summary>
public sealed class SessionOptions
{
    /// <summary>Threads for one large kernel (GEMM, big elementwise); 0 means all cores.</summary>
    public int IntraOpThreads { get; init; }
    /// <summary>Independent ops run concurrently (reserved: steps currently run in order, whatever the value).</summary>
    public int InterOpThreads { get; init; } = 1;
    /// <summary>Devices besides the CPU; a node asking for one by name (<c>/gpu:0</c>) is placed there when it has a kernel.</summary>
    public IReadOnlyList<Device> Devices { get; init; } = [];
    /// <summary>Device for nodes that ask for none; null means the CPU.</summary>
    public string? DefaultDevice { get; init; }
    /// <summary>TF1's <c>log_device_placement</c>: when a run plan is built, log the device of every node, and why a node
    /// that asked for another device runs on the CPU (soft placement).</summary>
    public bool LogDevicePlacement { get; init; }
    /// <summary>Where placement lines go; defaults to standard error.</summary>
    public Action<string>? PlacementLog { get; init; }
    /// <summary>Where warnings go (graph growing between runs); defaults to <see cref="Warnings.Sink"/>.</summary>
    public Action<string>? WarningSink { get; init; }
    /// <summary>Specialize run plans on the dims of their feeds (on by default): from the second run with given feed dims,
    /// shape bookkeeping that those dims fix (<c>Shape</c>, <c>Size</c>, <c>ZerosLike</c> of known shapes, sums and
    /// broadcasts to the shape a tensor already has, and whatever is computed from constants alone) is done once instead
    /// of every run. Results are bit-identical either way; off runs every op of the graph as built. Plans with steps on
    /// other devices (GPUs) are not specialized.</summary>
    public bool OptimizePlans { get; init; } = true;
}

/// <summary>Process-wide warning sink.</summary>
public static class Warnings
{
    /// <summary>Receives warnings; defaults to standard error.</summary>
    public static Action<string> Sink { get; set; } = m => Console.Error.WriteLine("GraphDl warning: " + m);
}

/// <summary>Runs a graph. Variables live here; run plans are compiled once per (feeds, fetches, targets) set and cached.</summary>
/// <remarks>
/// <c>Run</c> may be called from several threads at once: each call gets its own buffers. Variable updates from
/// concurrent runs are not locked against each other (TF1's <c>use_locking=False</c>): each element is written
/// whole, but two concurrent training steps may interleave their updates.
/// </remarks>
public sealed partial class Session : IDisposable
{
    readonly ConcurrentDictionary<long, Plan[]> plans = new();
    readonly object varGate = new();
    NDArray?[] variables = [];
    long[] counters = [];
    readonly Device[] devices;
    readonly WorkerPool? ownPool;
    int lastVersion = -1, growthStreak;
    bool warned;

    /// <summary>Opens a session on a graph.</summary>
    public Session(Graph graph, SessionOptions? options = null)
    {
        Graph = graph;
        Options = options ?? new SessionOptions();
        devices = [CpuDevice.Instance, .. Options.Devices];
        int threads = Options.IntraOpThreads;
        if (threads <= 0 || threads == Environment.ProcessorCount) Pool = WorkerPool.Shared;
        else Pool = ownPool = new WorkerPool(threads);
    }

    /// <summary>The graph.</summary>
    public Graph Graph { get; }
    /// <summary>The options.</summary>
    public SessionOptions Options { get; }
    internal WorkerPool Pool { get; }
    /// <summary>Number of compiled plans (for tests and diagnostics).</summary>
    public int CachedPlanCount => plans.Values.Sum(p => p.Length);

    /// <summary>Computes one tensor.</summary>
    public NDArray Run(Tensor fetch, params (Tensor, NDArray)[] feeds) => Run([fetch], feeds)[0];

    /// <summary>Runs an op (a training step, an initializer).</summary>
    public void Run(Operation target, params (Tensor, NDArray)[] feeds) => Run([], feeds, [target]);

    /// <summary>Computes several tensors in one pass.</summary>
    public NDArray[] Run(Tensor[] fetches, params (Tensor, NDArray)[] feeds) => Run(fetches, feeds, []);

    /// <summary>TF1's <c>session.run(fetches, feed_dict)</c> with targets run for their effects.</summary>
    public NDArray[] Run(Tensor[] fetches, (Tensor, NDArray)[] feeds, Operation[] targets) => Run(fetches, feeds, targets, null, null);

    /// <summary>A run with options; with <see cref="RunTraceLevel.FullTrace"/> it fills <paramref name="trace"/>
    /// (TF1's <c>run_metadata</c>; see <c>RunMetadataExport</c> for TensorBoard and Chrome-trace forms).</summary>
    public NDArray[] Run(Tensor[] fetches, (Tensor, NDArray)[] feeds, Operation[] targets, RunOptions? options, StepTrace? trace)
    {
        if (options?.TraceLevel != RunTraceLevel.FullTrace) trace = null;
        CheckGrowth();
        var plan = GetPlan(feeds, fetches, targets);
        for (int i = 0; i < feeds.Length; i++) CheckFeed(feeds[i].Item1, feeds[i].Item2);
        Observation? observe = null;
        if (Options.OptimizePlans && plan.HostOnly)
        {
            var special = FindSpecialization(plan, feeds);
            if (special != null) plan = special;
            else if (trace == null && plan.Specializations.Length < Plan.MaxSpecializations) observe = new Observation(plan.SlotCount);
        }
        var frame = plan.Rent(this);
        try
        {
            for (int i = 0; i < feeds.Length; i++)
            {
                var (t, v) = feeds[i];
                frame.Values[plan.FeedSlots[FeedIndex(plan, i, t)]] = v;
            }
            long t0 = trace == null ? 0 : System.Diagnostics.Stopwatch.GetTimestamp();
            if (observe != null) ExecuteObserved(plan, frame, observe);
            else Execute(plan, frame, trace);
            if (trace != null) trace.Elapsed = System.Diagnostics.Stopwatch.GetElapsedTime(t0);
            var results = new NDArray[fetches.Length];
            List<(NDArray, NDArray)>? onDevices = null;
            for (int i = 0; i < fetches.Length; i++)
            {
                int k = fetches[i] == plan.Fetches[i] ? i : IndexOf(plan.Fetches, fetches[i]);
                var v = frame.Values[plan.FetchSlots[k]] ?? throw UninitializedVariableException.For(fetches[i].Op.Name, "fetched");
                if (v.device == null) { results[i] = v.Clone(); continue; }
                results[i] = NDArray.Zeros(v.DType, v.dims);
                (onDevices ??= []).Add((v, results[i]));
            }
            // Device fetches: per device, all copies queued and one wait.
            if (onDevices != null)
                foreach (var group in onDevices.GroupBy(p => p.Item1.device!))
                    group.Key.CopyOutAll(group.ToArray());
            if (observe != null) Specialize(plan, feeds, observe);
            return results;
        }
        finally
        {
            var owned = frame.Owned;
            for (int s = 0; s < owned.Length; s++)
                if (owned[s] != null) frame.Release(s);
            if (plan.BufferOf == null) Array.Clear(frame.Values);
            else
            {
                // A specialized plan's folded values and static buffers stay for the next run.
                var values = frame.Values;
                foreach (var s in plan.ClearSlots) values[s] = null;
            }
            plan.Return(frame);
        }
    }

    /// <summary>Where the feed given <paramref name="i"/>-th, for tensor <paramref name="t"/>, sits in the plan's feed order.</summary>
    static int FeedIndex(Plan plan, int i, Tensor t) => ReferenceEquals(plan.Feeds[i], t) ? i : IndexOf(plan.Feeds, t);

    static int IndexOf<T>(T[] items, T x) where T : class
    {
        for (int i = 0; i < items.Length; i++) if (ReferenceEquals(items[i], x)) return i;
        return -1;
    }

    void CheckFeed(Tensor t, NDArray v)
    {
        if (t.Graph != Graph) throw new FeedException($"feed {t.Name} belongs to another graph");
        if (v.DType != t.DType)
            throw new FeedException($"cannot feed {v.DType.Name()} into {Describe(t)} of dtype {t.DType.Name()}");
        if (!t.Shape.Accepts(v.Dims))
            throw new FeedException($"cannot feed value of shape {Shape.Format(v.Dims)} into {Describe(t)} of shape {t.Shape}");
    }

    static string Describe(Tensor t) => t.Op.Type == "Placeholder" ? $"placeholder '{t.Op.Name}'" : $"tensor '{t.Name}'";

    void CheckGrowth()
    {
        int v = Graph.Version;
        if (lastVersion >= 0 && v > lastVersion)
        {
            if (++growthStreak >= 5 && !warned)
            {
                warned = true;
                (Options.WarningSink ?? Warnings.Sink)(
                    $"the graph grew between each of the last {growthStreak} Session.Run calls (now {v} nodes): ops are probably being " +
                    "built inside the training loop. Build them once before the loop, and call graph.Finalize() to catch this.");
            }
        }
        else if (lastVersion >= 0) growthStreak = 0;
        lastVersion = v;
    }

    /// <summary>The plan a run with these feeds, fetches and targets uses (for tests and diagnostics).</summary>
    internal Plan PlanFor(Tensor[] feeds, Tensor[] fetches, Operation[] targets) =>
        GetPlan(feeds.Select(f => (f, (NDArray)0f)).ToArray(), fetches, targets);

    /// <summary>The plan a run with these feeds (their dims), fetches and targets uses now: the specialization for the
    /// feeds' dims once a run with those dims has built it, else the general plan (for tests and diagnostics).</summary>
    internal Plan PlanFor((Tensor, NDArray)[] feeds, Tensor[] fetches, Operation[] targets)
    {
        var plan = GetPlan(feeds, fetches, targets);
        return Options.OptimizePlans && plan.HostOnly ? FindSpecialization(plan, feeds) ?? plan : plan;
    }

    /// <summary>The plan of the last run: a loop that repeats one call finds it by comparing references, in order.</summary>
    Plan? lastPlan;

    static bool SameOrder(Plan p, (Tensor, NDArray)[] feeds, Tensor[] fetches, Operation[] targets)
    {
        if (p.Feeds.Length != feeds.Length || p.Fetches.Length != fetches.Length || p.Targets.Length != targets.Length) return false;
        for (int i = 0; i < feeds.Length; i++) if (!ReferenceEquals(p.Feeds[i], feeds[i].Item1)) return false;
        for (int i = 0; i < fetches.Length; i++) if (!ReferenceEquals(p.Fetches[i], fetches[i])) return false;
        for (int i = 0; i < targets.Length; i++) if (!ReferenceEquals(p.Targets[i], targets[i])) return false;
        return true;
    }

    Plan GetPlan((Tensor, NDArray)[] feeds, Tensor[] fetches, Operation[] targets)
    {
        var last = lastPlan;
        if (last != null && SameOrder(last, feeds, fetches, targets)) return last;
        var plan = FindOrBuildPlan(feeds, fetches, targets);
        lastPlan = plan;
        return plan;
    }

    Plan FindOrBuildPlan((Tensor, NDArray)[] feeds, Tensor[] fetches, Operation[] targets)
    {
        long key = 17;
        foreach (var (t, _) in feeds) key += Mix(t.Op.Id * 64L + t.Index, 1);
        foreach (var t in fetches) key += Mix(t.Op.Id * 64L + t.Index, 2);
        foreach (var o in targets) key += Mix(o.Id, 3);
        if (plans.TryGetValue(key, out var list))
            foreach (var p in list)
                if (Matches(p, feeds, fetches, targets)) return p;
        var feedTensors = new Tensor[feeds.Length];
        for (int i = 0; i < feeds.Length; i++)
        {
            feedTensors[i] = feeds[i].Item1;
            for (int j = 0; j < i; j++)
                if (feedTensors[j] == feedTensors[i]) throw new FeedException($"tensor '{feedTensors[i].Name}' is fed twice");
        }
        foreach (var t in fetches)
            if (t.Graph != Graph) throw new SessionRunException($"fetch {t.Name} belongs to another graph");
        var plan = Plan.Build(this, feedTensors, (Tensor[])fetches.Clone(), (Operation[])targets.Clone());
        plan.Key = key;
        plans.AddOrUpdate(key, [plan], (_, old) => [.. old, plan]);
        return plan;
    }

    static long Mix(long x, long salt)
    {
        ulong z = (ulong)(x * 31 + salt) + 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return (long)(z ^ (z >> 31));
    }

    static bool Matches(Plan p, (Tensor, NDArray)[] feeds, Tensor[] fetches, Operation[] targets)
    {
        if (p.Feeds.Length != feeds.Length || p.Fetches.Length != fetches.Length || p.Targets.Length != targets.Length) return false;
        foreach (var (t, _) in feeds) if (IndexOf(p.Feeds, t) < 0) return false;
        foreach (var t in fetches) if (IndexOf(p.Fetches, t) < 0) return false;
        foreach (var o in targets) if (IndexOf(p.Targets, o) < 0) return false;
        return true;
    }

    internal Device Place(Operation op)
    {
        string? want = op.Device ?? Options.DefaultDevice;
        if (op.Def.Stateful) return devices.Length == 1 ? CpuDevice.Instance : PlaceStateful(op, want);
        if (want == null) return CpuDevice.Instance;
        foreach (var d in devices)
            if (string.Equals(d.Name, want, StringComparison.OrdinalIgnoreCase) && d.CanRun(op.Def)) return d;
        return CpuDevice.Instance;
    }

    /// <summary>Stateful ops in a session with other devices: a variable lives on the device it asks for when that
    /// device holds variables (else on the CPU), and a random sampler runs there when the device has its kernel; an op
    /// that updates variables in place (<see cref="Ops.OpDef.RefInputs"/>) runs where they live, whatever it asks for
    /// itself.</summary>
    Device PlaceStateful(Operation op, string? want)
    {
        int refs = op.Def.RefInputs;
        if (refs == 0)
        {
            // Variables, random samplers: where they ask, when that device has a kernel for them.
            if (want == null) return CpuDevice.Instance;
            foreach (var d in devices)
                if (string.Equals(d.Name, want, StringComparison.OrdinalIgnoreCase) && d.CanRun(op.Def)) return d;
            return CpuDevice.Instance;
        }
        if (op.Inputs.Length < refs) return CpuDevice.Instance;
        var home = Place(op.Inputs[0].Op);
        for (int i = 1; i < refs; i++)
        {
            var other = Place(op.Inputs[i].Op);
            if (other != home)
                throw new SessionRunException($"{op} updates variable '{op.Inputs[0].Op.Name}' on {home.Name} and variable " +
                    $"'{op.Inputs[i].Op.Name}' on {other.Name}: the variables one op updates must live on one device (create them " +
                    "under the same graph.Device scope)");
        }
        if (!home.IsHost && !home.CanRun(op.Def))
            throw new SessionRunException($"{op} updates variable '{op.Inputs[0].Op.Name}' on {home.Name}, which has no kernel for {op.Type}");
        return home;
    }

    /// <summary>The device a variable's value lives on in this session.</summary>
    internal Device HomeOf(Operation variable) => devices.Length == 1 ? CpuDevice.Instance : Place(variable);

    /// <summary>Logs where <paramref name="op"/> was placed (with <see cref="SessionOptions.LogDevicePlacement"/>).</summary>
    internal void LogPlacement(Operation op, Device placed, string? movedToHostBecause = null)
    {
        string? want = op.Device ?? Options.DefaultDevice;
        string line = $"{op.Name}: ({op.Type}): {placed.Name}";
        if (want != null && !string.Equals(want, placed.Name, StringComparison.OrdinalIgnoreCase))
        {
            var asked = devices.FirstOrDefault(d => string.Equals(d.Name, want, StringComparison.OrdinalIgnoreCase));
            string why = asked == null ? $"no device {want} in this session"
                : op.Def.RefInputs > 0 ? $"it updates variable '{op.Inputs[0].Op.Name}', which lives on {placed.Name}"
                : movedToHostBecause ?? $"{want} has no kernel for {op.Type}";
            line += $" (asked for {want}: {why})";
        }
        (Options.PlacementLog ?? (m => Console.Error.WriteLine(m)))(line);
    }

    // ---- variables -------------------------------------------------------------------------------------

    internal NDArray ReadVariable(Operation v)
    {
        var vars = variables;
        var value = v.Id < vars.Length ? vars[v.Id] : null;
        return value ?? throw UninitializedVariableException.For(v.Name);
    }

    internal bool IsInitialized(Operation v) { var vars = variables; return v.Id < vars.Length && vars[v.Id] != null; }

    /// <summary>Stores <paramref name="value"/> into the variable, reusing its buffer when the layout matches; returns the stored array.</summary>
    internal NDArray WriteVariable(Operation v, NDArray value)
    {
        if (devices.Length > 1 && HomeOf(v) is { IsHost: false } home) return WriteDeviceVariable(v, value, home);
        lock (varGate)
        {
            if (variables.Length <= v.Id) Array.Resize(ref variables, Math.Max(Graph.Version, v.Id + 1));
            var cur = variables[v.Id];
            if (cur != null && cur.SameLayout(value.DType, value.dims))
            {
                if (!ReferenceEquals(cur.data, value.data)) Array.Copy(value.data, cur.data, value.Size);
                return cur;
            }
            var copy = value.Clone();
            variables[v.Id] = copy;
            return copy;
        }
    }

    /// <summary><see cref="WriteVariable"/> for a variable that lives on <paramref name="home"/> (a GPU): its buffer there
    /// is reused when the layout matches; <paramref name="value"/> may be a host array or an array of that device.</summary>
    NDArray WriteDeviceVariable(Operation v, NDArray value, Device home)
    {
        if (value.device != null && value.device != home)
            throw new SessionRunException($"cannot write a value on {value.device.Name} into variable '{v.Name}' on {home.Name}");
        lock (varGate)
        {
            if (variables.Length <= v.Id) Array.Resize(ref variables, Math.Max(Graph.Version, v.Id + 1));
            var cur = variables[v.Id];
            if (cur == null || cur.device != home || !cur.SameLayout(value.DType, value.dims))
            {
                var fresh = home.Allocate(value.DType, value.dims);
                if (cur?.device != null) cur.device.Free(cur);
                variables[v.Id] = cur = fresh;
            }
            if (ReferenceEquals(cur.data, value.data)) return cur;
            if (value.device == null) home.CopyIn(value, cur);
            else if (value.Size > 0) home.StridedCopy(value, 0, [1], cur, 0, [1], [value.Size]);
            return cur;
        }
    }

    internal long NextCounter(int opId)
    {
        var c = counters;
        if (opId >= c.Length)
        {
            lock (varGate)
            {
                if (opId >= counters.Length) Array.Resize(ref counters, Math.Max(Graph.Version, opId + 1));
                c = counters;
            }
        }
        return Interlocked.Increment(ref c[opId]) - 1;
    }

    /// <summary>Releases the session's worker pool and gives the buffers its run plans hold on non-host devices (GPU
    /// memory) back to their devices.</summary>
    public void Dispose()
    {
        var freed = new HashSet<NDArray>(ReferenceEqualityComparer.Instance);
        foreach (var list in plans.Values)
            foreach (var p in list)
            {
                p.FreeDeviceBuffers(freed);
                foreach (var special in p.Specializations)
                    if (special.Plan != p) special.Plan.FreeDeviceBuffers(freed);
            }
        lock (varGate)
        {
            // Variables that live on other devices give their memory back too.
            for (int i = 0; i < variables.Length; i++)
                if (variables[i]?.device is { } d && freed.Add(variables[i]!)) { d.Free(variables[i]!); variables[i] = null; }
        }
        ownPool?.Dispose();
    }
}
