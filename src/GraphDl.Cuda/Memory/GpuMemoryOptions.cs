namespace GraphDl.Cuda.Memory;

/// <summary>Memory options of a GPU device, as TF1's <c>GPUOptions</c>.</summary>
public sealed class GpuMemoryOptions
{
    /// <summary>TF1's <c>allow_growth</c>: true reserves device memory in segments as it is needed; false reserves the
    /// whole allowed amount (<see cref="MemoryFraction"/> of the device) as one segment at the first allocation.
    /// GraphDl defaults to true (TF1 defaults to false).</summary>
    public bool AllowGrowth { get; init; } = true;

    /// <summary>TF1's <c>per_process_gpu_memory_fraction</c>: the most this process reserves, as a fraction of the
    /// device's memory, in (0, 1].</summary>
    public double MemoryFraction { get; init; } = 0.95;

    /// <summary>The byte cap these options give on a device of <paramref name="totalBytes"/>.</summary>
    public long LimitBytes(long totalBytes)
    {
        if (!(MemoryFraction > 0 && MemoryFraction <= 1))
            throw new ArgumentOutOfRangeException(nameof(MemoryFraction), MemoryFraction, "MemoryFraction must be in (0, 1]");
        return (long)(totalBytes * MemoryFraction);
    }
}
