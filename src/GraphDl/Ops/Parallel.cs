using System.Numerics;
using GraphDl.Devices.Cpu;

namespace GraphDl.Ops;

/// <summary>Splits large elementwise kernels into fixed-size chunks run on the worker pool. The chunking does not
/// depend on the thread count, so results are bit-identical with any number of threads.</summary>
internal static unsafe class ElementwiseParallel
{
    /// <summary>Elements per chunk.</summary>
    public const int Chunk = 1 << 14;
    /// <summary>Below this many elements a kernel runs on the calling thread in one piece.</summary>
    public const int Threshold = 1 << 16;

    static class Registry<T>
    {
        public static SpanMap<T>[] Fns = [];
        public static readonly object Gate = new();
    }

    /// <summary>Registers a span kernel and returns its id (op tables call this once, at start-up).</summary>
    public static int Register<T>(SpanMap<T> fn)
    {
        lock (Registry<T>.Gate)
        {
            Registry<T>.Fns = [.. Registry<T>.Fns, fn];
            return Registry<T>.Fns.Length - 1;
        }
    }

    struct MapBody<T> : IParallelBody where T : unmanaged
    {
        public int Fn, N;
        public T* X, Y;
        public readonly void Run(int i)
        {
            int o = i * Chunk, len = Math.Min(Chunk, N - o);
            Registry<T>.Fns[Fn](new ReadOnlySpan<T>(X + o, len), new Span<T>(Y + o, len));
        }
    }

    /// <summary><c>y = f(x)</c> over spans, chunked on the pool when large.</summary>
    public static void Map<T>(int fn, T[] x, T[] y, int n, WorkerPool pool) where T : unmanaged
    {
        if (n < Threshold) { Registry<T>.Fns[fn](x.AsSpan(0, n), y.AsSpan(0, n)); return; }
        fixed (T* px = x, py = y)
        {
            var body = new MapBody<T> { Fn = fn, N = n, X = px, Y = py };
            pool.For((n + Chunk - 1) / Chunk, ref body);
        }
    }

    struct ZipBody<TOp, T> : IParallelBody where TOp : IArith where T : unmanaged, INumber<T>
    {
        public int N, Mode;
        public T* A, B, Y;
        public readonly void Run(int i)
        {
            int o = i * Chunk, len = Math.Min(Chunk, N - o);
            var y = new Span<T>(Y + o, len);
            switch (Mode)
            {
                case 0: Arith<TOp, T>.Zip(new ReadOnlySpan<T>(A + o, len), new ReadOnlySpan<T>(B + o, len), y); break;
                case 1: Arith<TOp, T>.ScalarA(*A, new ReadOnlySpan<T>(B + o, len), y); break;
                default: Arith<TOp, T>.ScalarB(new ReadOnlySpan<T>(A + o, len), *B, y); break;
            }
        }
    }

    /// <summary>Runs a same-shape or scalar-operand binary op chunked on the pool; false if the case is not one of those
    /// or too small (the caller then runs the general broadcast driver).</summary>
    public static bool TryZip<TOp, T>(NDArray a, NDArray b, NDArray y, WorkerPool pool) where TOp : IArith where T : unmanaged, INumber<T>
    {
        int n = y.Size;
        if (n < Threshold) return false;
        int mode = a.Size == n && b.Size == n ? 0 : a.Size == 1 && b.Size == n ? 1 : b.Size == 1 && a.Size == n ? 2 : -1;
        if (mode < 0) return false;
        fixed (T* pa = a.Raw<T>(), pb = b.Raw<T>(), py = y.Raw<T>())
        {
            var body = new ZipBody<TOp, T> { N = n, Mode = mode, A = pa, B = pb, Y = py };
            pool.For((n + Chunk - 1) / Chunk, ref body);
        }
        return true;
    }
}
