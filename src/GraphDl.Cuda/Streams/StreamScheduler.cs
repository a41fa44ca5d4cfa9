using GraphDl.Cuda.Memory;

namespace GraphDl.Cuda.Streams;

/// <summary>A pinned host buffer that stages one asynchronous copy. Get one from
/// <see cref="StreamScheduler.AcquireStaging"/>; an H2D copy hands it back, a D2H copy's owner calls
/// <see cref="StreamScheduler.Release"/> after reading it.</summary>
public sealed class StagingBuffer
{
    internal StagingBuffer(object handle, long bytes, long address) { Handle = handle; Bytes = bytes; Address = address; }
    /// <summary>The backend's pinned memory.</summary>
    public object Handle { get; }
    /// <summary>Capacity in bytes.</summary>
    public long Bytes { get; }
    /// <summary>A made-up address, unique among staging buffers (for hazard tracking in tests).</summary>
    public long Address { get; }
    internal bool HostOwned;
    internal StreamPosition Pending;   // the last copy using it
}

/// <summary>A place in a stream: the <see cref="Seq"/>-th piece of work enqueued on <see cref="Stream"/> (0: nothing).</summary>
public readonly record struct StreamPosition(StreamKind Stream, long Seq)
{
    /// <summary>No position: nothing to wait for.</summary>
    public bool IsNone => Seq == 0;
}

/// <summary>A device buffer with the stream positions of its last uses.</summary>
public sealed class DeviceBuffer
{
    internal DeviceBuffer(MemoryBlock block, StreamPosition initial) { Block = block; LastWrite = initial; }
    /// <summary>The allocator's block.</summary>
    public MemoryBlock Block { get; }
    internal StreamPosition LastWrite;
    internal readonly long[] LastRead = new long[StreamScheduler.StreamCount];
    internal bool Freed;
}

/// <summary>Event and stream figures.</summary>
/// <param name="EventsRecorded">Events recorded on any stream.</param>
/// <param name="EventsLive">Events created and not yet destroyed.</param>
/// <param name="Waits">Cross-stream waits enqueued.</param>
/// <param name="WaitsElided">Cross-stream dependencies already implied by an earlier wait or a completed event.</param>
/// <param name="Queries">Event queries (non-blocking polls).</param>
/// <param name="HostSyncs">Host blocks on an event.</param>
/// <param name="DeferredFrees">Frees held back until another stream's event completed.</param>
/// <param name="StagingBuffers">Pinned staging buffers held.</param>
/// <param name="StagingReuses">Staging acquisitions served by an existing buffer.</param>
public readonly record struct StreamStats(long EventsRecorded, int EventsLive, long Waits, long WaitsElided, long Queries,
    long HostSyncs, long DeferredFrees, int StagingBuffers, long StagingReuses);

/// <summary>Orders work on a device's three streams (compute, host-to-device, device-to-host) with events, the way
/// GraphDl needs it: an H2D copy into a buffer is recorded with an event that the compute stream waits on before the
/// first kernel reading the buffer; a D2H copy waits on the event of the kernel that wrote its source; a kernel that
/// overwrites a buffer waits for copies still reading it; a pinned staging buffer is reused only after its copy's event
/// has completed; and a freed block that another stream may still use goes back to the allocator only once that
/// stream's event has completed (stream-ordered reuse; blocks used on the compute stream alone go back at once, and
/// reuse on a copy stream waits on the compute stream's position at the last such free).
/// <para>Knowledge is kept as vector clocks: <c>known[T][S]</c> is the last position of stream S that stream T's tail is
/// already ordered after (through waits, transitively), and <c>done[S]</c> what the host has seen complete. A
/// dependency already implied costs nothing; otherwise the latest event of S is reused when it covers the position,
/// or a new one is recorded at S's tail. Not thread-safe: the device serializes calls.</para></summary>
public sealed class StreamScheduler : IDisposable
{
    internal const int StreamCount = 3;

    sealed class Ev(object handle, StreamKind stream, long seq, long[] clock)
    {
        public readonly object Handle = handle;
        public readonly StreamKind Stream = stream;
        public readonly long Seq = seq;
        public readonly long[] Clock = clock;
    }

