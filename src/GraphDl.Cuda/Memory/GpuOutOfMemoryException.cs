namespace GraphDl.Cuda.Memory;

/// <summary>A GPU allocation failed (TF1's <c>ResourceExhaustedError</c>): names what asked for the memory and gives
/// the allocator's figures at the time.</summary>
public sealed class GpuOutOfMemoryException : SessionRunException
{
    /// <summary>Creates the error.</summary>
    public GpuOutOfMemoryException(string device, string requester, long requestedBytes, AllocatorStats stats, long limitBytes)
        : base($"{device}: out of memory allocating {Format(requestedBytes)} for {requester}: " +
               $"in use {Format(stats.InUseBytes)}, reserved {Format(stats.ReservedBytes)}, largest free block {Format(stats.LargestFreeBlockBytes)}, " +
               $"limit {Format(limitBytes)}. Use smaller batches, or raise GpuMemoryOptions.MemoryFraction.")
    {
        Requester = requester;
        RequestedBytes = requestedBytes;
        Stats = stats;
        LimitBytes = limitBytes;
    }

    /// <summary>The node (or copy) that asked for memory.</summary>
    public string Requester { get; }
    /// <summary>Bytes asked for.</summary>
    public long RequestedBytes { get; }
    /// <summary>Allocator statistics when the allocation failed.</summary>
    public AllocatorStats Stats { get; }
    /// <summary>The allocator's cap.</summary>
    public long LimitBytes { get; }

    internal static string Format(long bytes) => bytes switch
    {
        >= 1L << 30 => $"{bytes / (double)(1L << 30):0.##} GiB",
        >= 1L << 20 => $"{bytes / (double)(1L << 20):0.##} MiB",
        >= 1L << 10 => $"{bytes / 1024.0:0.##} KiB",
        _ => $"{bytes} B",
    };
}
