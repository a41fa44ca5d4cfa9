using GraphDl.Cuda.Memory;

namespace GraphDl.Cuda.Streams;

/// <summary>The three streams of a device.</summary>
public enum StreamKind
{
    /// <summary>Kernels (and cuBLAS).</summary>
    Compute = 0,
    /// <summary>Host-to-device copies (feeds, variable uploads).</summary>
    HostToDevice = 1,
    /// <summary>Device-to-host copies (fetches).</summary>
    DeviceToHost = 2,
}

/// <summary>A copy between a pinned staging buffer and a device block, enqueued on the H2D or D2H stream. A backend
/// takes the block's address when the work is enqueued: once freed, a <see cref="MemoryBlock"/> object may be resized
/// and handed out again by the allocator while the work is still queued.</summary>
/// <param name="ToDevice">True for host to device.</param>
/// <param name="Device">The device block (its first <paramref name="Bytes"/> bytes).</param>
/// <param name="Staging">The pinned host side.</param>
/// <param name="Bytes">Bytes copied.</param>
public sealed record CopyWork(bool ToDevice, MemoryBlock Device, StagingBuffer Staging, long Bytes);

/// <summary>A kernel launch on the compute stream: what it reads and writes, and how to launch it on a real stream.
/// As with <see cref="CopyWork"/>, block addresses are only valid when the work is enqueued.</summary>
/// <param name="Name">For diagnostics (a node name).</param>
/// <param name="Reads">Blocks the kernel reads.</param>
/// <param name="Writes">Blocks the kernel writes.</param>
/// <param name="Launch">Enqueues the kernel on the backend's stream handle (null in tests: the fake only tracks accesses).</param>
public sealed record KernelWork(string Name, IReadOnlyList<MemoryBlock> Reads, IReadOnlyList<MemoryBlock> Writes, Action<object>? Launch = null);

/// <summary>What <see cref="StreamScheduler"/> needs from a device: CUDA streams and events
/// (<see cref="CudaStreamBackend"/>) or, in tests, a fake that runs each stream's queue in order, interleaves streams at
/// random and checks every buffer access for hazards. Handles are opaque to the scheduler.</summary>
public interface IStreamBackend
{
    /// <summary>A new non-blocking stream.</summary>
    object CreateStream(StreamKind kind);
    /// <summary>A new event (timing disabled).</summary>
    object CreateEvent();
    /// <summary>Destroys an event; waits already enqueued on it still hold.</summary>
    void DestroyEvent(object evt);
    /// <summary>Records <paramref name="evt"/> at the current tail of <paramref name="stream"/>.</summary>
    void RecordEvent(object evt, object stream);
    /// <summary>Work enqueued on <paramref name="stream"/> after this call waits for the event's most recent record.</summary>
    void WaitEvent(object stream, object evt);
    /// <summary>True when the event's most recent record has completed (never blocks).</summary>
    bool QueryEvent(object evt);
    /// <summary>Blocks the host until the event's most recent record has completed.</summary>
    void SynchronizeEvent(object evt);
    /// <summary>Enqueues an asynchronous copy on <paramref name="stream"/>.</summary>
    void EnqueueCopy(object stream, CopyWork copy);
    /// <summary>Enqueues a kernel on <paramref name="stream"/>.</summary>
    void EnqueueKernel(object stream, KernelWork kernel);
    /// <summary>Pinned (page-locked) host memory for a staging buffer.</summary>
    object AllocatePinned(long bytes);
    /// <summary>Frees pinned memory from <see cref="AllocatePinned"/>.</summary>
    void FreePinned(object pinned);
}
