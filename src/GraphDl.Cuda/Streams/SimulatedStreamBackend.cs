using GraphDl.Cuda.Memory;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Streams;

/// <summary>The <see cref="IStreamBackend"/> of the simulated device (ILGPU's CPU accelerator), built so that a missing
/// event wait changes results. Compute work runs eagerly: <see cref="EnqueueKernel"/> calls the launch at once (CPU
/// accelerator launches run in program order). Copies are deferred as late as CUDA would allow: an H2D or D2H copy sits
/// in its stream's queue and runs only when something forces it: a <see cref="WaitEvent"/> on the compute stream (its
/// event's stream runs up to the event's record, since compute is eager), <see cref="SynchronizeEvent"/>, or a queued
/// wait reached while a copy queue runs (a copy stream waiting on the other copy stream's event runs that one first).
/// <see cref="QueryEvent"/> is false for a copy-stream event whose record has not run. So a kernel that reads a fed
/// buffer without waiting sees what was there before the copy (NaN when new buffers are poisoned), a kernel that
/// overwrites a buffer a queued fetch still has to read changes the fetched value, a staging buffer refilled before its
/// copy ran sends the wrong bytes, and a block reused while a queued copy targets it is overwritten later.
/// <para>Staging buffers are managed byte arrays (nothing needs pinning). Each copy's device side is taken when it is
/// enqueued (segment and offset): a freed <see cref="MemoryBlock"/> object may be resized and handed out again while the
/// copy is queued. With a seed, the backend also runs the head of a random copy queue at random calls (still honouring
/// queued waits), which explores schedules where copies complete earlier. What it cannot show: compute work is never
/// late, so a missing wait of a copy on earlier compute work (a copy overwriting a buffer a queued kernel still reads, or
/// reading one before the kernel writing it ran) goes unnoticed here; the scheduler's fake-backend tests cover those.</para></summary>
public sealed class SimulatedStreamBackend : IStreamBackend
{
    sealed class Item
    {
        public int Kind;                // 0 copy, 1 record, 2 wait
        public int Stream;
        public bool Executed;
        public bool ToDevice;
        public ArrayView<byte> Device;
        public byte[]? Staging;
        public long Bytes;
        public Item? Waited;            // a wait: the record it waits for (null: nothing)
    }

    sealed class Event
    {
        public Item? LastRecord;
        public bool Destroyed;
    }

    readonly AcceleratorStream stream;
    readonly Action? synchronizeCompute;
    readonly Queue<Item>[] queues = [new(), new(), new()];
    readonly Random? rng;
    readonly double earlyRate;

