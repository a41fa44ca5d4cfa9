using System.Numerics;
using System.Reflection;
using GraphDl.Cuda.Native;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>Sizes and layout of one (batched) matrix product <c>C[m,n] = op(A)·op(B)</c>.</summary>
public struct MatMulShape
{
    /// <summary>Rows of C, columns of C, inner dimension.</summary>
    public int M, N, K;
    /// <summary>1 when A (B) is stored transposed.</summary>
    public int TransA, TransB;
    /// <summary>Batch broadcast: output batch index to A's and B's batch index (element strides of one matrix apply).</summary>
    public Broadcast6 Batch;
}

/// <summary>One row-major product <c>C = op(A)·op(B)</c> (+ C when <see cref="Accumulate"/> is 1) on matrices inside larger
/// arrays: row lengths as stored (<see cref="Lda"/>: k, or m when A is transposed; <see cref="Ldb"/>: n, or k;
/// <see cref="Ldc"/>: n or more). The fused RNN kernels use it for column blocks and time-step slices.</summary>
public struct GemmShape
{
    /// <summary>Rows of C, columns of C, inner dimension.</summary>
    public int M, N, K;
    /// <summary>1 when A (B) is stored transposed.</summary>
    public int TransA, TransB;
    /// <summary>Stored row lengths of A, B and C.</summary>
    public int Lda, Ldb, Ldc;
    /// <summary>1: C += op(A)·op(B); 0: C = op(A)·op(B).</summary>
    public int Accumulate;
}

/// <summary>The ILGPU matrix product: shared-memory tiles of <c>Group.DimX</c>² (16 on a GPU, 4 on the CPU
/// accelerator). On a CUDA device float32/float64 MatMul goes to cuBLAS when it loads; this kernel is the fallback
/// and what runs in CI.</summary>
public static class MatMulKernels
{
    /// <summary>Grid (ceil(n/t), ceil(m/t), batch), group (t, t), 2·t² elements of dynamic shared memory.</summary>
    public static void Tiled<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, MatMulShape s) where T : unmanaged, INumber<T>
    {
        var tile = SharedMemory.GetDynamic<T>();
        int t = Group.DimX;
        int tx = Group.IdxX, ty = Group.IdxY;
        int col = Grid.IdxX * t + tx, row = Grid.IdxY * t + ty;
        s.Batch.Offsets(Grid.IdxZ, out int ba, out int bb);
        int aBase = ba * s.M * s.K, bBase = bb * s.K * s.N, cBase = Grid.IdxZ * s.M * s.N;
        T acc = T.Zero;
        for (int k0 = 0; k0 < s.K; k0 += t)
        {
            int ka = k0 + tx;
            tile[ty * t + tx] = row < s.M && ka < s.K ? a[aBase + (s.TransA != 0 ? ka * s.M + row : row * s.K + ka)] : T.Zero;
            int kb = k0 + ty;
            tile[t * t + ty * t + tx] = kb < s.K && col < s.N ? b[bBase + (s.TransB != 0 ? col * s.K + kb : kb * s.N + col)] : T.Zero;
            Group.Barrier();
            for (int kk = 0; kk < t; kk++) acc += tile[ty * t + kk] * tile[t * t + kk * t + tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N) c[cBase + row * s.N + col] = acc;
    }

    /// <summary><see cref="Tiled{T}"/> for one product with leading dims and an optional accumulate (views start at each
    /// matrix's first element). Grid (ceil(n/t), ceil(m/t)), group (t, t), 2·t² elements of dynamic shared memory.
    /// K = 0 gives C = 0 (or C unchanged when accumulating).</summary>
    public static void TiledStrided<T>(ArrayView<T> a, ArrayView<T> b, ArrayView<T> c, GemmShape s) where T : unmanaged, INumber<T>
    {
        var tile = SharedMemory.GetDynamic<T>();
        int t = Group.DimX;
        int tx = Group.IdxX, ty = Group.IdxY;
        int col = Grid.IdxX * t + tx, row = Grid.IdxY * t + ty;
        T acc = T.Zero;
        for (int k0 = 0; k0 < s.K; k0 += t)
        {
            int ka = k0 + tx;
            tile[ty * t + tx] = row < s.M && ka < s.K ? a[s.TransA != 0 ? ka * s.Lda + row : row * s.Lda + ka] : T.Zero;
            int kb = k0 + ty;
            tile[t * t + ty * t + tx] = kb < s.K && col < s.N ? b[s.TransB != 0 ? col * s.Ldb + kb : kb * s.Ldb + col] : T.Zero;
            Group.Barrier();
            for (int kk = 0; kk < t; kk++) acc += tile[ty * t + kk] * tile[t * t + kk * t + tx];
            Group.Barrier();
        }
        if (row < s.M && col < s.N)
        {
            int at = row * s.Ldc + col;
            c[at] = s.Accumulate != 0 ? acc + c[at] : acc;
        }
    }
}

