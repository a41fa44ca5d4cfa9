namespace GraphDl.Cuda.Memory;

/// <summary>Where the caching allocator gets its segments: device memory (<see cref="IlgpuMemoryBackend"/>) or, in
/// tests, a fake that only hands out handles. Segments are large (MiB); the allocator carves blocks out of them.</summary>
public interface IDeviceMemoryBackend
{
    /// <summary>Allocates a segment of <paramref name="bytes"/> bytes; null when the device is out of memory.</summary>
    object? TryAllocate(long bytes);

    /// <summary>Returns a segment to the device (only called when the allocator releases cached memory).</summary>
    void Free(object segment);

    /// <summary>Total device memory in bytes (the base of <see cref="GpuMemoryOptions.MemoryFraction"/>).</summary>
    long TotalBytes { get; }
}