    /// <summary>A backend copying with <paramref name="stream"/> (the device's ILGPU stream). <paramref name="synchronizeCompute"/>
    /// finishes the compute stream's launches before a compute event is taken as complete (a no-op on the CPU accelerator,
    /// whose launches return when done). With a <paramref name="seed"/>, at each backend call the head of a random copy
    /// queue runs with probability <paramref name="earlyRate"/> (repeatedly).</summary>
    public SimulatedStreamBackend(AcceleratorStream stream, Action? synchronizeCompute = null, int? seed = null, double earlyRate = 0.3)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(earlyRate);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(earlyRate, 1.0);
        this.stream = stream;
        this.synchronizeCompute = synchronizeCompute;
        if (seed is { } s) rng = new Random(s);
        this.earlyRate = earlyRate;
    }

    /// <summary>Copies enqueued and not yet run.</summary>
    public int QueuedCopies => queues.Sum(q => q.Count(i => i.Kind == 0));
    /// <summary>Host-to-device copies enqueued so far.</summary>
    public long CopiesToDevice { get; private set; }
    /// <summary>Device-to-host copies enqueued so far.</summary>
    public long CopiesToHost { get; private set; }
    /// <summary>Uploads run on the compute stream by kernels (<see cref="StreamScheduler.UploadOnCompute"/>).</summary>
    public long UploadsOnCompute { get; private set; }
    /// <summary>Copies run so far.</summary>
    public long CopiesRun { get; private set; }
    /// <summary>Copies that ran because the compute stream waited on their stream.</summary>
    public long CopiesForcedByCompute { get; private set; }
    /// <summary>Copies run early by the seeded schedule.</summary>
    public long CopiesRunEarly { get; private set; }
    /// <summary>Events created and not destroyed.</summary>
    public int EventsLive { get; private set; }
    /// <summary>Staging buffers allocated and not freed.</summary>
    public int StagingLive { get; private set; }

    /// <inheritdoc/>
    public object CreateStream(StreamKind kind) => (int)kind;

    /// <inheritdoc/>
    public object CreateEvent() { EventsLive++; return new Event(); }

    /// <inheritdoc/>
    public void DestroyEvent(object evt)
    {
        var e = Live(evt);
        e.Destroyed = true;
        EventsLive--;
    }

    /// <inheritdoc/>
    public void RecordEvent(object evt, object stream)
    {
        var e = Live(evt);
        int s = (int)stream;
        if (s == (int)StreamKind.Compute)
        {
            // Compute work ran when it was enqueued: the record is complete now.
            synchronizeCompute?.Invoke();
            e.LastRecord = new Item { Kind = 1, Stream = s, Executed = true };
        }
        else
        {
            var item = new Item { Kind = 1, Stream = s };
            e.LastRecord = item;
            queues[s].Enqueue(item);
        }
        MaybeRunEarly();
    }

    /// <inheritdoc/>
    public void WaitEvent(object stream, object evt)
    {
        var target = Live(evt).LastRecord;   // CUDA: the most recent record at the time of the call
        int s = (int)stream;
        if (s == (int)StreamKind.Compute)
        {
            // Compute is eager: everything it will run next comes after this wait, so the waited stream runs up to the record now.
            long before = CopiesRun;
            RunUntil(target);
            CopiesForcedByCompute += CopiesRun - before;
        }
        else queues[s].Enqueue(new Item { Kind = 2, Stream = s, Waited = target });
    }

    /// <inheritdoc/>
    public bool QueryEvent(object evt)
    {
        var e = Live(evt);
        MaybeRunEarly();
        return e.LastRecord is not { Executed: false };
    }

    /// <inheritdoc/>
    public void SynchronizeEvent(object evt) => RunUntil(Live(evt).LastRecord);

    /// <inheritdoc/>
    public void EnqueueCopy(object stream, CopyWork copy)
    {
        int s = (int)stream;
        if (s == (int)StreamKind.Compute)
        {
            // A kernel's own upload (StreamScheduler.UploadOnCompute): compute runs eagerly, so the copy runs now.
            if (!copy.ToDevice) throw new ArgumentException("device-to-host copies go on the D2H stream", nameof(stream));
            UploadsOnCompute++;
            Copy(new Item { Kind = 0, Stream = s, ToDevice = true, Bytes = copy.Bytes, Staging = (byte[])copy.Staging.Handle,
                Device = IlgpuMemoryBackend.View(copy.Device, copy.Bytes) });
            return;
        }
        if (copy.ToDevice) CopiesToDevice++; else CopiesToHost++;
        queues[s].Enqueue(new Item
        {
            Kind = 0, Stream = s, ToDevice = copy.ToDevice, Bytes = copy.Bytes, Staging = (byte[])copy.Staging.Handle,
            // Taken now: the block object may be reused by the allocator before the copy runs.
            Device = IlgpuMemoryBackend.View(copy.Device, copy.Bytes),
        });
        MaybeRunEarly();
    }

    /// <inheritdoc/>
    public void EnqueueKernel(object stream, KernelWork kernel)
    {
        if ((int)stream != (int)StreamKind.Compute) throw new ArgumentException($"kernel {kernel.Name} on a copy stream", nameof(stream));
        MaybeRunEarly();
        kernel.Launch?.Invoke(stream);
    }

    /// <inheritdoc/>
    public object AllocatePinned(long bytes)
    {
        if (bytes > Array.MaxLength) throw new ArgumentOutOfRangeException(nameof(bytes), $"a simulated staging buffer of {bytes} bytes");
        StagingLive++;
        return new byte[bytes];
    }

    /// <inheritdoc/>
    public void FreePinned(object pinned)
    {
        if (pinned is not byte[]) throw new ArgumentException("not a simulated staging buffer", nameof(pinned));
        StagingLive--;
    }

    static Event Live(object evt)
    {
        var e = (Event)evt;
        if (e.Destroyed) throw new InvalidOperationException("use of a destroyed event");
        return e;
    }

    void RunUntil(Item? record)
    {
        if (record == null) return;
        var q = queues[record.Stream];
        while (!record.Executed)
        {
            if (q.Count == 0) throw new InvalidOperationException("an event's record is neither run nor queued");
            Step(record.Stream);
        }
    }

    void Step(int s)
    {
        var item = queues[s].Dequeue();
        switch (item.Kind)
        {
            case 0: Copy(item); break;
            case 2: RunUntil(item.Waited); break;   // a record enqueued before this wait: no cycle
        }
        item.Executed = true;
    }

    void Copy(Item item)
    {
        CopiesRun++;
        if (item.Bytes == 0) return;
        if (item.ToDevice) item.Device.CopyFromCPU(stream, ref item.Staging![0], item.Bytes);
        else item.Device.CopyToCPU(stream, ref item.Staging![0], item.Bytes);
        stream.Synchronize();
    }

    void MaybeRunEarly()
    {
        if (rng == null) return;
        while (rng.NextDouble() < earlyRate)
        {
            int s = 1 + rng.Next(2);
            if (queues[s].Count == 0) s = 3 - s;
            if (queues[s].Count == 0) return;
            long before = CopiesRun;
            Step(s);
            CopiesRunEarly += CopiesRun - before;
        }
    }
}
