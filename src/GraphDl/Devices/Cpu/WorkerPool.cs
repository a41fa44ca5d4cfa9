using System.Runtime.ExceptionServices;

namespace GraphDl.Devices.Cpu;

/// <summary>A loop body run by <see cref="WorkerPool.For{T}(int, ref T)"/> for each index.</summary>
public interface IParallelBody
{
    /// <summary>Runs the body for index <paramref name="i"/>.</summary>
    void Run(int i);
}

/// <summary>
/// A fixed pool of N-1 dedicated background threads plus the calling thread, running
/// parallel loops without allocating per call. Concurrent or nested callers run inline.
/// Idle workers poll for ~100 µs, then block on a monitor; the caller never waits for a worker that
/// has not joined the loop yet (it just does the work itself). Undisposed pools keep their threads.
/// </summary>
public sealed unsafe class WorkerPool : IDisposable
{
    /// <summary>How long an idle worker polls for new work before blocking (keeps back-to-back loops cheap).</summary>
    static readonly long SpinTicks = System.Diagnostics.Stopwatch.Frequency / 10_000; // 100 µs

    static WorkerPool? s_shared;

    readonly Thread[] _workers;
    readonly object _sleepLock = new();
    int _sleepers;

    /// <summary>Diagnostics: how many times any worker went to sleep (blocked) since process start.</summary>
    internal static long SleepCount;

    // Current job; written by the caller that owns _busy before _generation is bumped.
    delegate*<void*, int, void> _body;
    void* _state;
    int _count;
    int _chunk;
    long _next;
    // Join gate: Open bit while workers may join the current job, plus the count of joined workers
    // still running. The caller closes the gate once every chunk is claimed and then waits only for
    // the workers that actually joined, so a slow-to-wake worker never delays a loop.
    const int Open = 1 << 30;
    int _gate;
    Exception? _error;

    int _generation;
    int _busy;
    volatile bool _disposed;

    /// <summary>Creates a pool using <paramref name="threads"/> threads in total (the caller included); 1 runs everything inline.</summary>
    public WorkerPool(int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        Threads = threads;
        _workers = new Thread[threads - 1];
        for (int i = 0; i < _workers.Length; i++)
        {
            var t = new Thread(WorkerLoop) { IsBackground = true, Name = $"GraphDl worker {i + 1}" };
            _workers[i] = t;
        }
        foreach (var t in _workers) t.Start();
    }

    /// <summary>Process-wide pool with <see cref="Environment.ProcessorCount"/> threads, created on first use.</summary>
    public static WorkerPool Shared
    {
        get
        {
            var p = Volatile.Read(ref s_shared);
            if (p != null) return p;
            var created = new WorkerPool(Math.Max(1, Environment.ProcessorCount));
            var prev = Interlocked.CompareExchange(ref s_shared, created, null);
            if (prev != null) { created.Dispose(); return prev; }
            return created;
        }
    }

    /// <summary>Total number of threads that run a loop (workers plus the caller).</summary>
    public int Threads { get; }

    /// <summary>Runs <c>body(state, i)</c> for every i in [0, count) across the pool and returns when all are done.</summary>
    public void For(int count, delegate*<void*, int, void> body, void* state)
    {
        if (count <= 0) return;
        if (_workers.Length == 0 || count == 1 || _disposed || Interlocked.CompareExchange(ref _busy, 1, 0) != 0)
        {
            // Single thread, trivial loop, or the pool is in use (nested or concurrent caller): run inline.
            for (int i = 0; i < count; i++) body(state, i);
            return;
        }
        try
        {
            _body = body;
            _state = state;
            _count = count;
            _chunk = Math.Max(1, count / (Threads * 8));
            _next = 0;
            _error = null;
            Interlocked.Exchange(ref _gate, Open); // full fence publishes the job before the gate opens
            Interlocked.Increment(ref _generation);
            WakeSleepers();

            RunChunks();

            // Every chunk is claimed now: close the gate and wait for joined workers only.
            if (Interlocked.Add(ref _gate, -Open) != 0) WaitForWorkers();

            var err = _error;
            if (err != null)
            {
                _error = null;
                ExceptionDispatchInfo.Throw(err);
            }
        }
        finally
        {
            _body = null;
            _state = null;
            Volatile.Write(ref _busy, 0);
        }
    }

    /// <summary>Runs <c>state.Run(i)</c> for every i in [0, count) across the pool; no boxing, no allocation.</summary>
    public void For<T>(int count, ref T state) where T : unmanaged, IParallelBody
    {
        fixed (T* p = &state) For(count, &Runner<T>.Invoke, p);
    }

    static class Runner<T> where T : unmanaged, IParallelBody
    {
        public static void Invoke(void* s, int i) => ((T*)s)->Run(i);
    }

    void RunChunks()
    {
        var body = _body;
        var state = _state;
        int count = _count;
        int chunk = _chunk;
        try
        {
            while (true)
            {
                long start = Interlocked.Add(ref _next, chunk) - chunk;
                if (start >= count) break;
                int end = (int)Math.Min(start + chunk, count);
                for (int i = (int)start; i < end; i++) body(state, i);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, e, null);
            Interlocked.Exchange(ref _next, count); // stop handing out work
        }
    }

    bool TryJoin()
    {
        while (true)
        {
            int st = Volatile.Read(ref _gate);
            if ((st & Open) == 0) return false;
            if (Interlocked.CompareExchange(ref _gate, st + 1, st) == st) return true;
        }
    }

    void WakeSleepers()
    {
        // Pairs with Sleep: both sides do a full fence (Interlocked) before reading the other's variable.
        if (Volatile.Read(ref _sleepers) == 0) return;
        lock (_sleepLock) Monitor.PulseAll(_sleepLock);
    }

    void Sleep(int seen)
    {
        lock (_sleepLock)
        {
            Interlocked.Increment(ref _sleepers);
            Interlocked.Increment(ref SleepCount);
            while (Volatile.Read(ref _generation) == seen) Monitor.Wait(_sleepLock);
            Interlocked.Decrement(ref _sleepers);
        }
    }

    void WaitForWorkers()
    {
        // Tight polling first (workers are normally just finishing their last chunk), then back off.
        for (int i = 0; i < 2000; i++)
        {
            if (Volatile.Read(ref _gate) == 0) return;
            Thread.SpinWait(1);
        }
        var sw = new SpinWait();
        while (Volatile.Read(ref _gate) != 0) sw.SpinOnce(-1);
    }

    void WorkerLoop()
    {
        int seen = 0;
        while (true)
        {
            int gen;
            long spinUntil = System.Diagnostics.Stopwatch.GetTimestamp() + SpinTicks;
            int polls = 0;
            while ((gen = Volatile.Read(ref _generation)) == seen)
            {
                if (System.Diagnostics.Stopwatch.GetTimestamp() < spinUntil)
                {
                    Thread.SpinWait(1);
                    if ((++polls & 1023) == 0) Thread.Yield(); // let a waiting thread in now and then
                }
                else
                {
                    Sleep(seen);
                }
            }
            seen = gen;
            if (_disposed) return;
            // A worker that is late may join the next job instead; it reads the job only after
            // joining, and job fields never change while a joined worker runs, so that is harmless.
            if (TryJoin())
            {
                RunChunks();
                Interlocked.Decrement(ref _gate);
            }
        }
    }

    /// <summary>Stops the worker threads; the pool must not be running a loop.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Interlocked.Increment(ref _generation);
        lock (_sleepLock) Monitor.PulseAll(_sleepLock);
        foreach (var t in _workers) t.Join();
    }
}
