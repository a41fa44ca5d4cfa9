using GraphDl.Cuda.Streams;

namespace GraphDl.Cuda.Tests;

/// <summary>A stream backend that runs each stream's queue in order but interleaves the streams at random, honouring
/// cross-stream order only through events. Every access to device blocks and staging buffers (512-byte cells) is checked
/// with vector clocks, so a missing happens-before edge is a hazard whatever the interleaving turned out to be.</summary>
sealed class FakeStreamBackend(int seed, double progress = 0.5) : IStreamBackend
{
    public const int Host = 3;
    const int Agents = 4;

    sealed class Op
    {
        public required int Kind;   // 0 work, 1 record, 2 wait
        public required long[] HostClock;
        public FakeEvent? Event;
        public Op? Waited;
        public CopyWork? Copy;
        public KernelWork? Kernel;
        // Ranges taken at enqueue time: a freed MemoryBlock object is reused (resized) by the allocator.
        public List<(long address, long bytes, bool write, string what)> Accesses = [];
        public bool Executed;
        public long[]? Clock;
    }

    sealed class FakeEvent { public Op? LastRecord; public bool Destroyed; }

    sealed class Cell
    {
        public int WAgent = -1;
        public long WEpoch;
        public string? WWhat;
        public readonly string?[] RWhat = new string?[Agents];
        public readonly long[] R = new long[Agents];
    }

    readonly Random rng = new(seed);
    readonly Queue<Op>[] queues = [new(), new(), new()];
    readonly long[][] vc = [new long[Agents], new long[Agents], new long[Agents], new long[Agents]];
    readonly Dictionary<long, Cell> shadow = [];
    public readonly List<string> Hazards = [];
    public int EventsCreated, EventsDestroyed, WaitsEnqueued, Records, PinnedLive;
    public long OpsExecuted;

    public object CreateStream(StreamKind kind) => (int)kind;
    public object CreateEvent() { EventsCreated++; return new FakeEvent(); }
    public void DestroyEvent(object evt)
    {
        var e = (FakeEvent)evt;
        if (e.Destroyed) throw new InvalidOperationException("event destroyed twice");
        e.Destroyed = true;
        EventsDestroyed++;
    }

    Op NewOp(int kind) => new() { Kind = kind, HostClock = (long[])vc[Host].Clone() };

    void Push(object stream, Op op) { queues[(int)stream].Enqueue(op); Tick(); }

    public void RecordEvent(object evt, object stream)
    {
        var e = Live(evt);
        var op = NewOp(1);
        op.Event = e;
        e.LastRecord = op;
        Records++;
        Push(stream, op);
    }

    public void WaitEvent(object stream, object evt)
    {
        var op = NewOp(2);
        op.Waited = Live(evt).LastRecord;   // CUDA: the most recent record at the time of the call
        WaitsEnqueued++;
        Push(stream, op);
    }

    public bool QueryEvent(object evt)
    {
        Tick();
        var r = Live(evt).LastRecord;
        if (r is { Executed: false }) return false;
        if (r != null) Join(vc[Host], r.Clock!);
        return true;
    }

    public void SynchronizeEvent(object evt)
    {
        var r = Live(evt).LastRecord;
        if (r == null) return;
        while (!r.Executed)
        {
            var ready = Enumerable.Range(0, 3).Where(Runnable).ToList();
            if (ready.Count == 0) throw new InvalidOperationException("deadlock: no stream can make progress");
            Step(ready[rng.Next(ready.Count)]);
        }
        Join(vc[Host], r.Clock!);
    }

    public void EnqueueCopy(object stream, CopyWork copy)
    {
        var op = NewOp(0);
        op.Copy = copy;
        string what = copy.ToDevice ? "H2D" : "D2H";
        op.Accesses.Add((copy.Staging.Address, copy.Bytes, !copy.ToDevice, $"{what} copy, staging side"));
        op.Accesses.Add((copy.Device.Address, copy.Bytes, copy.ToDevice, $"{what} copy, device side, {copy.Device.Address}+{copy.Bytes}"));
        Push(stream, op);
    }

