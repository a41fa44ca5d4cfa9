using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Memory;

/// <summary>Segments as ILGPU byte buffers of one accelerator (device memory on a CUDA accelerator).</summary>
public sealed class IlgpuMemoryBackend(Accelerator accelerator) : IDeviceMemoryBackend
{
    /// <inheritdoc/>
    public long TotalBytes => accelerator.MemorySize;

    /// <inheritdoc/>
    public object? TryAllocate(long bytes)
    {
        try { return accelerator.Allocate1D<byte>(bytes); }
        catch (Exception e) when (e is OutOfMemoryException or AcceleratorException or InsufficientExecutionStackException) { return null; }
    }

    /// <inheritdoc/>
    public void Free(object segment) => ((MemoryBuffer1D<byte, Stride1D.Dense>)segment).Dispose();

    /// <summary>The bytes of a block as a view.</summary>
    public static ArrayView<byte> View(MemoryBlock block, long bytes) =>
        ((MemoryBuffer1D<byte, Stride1D.Dense>)block.Segment.Handle).View.SubView(block.Offset, bytes);
}