/// <summary>A matrix inside a GPU array for <see cref="MatMulOp.Gemm(CudaDevice, Mat, Mat, Mat, int, int, int, bool, bool, bool)"/>:
/// its first element's offset and its stored row length.</summary>
internal readonly record struct Mat(NDArray Array, long Offset, int Ld);

/// <summary>Host side of MatMul and BatchMatMulV2.</summary>
internal static class MatMulOp
{
    public static void Run(KernelContext c, CudaDevice d, bool batched)
    {
        var (a, b) = (c.Input(0), c.Input(1));
        bool ta = c.Attrs.Bool(batched ? "adj_x" : "transpose_a"), tb = c.Attrs.Bool(batched ? "adj_y" : "transpose_b");
        if (a.Rank < 2 || b.Rank < 2 || (!batched && (a.Rank != 2 || b.Rank != 2)))
            throw c.Error($"needs rank {(batched ? ">= 2" : "2")}, got {Shape.Format(a.Dims)} x {Shape.Format(b.Dims)}");
        var ad = a.Dims; var bd = b.Dims;
        int m = ta ? ad[^1] : ad[^2], k = ta ? ad[^2] : ad[^1], k2 = tb ? bd[^1] : bd[^2], n = tb ? bd[^2] : bd[^1];
        if (k != k2) throw c.Error($"inner dimensions differ, {Shape.Format(ad)} x {Shape.Format(bd)}");
        var batchA = ad[..^2].ToArray(); var batchB = bd[..^2].ToArray();
        Broadcast6 bs;
        int[] batch;
        try
        {
            bs = Broadcast6.Make(batchA, batchB);
            int r = Math.Max(batchA.Length, batchB.Length);
            batch = new int[r];
            for (int i = 0; i < r; i++)
            {
                int da = i - (r - batchA.Length) >= 0 ? batchA[i - (r - batchA.Length)] : 1;
                int db = i - (r - batchB.Length) >= 0 ? batchB[i - (r - batchB.Length)] : 1;
                batch[i] = Math.Max(da, db);
            }
        }
        catch (ArgumentException e) { throw c.Error(e.Message); }
        var y = c.Output(0, [.. batch, m, n]);
        if (y.Size == 0) return;
        int count = y.Size / (m * n);
        if (k == 0) { Fill(d, y); return; }
        if (!d.IsSimulated && a.DType is DType.Float32 or DType.Float64 && d.Cublas is { } h)
        {
            if (!batched)
            {
                if (a.DType == DType.Float32) CuBlas.RowMajorSgemm(h, m, n, k, ta, tb, CudaDevice.Pointer(a), CudaDevice.Pointer(b), CudaDevice.Pointer(y));
                else CuBlas.RowMajorDgemm(h, m, n, k, ta, tb, CudaDevice.Pointer(a), CudaDevice.Pointer(b), CudaDevice.Pointer(y));
                return;
            }
            // Batches where each operand is batched over all output batch dims or is one matrix: one strided-batched call.
            if (GemmMapping.StridedBatch(batchA, batchB, batch, m, n, k) is { } sb)
            {
                CuBlas.RowMajorGemmStridedBatched(h, a.DType == DType.Float64, m, n, k, ta, tb, CudaDevice.Pointer(a), sb.StrideA,
                    CudaDevice.Pointer(b), sb.StrideB, CudaDevice.Pointer(y), sb.StrideC, sb.Count);
                return;
            }
        }
        var s = new MatMulShape { M = m, N = n, K = k, TransA = ta ? 1 : 0, TransB = tb ? 1 : 0, Batch = bs };
        if (a.DType == DType.Float32) Launch<float>(d, a, b, y, s, count);
        else if (a.DType == DType.Float64) Launch<double>(d, a, b, y, s, count);
        else throw c.Error($"{c.Node.Type} of {a.DType.Name()} has no GPU kernel");
    }

