using GraphDl.Cuda.Memory;
using GraphDl.Cuda.Native;

namespace GraphDl.Cuda.Streams;

/// <summary>The real <see cref="IStreamBackend"/>: CUDA driver streams, events, pinned memory and asynchronous copies
/// through <see cref="CudaDriver"/>. The compute stream is the one kernels are launched on (ILGPU's stream, whose
/// handle is passed in); the copy streams are created non-blocking. The device's context must be current on the calling
/// thread. <see cref="CudaDevice"/> uses it on a real GPU when streams are on (the default); compiled and reviewed, but
/// nothing here has run on a GPU yet (the simulated device uses <see cref="SimulatedStreamBackend"/>).</summary>
public sealed class CudaStreamBackend : IStreamBackend, IDisposable
{
    readonly IntPtr compute;
    readonly Func<MemoryBlock, IntPtr> devicePointer;
    readonly List<IntPtr> created = [];

    /// <summary>A backend whose compute stream is <paramref name="computeStream"/> and which finds a block's device
    /// address with <paramref name="devicePointer"/>.</summary>
    public CudaStreamBackend(IntPtr computeStream, Func<MemoryBlock, IntPtr> devicePointer)
    {
        if (computeStream == IntPtr.Zero)
            throw new ArgumentException("the compute stream must be a created stream, not the legacy NULL stream", nameof(computeStream));
        compute = computeStream;
        this.devicePointer = devicePointer;
    }

    /// <inheritdoc/>
    public object CreateStream(StreamKind kind)
    {
        if (kind == StreamKind.Compute) return compute;
        var s = CudaDriver.StreamCreate();
        created.Add(s);
        return s;
    }

    static IntPtr H(object handle) => (IntPtr)handle;

    /// <inheritdoc/>
    public object CreateEvent() => CudaDriver.EventCreate();
    /// <inheritdoc/>
    public void DestroyEvent(object evt) => CudaDriver.EventDestroy(H(evt));
    /// <inheritdoc/>
    public void RecordEvent(object evt, object stream) => CudaDriver.EventRecord(H(evt), H(stream));
    /// <inheritdoc/>
    public void WaitEvent(object stream, object evt) => CudaDriver.StreamWaitEvent(H(stream), H(evt));
    /// <inheritdoc/>
    public bool QueryEvent(object evt) => CudaDriver.EventQuery(H(evt));
    /// <inheritdoc/>
    public void SynchronizeEvent(object evt) => CudaDriver.EventSynchronize(H(evt));

    /// <inheritdoc/>
    public void EnqueueCopy(object stream, CopyWork copy)
    {
        var device = devicePointer(copy.Device);
        var host = H(copy.Staging.Handle);
        if (copy.ToDevice) CudaDriver.MemcpyHtoDAsync(device, host, copy.Bytes, H(stream));
        else CudaDriver.MemcpyDtoHAsync(host, device, copy.Bytes, H(stream));
    }

    /// <inheritdoc/>
    public void EnqueueKernel(object stream, KernelWork kernel)
    {
        if (kernel.Launch == null) throw new ArgumentException($"kernel {kernel.Name} has no launch action", nameof(kernel));
        kernel.Launch(stream);
    }

    /// <inheritdoc/>
    public object AllocatePinned(long bytes) => CudaDriver.MemHostAlloc(bytes);
    /// <inheritdoc/>
    public void FreePinned(object pinned) => CudaDriver.MemFreeHost(H(pinned));

    /// <summary>Destroys the copy streams it created (the compute stream belongs to its owner).</summary>
    public void Dispose()
    {
        foreach (var s in created) CudaDriver.StreamDestroy(s);
        created.Clear();
    }
}