    readonly IStreamBackend backend;
    readonly CachingAllocator allocator;
    readonly object[] streams = new object[StreamCount];
    readonly long[] seq = new long[StreamCount];
    readonly long[][] known = [new long[StreamCount], new long[StreamCount], new long[StreamCount]];
    readonly long[] done = new long[StreamCount];
    readonly Queue<Ev>[] events = [new(), new(), new()];
    readonly List<(MemoryBlock block, StreamPosition[] uses)> deferred = [];
    readonly List<StagingBuffer> staging = [];
    long lastComputeFree, nextStagingAddress = 1L << 50;
    long recorded, waits, elided, queries, hostSyncs, deferredFrees, stagingReuses;
    int waitCount;

    /// <summary>A scheduler creating its streams on <paramref name="backend"/> and allocating from
    /// <paramref name="allocator"/>; at most <paramref name="maxStaging"/> pinned staging buffers are held.</summary>
    public StreamScheduler(IStreamBackend backend, CachingAllocator allocator, int maxStaging = 4)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxStaging, 1);
        this.backend = backend;
        this.allocator = allocator;
        MaxStaging = maxStaging;
        for (int s = 0; s < StreamCount; s++) streams[s] = backend.CreateStream((StreamKind)s);
    }

    /// <summary>The most pinned staging buffers held at once.</summary>
    public int MaxStaging { get; }

    /// <summary>Tests only: when it returns true for the n-th needed wait (0-based), that wait is dropped (to show that
    /// the hazard checker catches a missing wait).</summary>
    internal Func<int, bool>? DropWaitForTest { get; set; }

    /// <summary>The backend's handle of a stream.</summary>
    public object Stream(StreamKind kind) => streams[(int)kind];

    /// <summary>Current figures.</summary>
    public StreamStats Stats => new(recorded, events.Sum(q => q.Count), waits, elided, queries, hostSyncs, deferredFrees,
        staging.Count, stagingReuses);

    // ---- ordering core ----

    bool Ordered(StreamKind t, StreamPosition p) =>
        p.IsNone || p.Stream == t || known[(int)t][(int)p.Stream] >= p.Seq || done[(int)p.Stream] >= p.Seq;

    /// <summary>Makes work enqueued next on <paramref name="t"/> run after position <paramref name="p"/>.</summary>
    void Need(StreamKind t, StreamPosition p)
    {
        if (Ordered(t, p)) { if (!p.IsNone && p.Stream != t) elided++; return; }
        var ev = Covering(p);
        if (DropWaitForTest?.Invoke(waitCount++) == true) return;
        backend.WaitEvent(streams[(int)t], ev.Handle);
        waits++;
        var k = known[(int)t];
        for (int s = 0; s < StreamCount; s++) k[s] = Math.Max(k[s], ev.Clock[s]);
    }

    /// <summary>An event on p's stream recorded at or after p (the latest, or a new one at the tail).</summary>
    Ev Covering(StreamPosition p)
    {
        var q = events[(int)p.Stream];
        foreach (var e in q) if (e.Seq >= p.Seq) return e;
        return Record(p.Stream);
    }

    Ev Record(StreamKind s)
    {
        var clock = (long[])known[(int)s].Clone();
        for (int i = 0; i < StreamCount; i++) clock[i] = Math.Max(clock[i], done[i]);
        clock[(int)s] = seq[(int)s];
        var ev = new Ev(backend.CreateEvent(), s, seq[(int)s], clock);
        backend.RecordEvent(ev.Handle, streams[(int)s]);
        events[(int)s].Enqueue(ev);
        recorded++;
        return ev;
    }

    void Completed(Ev ev)
    {
        for (int s = 0; s < StreamCount; s++)
        {
            done[s] = Math.Max(done[s], ev.Clock[s]);
            var q = events[s];
            while (q.Count > 0 && q.Peek().Seq <= done[s]) backend.DestroyEvent(q.Dequeue().Handle);
        }
    }

    /// <summary>True when the host knows position <paramref name="p"/> has completed; polls an event (recording one
    /// at the tail when none covers p yet) but never blocks.</summary>
    public bool IsComplete(StreamPosition p)
    {
        if (p.IsNone || done[(int)p.Stream] >= p.Seq) return true;
        var ev = Covering(p);
        queries++;
        if (!backend.QueryEvent(ev.Handle)) return false;
        Completed(ev);
        return true;
    }

    /// <summary>Blocks the host until position <paramref name="p"/> has completed.</summary>
    public void WaitFor(StreamPosition p)
    {
        if (p.IsNone || done[(int)p.Stream] >= p.Seq) return;
        var ev = Covering(p);
        hostSyncs++;
        backend.SynchronizeEvent(ev.Handle);
        Completed(ev);
    }

    StreamPosition Enqueue(StreamKind s) => new(s, ++seq[(int)s]);

    // ---- memory ----

    /// <summary>A device buffer of at least <paramref name="bytes"/> bytes. Blocks whose deferred free has completed are
    /// returned to the allocator first; when the allocator is out of memory, the device is synchronized and the
    /// request retried once.</summary>
    public DeviceBuffer Allocate(long bytes, string requester)
    {
        PollDeferred();
        MemoryBlock block;
        try { block = allocator.Allocate(bytes, requester); }
        catch (GpuOutOfMemoryException) when (deferred.Count > 0)
        {
            Synchronize();
            block = allocator.Allocate(bytes, requester);
        }
        // The block may hold memory last used by compute work up to the last free: other streams must wait for that.
        return new DeviceBuffer(block, new(StreamKind.Compute, lastComputeFree));
    }

    /// <summary>Frees a buffer. Its block goes back to the allocator now when only the compute stream used it (work
    /// enqueued later is ordered after those uses); otherwise once the copy streams' last uses have completed.</summary>
    public void Free(DeviceBuffer buffer)
    {
        if (buffer.Freed) throw new InvalidOperationException($"device buffer at {buffer.Block.Address} is freed twice");
        buffer.Freed = true;
        var uses = new List<StreamPosition>();
        void Use(StreamPosition p)
        {
            if (p.IsNone) return;
            if (p.Stream == StreamKind.Compute) lastComputeFree = Math.Max(lastComputeFree, p.Seq);
            else if (done[(int)p.Stream] < p.Seq) uses.Add(p);
        }
        Use(buffer.LastWrite);
        for (int s = 0; s < StreamCount; s++) Use(new((StreamKind)s, buffer.LastRead[s]));
        if (uses.Count == 0) { allocator.Free(buffer.Block); return; }
        deferredFrees++;
        deferred.Add((buffer.Block, uses.ToArray()));
    }

    void PollDeferred()
    {
        for (int i = 0; i < deferred.Count; i++)
        {
            var (block, uses) = deferred[i];
            if (!uses.All(IsComplete)) continue;
            allocator.Free(block);
            deferred.RemoveAt(i--);
        }
    }

    /// <summary>Frees held back and not yet returned to the allocator.</summary>
    public int PendingFrees => deferred.Count;

    // ---- staging ----

    /// <summary>A pinned staging buffer of at least <paramref name="bytes"/> bytes that no queued copy uses any more:
    /// an idle one whose last copy has completed (polled), else a new one while fewer than <see cref="MaxStaging"/> are
    /// held, else the host waits for the oldest copy that fits (a too-small idle one is replaced by a larger one).</summary>
    public StagingBuffer AcquireStaging(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        StagingBuffer? pick = null;
        foreach (var b in staging)
            if (!b.HostOwned && b.Bytes >= bytes && IsComplete(b.Pending)) { pick = b; break; }
        if (pick != null) stagingReuses++;
        else if (staging.Count < MaxStaging) pick = NewStaging(bytes);
        else
        {
            var idle = staging.Where(b => !b.HostOwned).ToList();
            if (idle.Count == 0) throw new InvalidOperationException($"all {MaxStaging} staging buffers are held by the host; release one first");
            var fit = idle.Where(b => b.Bytes >= bytes).MinBy(b => b.Pending.Seq);
            if (fit != null) { WaitFor(fit.Pending); pick = fit; stagingReuses++; }
            else
            {
                var old = idle.MinBy(b => b.Bytes)!;
                WaitFor(old.Pending);
                staging.Remove(old);
                backend.FreePinned(old.Handle);
                pick = NewStaging(bytes);
            }
        }
        pick.HostOwned = true;
        return pick;
    }

    StagingBuffer NewStaging(long bytes)
    {
        long size = Math.Max(64 * 1024, (bytes + 4095) / 4096 * 4096);
        var b = new StagingBuffer(backend.AllocatePinned(size), size, nextStagingAddress);
        nextStagingAddress += size + (1L << 20);
        staging.Add(b);
        return b;
    }

    /// <summary>Hands a staging buffer back after the host has read it (D2H) or decided not to use it.</summary>
    public void Release(StagingBuffer buffer)
    {
        if (!buffer.HostOwned) throw new InvalidOperationException("staging buffer released twice");
        buffer.HostOwned = false;
    }

    // ---- work ----

    /// <summary>Copies the first <paramref name="bytes"/> bytes of <paramref name="source"/> (filled by the host) into
    /// <paramref name="destination"/> on the H2D stream, and hands the staging buffer back.</summary>
    public StreamPosition CopyToDevice(StagingBuffer source, DeviceBuffer destination, long bytes)
    {
        CheckCopy(source, destination, bytes);
        const StreamKind h = StreamKind.HostToDevice;
        Need(h, destination.LastWrite);
        for (int s = 0; s < StreamCount; s++) Need(h, new((StreamKind)s, destination.LastRead[s]));
        backend.EnqueueCopy(streams[(int)h], new CopyWork(true, destination.Block, source, bytes));
        var p = Enqueue(h);
        destination.LastWrite = p;
        Array.Clear(destination.LastRead);
        source.Pending = p;
        source.HostOwned = false;
        return p;
    }

    /// <summary>Copies <paramref name="source"/> into the staging buffer on the D2H stream after the work that wrote
    /// it; the host calls <see cref="WaitFor"/> with the returned position before reading the staging buffer.</summary>
    public StreamPosition CopyToHost(DeviceBuffer source, StagingBuffer destination, long bytes)
    {
        CheckCopy(destination, source, bytes);
        const StreamKind d = StreamKind.DeviceToHost;
        Need(d, source.LastWrite);
        backend.EnqueueCopy(streams[(int)d], new CopyWork(false, source.Block, destination, bytes));
        var p = Enqueue(d);
        source.LastRead[(int)d] = p.Seq;
        destination.Pending = p;
        return p;
    }

    /// <summary>Inside a running kernel's launch (a small operand it uploads, e.g. validated lengths or indices): copies
    /// the first <paramref name="bytes"/> bytes of <paramref name="source"/> (filled by the host) into
    /// <paramref name="destination"/> on the compute stream, in order with the kernel's own launches, without a host
    /// wait. The destination must be ordered for compute use first (<see cref="ComputeUses"/>); the staging buffer stays
    /// the host's until <see cref="ReleaseAfterLastKernel"/>, once the kernel has its position.</summary>
    public void UploadOnCompute(StagingBuffer source, DeviceBuffer destination, long bytes)
    {
        CheckCopy(source, destination, bytes);
        backend.EnqueueCopy(streams[(int)StreamKind.Compute], new CopyWork(true, destination.Block, source, bytes));
    }

    /// <summary>Hands back a staging buffer that <see cref="UploadOnCompute"/> used during the last kernel: it is reused
    /// only once that kernel (the compute stream's latest position) has completed.</summary>
    public void ReleaseAfterLastKernel(StagingBuffer buffer)
    {
        if (!buffer.HostOwned) throw new InvalidOperationException("staging buffer released twice");
        buffer.Pending = new(StreamKind.Compute, seq[(int)StreamKind.Compute]);
        buffer.HostOwned = false;
    }

    void CheckCopy(StagingBuffer host, DeviceBuffer device, long bytes)
    {
        if (device.Freed) throw new InvalidOperationException($"copy with a freed device buffer (at {device.Block.Address})");
        if (!host.HostOwned) throw new InvalidOperationException("copy with a staging buffer the host does not hold (acquire it first)");
        if (bytes < 0 || bytes > host.Bytes || bytes > device.Block.Size)
            throw new ArgumentOutOfRangeException(nameof(bytes), $"{bytes} bytes do not fit staging ({host.Bytes}) and device ({device.Block.Size}) buffers");
    }

    /// <summary>Enqueues a kernel on the compute stream after the copies that wrote what it reads and the copies
    /// still reading what it writes.</summary>
    public StreamPosition Kernel(string name, IReadOnlyList<DeviceBuffer> reads, IReadOnlyList<DeviceBuffer> writes, Action<object>? launch = null)
    {
        const StreamKind c = StreamKind.Compute;
        foreach (var b in reads.Concat(writes))
            if (b.Freed) throw new InvalidOperationException($"kernel {name} uses a freed device buffer (at {b.Block.Address})");
        foreach (var b in reads) Need(c, b.LastWrite);
        foreach (var b in writes)
        {
            Need(c, b.LastWrite);
            for (int s = 0; s < StreamCount; s++) Need(c, new((StreamKind)s, b.LastRead[s]));
        }
        var p = default(StreamPosition);
        try
        {
            backend.EnqueueKernel(streams[(int)c], new KernelWork(name, reads.Select(b => b.Block).ToList(), writes.Select(b => b.Block).ToList(), launch));
        }
        finally
        {
            // The position is taken after the launch (also when it threw: part of it may be queued), so an event recorded
            // at the compute tail never claims work enqueued after it. The lists are read again here: a launch may add
            // buffers it touched after ordering them with ComputeUses (a device's nested work).
            p = Enqueue(c);
            foreach (var b in reads) b.LastRead[(int)c] = p.Seq;
            foreach (var b in writes) { b.LastWrite = p; Array.Clear(b.LastRead); }
        }
        return p;
    }

    /// <summary>Orders the compute stream's next work after what using <paramref name="buffer"/> (reading, or writing when
    /// <paramref name="write"/>) depends on, now: for work a running kernel does on a buffer it did not declare up front
    /// (work enqueued on the compute stream after this call runs after the waits it enqueues). The caller adds the buffer
    /// to the kernel's read or write list so that it is marked with the kernel's position.</summary>
    public void ComputeUses(DeviceBuffer buffer, bool write)
    {
        const StreamKind c = StreamKind.Compute;
        if (buffer.Freed) throw new InvalidOperationException($"a kernel uses a freed device buffer (at {buffer.Block.Address})");
        Need(c, buffer.LastWrite);
        if (write) for (int s = 0; s < StreamCount; s++) Need(c, new((StreamKind)s, buffer.LastRead[s]));
    }

    /// <summary>True when compute work enqueued now may use <paramref name="buffer"/> without a new wait (what
    /// <see cref="ComputeUses"/> would find already ordered).</summary>
    public bool IsComputeOrdered(DeviceBuffer buffer, bool write)
    {
        const StreamKind c = StreamKind.Compute;
        if (!Ordered(c, buffer.LastWrite)) return false;
        if (write) for (int s = 0; s < StreamCount; s++) if (!Ordered(c, new((StreamKind)s, buffer.LastRead[s]))) return false;
        return true;
    }

    /// <summary>Returns the held-back frees whose copies have completed (polled, never blocks) to the allocator.</summary>
    public void Reclaim() => PollDeferred();

    /// <summary>Blocks until everything enqueued has completed; returns deferred frees to the allocator.</summary>
    public void Synchronize()
    {
        for (int s = 0; s < StreamCount; s++) WaitFor(new((StreamKind)s, seq[s]));
        PollDeferred();
    }

    /// <summary>Synchronizes, then frees staging buffers and events (streams belong to the backend).</summary>
    public void Dispose()
    {
        Synchronize();
        foreach (var b in staging) backend.FreePinned(b.Handle);
        staging.Clear();
        foreach (var q in events) while (q.Count > 0) backend.DestroyEvent(q.Dequeue().Handle);
    }
}