    /// <summary>One row-major product <c>C[m,n] = op(A)·op(B)</c> of whole GPU arrays (m, n, k &gt; 0): cuBLAS on a CUDA
    /// device where it loads (float32/float64), else the tiled ILGPU kernel (the simulated device, CI). The convolution
    /// kernels use it for their im2col products.</summary>
    internal static void Gemm(CudaDevice d, NDArray a, NDArray b, NDArray y, int m, int n, int k, bool ta, bool tb)
    {
        if (!d.IsSimulated && d.Cublas is { } h)
        {
            if (a.DType == DType.Float32) { CuBlas.RowMajorSgemm(h, m, n, k, ta, tb, CudaDevice.Pointer(a), CudaDevice.Pointer(b), CudaDevice.Pointer(y)); return; }
            if (a.DType == DType.Float64) { CuBlas.RowMajorDgemm(h, m, n, k, ta, tb, CudaDevice.Pointer(a), CudaDevice.Pointer(b), CudaDevice.Pointer(y)); return; }
        }
        var s = new MatMulShape { M = m, N = n, K = k, TransA = ta ? 1 : 0, TransB = tb ? 1 : 0, Batch = Broadcast6.Make([], []) };
        if (a.DType == DType.Float32) Launch<float>(d, a, b, y, s, 1);
        else if (a.DType == DType.Float64) Launch<double>(d, a, b, y, s, 1);
        else throw new NotSupportedException($"{d.Name}: no GEMM for {a.DType.Name()}");
    }

    /// <summary>One row-major product <c>C = op(A)·op(B)</c>, or <c>C += op(A)·op(B)</c> when <paramref name="accumulate"/>,
    /// on matrices inside GPU arrays (offsets, stored row lengths): cuBLAS on a CUDA device where it loads, else
    /// <see cref="MatMulKernels.TiledStrided{T}"/>. Empty m or n does nothing; k = 0 clears C (or leaves it when
    /// accumulating). The fused RNN kernels use it for every per-step and whole-sequence product.</summary>
    internal static void Gemm(CudaDevice d, Mat a, Mat b, Mat c, int m, int n, int k, bool ta, bool tb, bool accumulate)
    {
        if (m == 0 || n == 0) return;
        var dt = c.Array.DType;
        CheckFits(a, ta ? k : m, ta ? m : k, "A"); CheckFits(b, tb ? n : k, tb ? k : n, "B"); CheckFits(c, m, n, "C");
        if (k > 0 && !d.IsSimulated && d.Cublas is { } h && dt is DType.Float32 or DType.Float64)
        {
            int es = dt.Size();
            IntPtr pa = CudaDevice.Pointer(a.Array) + (nint)(a.Offset * es), pb = CudaDevice.Pointer(b.Array) + (nint)(b.Offset * es);
            IntPtr pc = CudaDevice.Pointer(c.Array) + (nint)(c.Offset * es);
            if (dt == DType.Float32) CuBlas.RowMajorSgemm(h, m, n, k, ta, tb, pa, a.Ld, pb, b.Ld, accumulate ? 1f : 0f, pc, c.Ld);
            else CuBlas.RowMajorDgemm(h, m, n, k, ta, tb, pa, a.Ld, pb, b.Ld, accumulate ? 1.0 : 0.0, pc, c.Ld);
            return;
        }
        var s = new GemmShape { M = m, N = n, K = k, TransA = ta ? 1 : 0, TransB = tb ? 1 : 0, Lda = a.Ld, Ldb = b.Ld, Ldc = c.Ld, Accumulate = accumulate ? 1 : 0 };
        if (dt == DType.Float32) LaunchStrided<float>(d, a, b, c, s);
        else if (dt == DType.Float64) LaunchStrided<double>(d, a, b, c, s);
        else throw new NotSupportedException($"{d.Name}: no GEMM for {dt.Name()}");
    }

