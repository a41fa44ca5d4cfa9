namespace GraphDl.Devices.Cpu;

/// <summary>A body for <see cref="WorkerPool.For{T}"/>.</summary>
public interface IParallelBody
{
    /// <summary>Runs index <paramref name="i"/>.</summary>
    void Run(int i);
}

/// <summary>Temporary inline pool (replaced by the gemm branch's real worker pool).</summary>
public sealed class WorkerPool : IDisposable
{
    /// <summary>Creates a pool.</summary>
    public WorkerPool(int threads) => Threads = Math.Max(1, threads);
    /// <summary>Shared pool.</summary>
    public static WorkerPool Shared { get; } = new(Environment.ProcessorCount);
    /// <summary>Thread count.</summary>
    public int Threads { get; }
    /// <summary>Runs all indices.</summary>
    public void For<T>(int count, ref T state) where T : unmanaged, IParallelBody { for (int i = 0; i < count; i++) state.Run(i); }
    /// <summary>Disposes.</summary>
    public void Dispose() { }
}