    public void EnqueueKernel(object stream, KernelWork kernel)
    {
        // The launch enqueues nothing here, but runs (a device's nested work may order itself with waits meanwhile,
        // which land before the kernel's op).
        kernel.Launch?.Invoke(stream);
        var op = NewOp(0);
        op.Kernel = kernel;
        foreach (var b in kernel.Reads) op.Accesses.Add((b.Address, b.Size, false, $"kernel {kernel.Name} read {b.Address}+{b.Size}"));
        foreach (var b in kernel.Writes) op.Accesses.Add((b.Address, b.Size, true, $"kernel {kernel.Name} write {b.Address}+{b.Size}"));
        Push(stream, op);
    }

    public object AllocatePinned(long bytes) { PinnedLive++; return new object(); }
    public void FreePinned(object pinned) => PinnedLive--;

    /// <summary>The host writes a staging buffer (before an H2D copy).</summary>
    public void HostWrite(StagingBuffer b, long bytes) { vc[Host][Host]++; Access(Host, b.Address, bytes, true, "host write of staging"); }
    /// <summary>The host reads a staging buffer (after a D2H copy).</summary>
    public void HostRead(StagingBuffer b, long bytes) { vc[Host][Host]++; Access(Host, b.Address, bytes, false, "host read of staging"); }

    /// <summary>Runs every queue to its end (as at the end of a test).</summary>
    public void Drain()
    {
        while (true)
        {
            var ready = Enumerable.Range(0, 3).Where(Runnable).ToList();
            if (ready.Count == 0) break;
            Step(ready[rng.Next(ready.Count)]);
        }
        if (queues.Any(q => q.Count > 0)) throw new InvalidOperationException("deadlock: work left that can never run");
    }

    public int Queued => queues.Sum(q => q.Count);

    FakeEvent Live(object evt)
    {
        var e = (FakeEvent)evt;
        if (e.Destroyed) throw new InvalidOperationException("use of a destroyed event");
        return e;
    }

    bool Runnable(int s) => queues[s].Count > 0 && !(queues[s].Peek() is { Kind: 2, Waited: { Executed: false } });

    void Tick()
    {
        while (rng.NextDouble() < progress)
        {
            var ready = Enumerable.Range(0, 3).Where(Runnable).ToList();
            if (ready.Count == 0) return;
            Step(ready[rng.Next(ready.Count)]);
        }
    }

    void Step(int s)
    {
        var op = queues[s].Dequeue();
        var c = vc[s];
        Join(c, op.HostClock);
        c[s]++;
        OpsExecuted++;
        switch (op.Kind)
        {
            case 1: op.Clock = (long[])c.Clone(); op.Executed = true; break;
            case 2: if (op.Waited != null) Join(c, op.Waited.Clock!); break;
            default:
                foreach (var (address, bytes, write, what) in op.Accesses) Access(s, address, bytes, write, what);
                break;
        }
    }

    static void Join(long[] into, long[] from)
    {
        for (int i = 0; i < Agents; i++) into[i] = Math.Max(into[i], from[i]);
    }

    void Access(int agent, long address, long bytes, bool write, string what)
    {
        if (bytes <= 0) return;
        var cur = vc[agent];
        for (long cell = address / 512; cell <= (address + bytes - 1) / 512; cell++)
        {
            if (!shadow.TryGetValue(cell, out var st)) shadow[cell] = st = new Cell();
            string? hazard = null;
            if (st.WAgent >= 0 && cur[st.WAgent] < st.WEpoch) hazard = $"{what} at {cell * 512} races a write by agent {st.WAgent} ({st.WWhat})";
            else if (write)
                for (int a = 0; a < Agents; a++)
                    if (st.R[a] > cur[a]) { hazard = $"{what} at {cell * 512} races a read by agent {a} ({st.RWhat[a]})"; break; }
            if (hazard != null) { Hazards.Add(hazard); return; }
            if (write) { st.WAgent = agent; st.WEpoch = cur[agent]; st.WWhat = what; Array.Clear(st.R); }
            else { st.R[agent] = Math.Max(st.R[agent], cur[agent]); st.RWhat[agent] = what; }
        }
    }
}