    /// <summary>A stored rows×cols matrix at the view's offset with its row length must lie inside the array (an index
    /// past the end would end the process on the CPU accelerator and corrupt memory on a GPU).</summary>
    static void CheckFits(Mat x, int rows, int cols, string what)
    {
        if (rows == 0 || cols == 0) return;
        long last = x.Offset + (long)(rows - 1) * x.Ld + cols - 1;
        if (x.Offset < 0 || x.Ld < cols || last >= x.Array.Size)
            throw new ArgumentOutOfRangeException(what, $"GEMM operand {what} ({rows}x{cols}, offset {x.Offset}, row length {x.Ld}) does not fit its array of {x.Array.Size} elements");
    }

    static void LaunchStrided<T>(CudaDevice d, Mat a, Mat b, Mat c, GemmShape s) where T : unmanaged, INumber<T>
    {
        int t = d.IsSimulated ? (int)Math.Sqrt(d.Accelerator.MaxNumThreadsPerGroup) : 16;
        t = Math.Clamp(t, 1, 16);
        var config = new KernelConfig(new Index3D((s.N + t - 1) / t, (s.M + t - 1) / t, 1), new Index3D(t, t, 1),
            SharedMemoryConfig.RequestDynamic<T>(2 * t * t));
        var k = d.Load(MatMulKernels.TiledStrided<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, GemmShape>(MatMulKernels.TiledStrided<T>));
        k(d.Stream, config, Sub<T>(a, s.K == 0), Sub<T>(b, s.K == 0), Sub<T>(c, false), s);
    }

    /// <summary>The array's view from the matrix's first element on (the whole view when the operand is not read).</summary>
    static ArrayView<T> Sub<T>(Mat x, bool unused) where T : unmanaged
    {
        var v = CudaDevice.View<T>(x.Array);
        return unused || x.Array.Size == 0 ? v : v.SubView(x.Offset, x.Array.Size - x.Offset);
    }

    static void Fill(CudaDevice d, NDArray y)
    {
        if (y.DType == DType.Float32) MiscOp.Fill(d, y, 0f); else MiscOp.Fill(d, y, 0.0);
    }

    static void Launch<T>(CudaDevice d, NDArray a, NDArray b, NDArray y, MatMulShape s, int batch) where T : unmanaged, INumber<T>
    {
        int t = d.IsSimulated ? (int)Math.Sqrt(d.Accelerator.MaxNumThreadsPerGroup) : 16;
        t = Math.Clamp(t, 1, 16);
        var config = new KernelConfig(new Index3D((s.N + t - 1) / t, (s.M + t - 1) / t, batch), new Index3D(t, t, 1),
            SharedMemoryConfig.RequestDynamic<T>(2 * t * t));
        var k = d.Load(MatMulKernels.Tiled<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, MatMulShape>(MatMulKernels.Tiled<T>));
        k(d.Stream, config, CudaDevice.View<T>(a), CudaDevice.View<T>(b), CudaDevice.View<T>(y), s);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)MatMulKernels.Tiled<float>).Method;
        yield return ((Delegate)MatMulKernels.Tiled<double>).Method;
        yield return ((Delegate)MatMulKernels.TiledStrided<float>).Method;
        yield return ((Delegate)MatMulKernels.TiledStrided<double>).Method;
    }
}
