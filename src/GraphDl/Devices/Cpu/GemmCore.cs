using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace GraphDl.Devices.Cpu;

/// <summary>
/// Generic (float/double) blocked GEMM engine behind <see cref="Gemm"/>.
/// Loop nest (Goto/BLIS): jc (NC columns) → pc (KC depth, packs B shared by all threads; the KC×NC block is 1 MiB and
/// stays in each core's L2) → parallel items (a row block × a range of NR column panels; each packs its own A rows) →
/// for each MR-row A micro-panel (kept in L1) → for each B micro-panel (streamed from L2) → MR×NR micro-kernel
/// (12×32 for float with AVX-512, else 6×2 vectors). Every C element is produced by the same sequence of operations
/// (a zero-started FMA chain over each KC block, in pc order) whatever the thread count or the tile it falls in: edge
/// tiles run the same kernel (or its 6-row half) on zero-padded packed panels into a temporary tile. Hence results are
/// bit-identical for any number of threads.
/// </summary>
internal static unsafe partial class GemmCore<T> where T : unmanaged, IBinaryFloatingPointIeee754<T>
{
    const int KC = 256;
    const int MC = 96; // a multiple of both micro-tile heights
    const long ParallelThreshold = 1L << 20; // ~2 MFLOP: below this the fork/join cost (a few µs) dominates
    const long BatchSmallThreshold = 128L * 128 * 128;

    /// <summary>True when the 512-bit kernel is used.</summary>
    public static readonly bool UseV512 = Vector512.IsHardwareAccelerated && Avx512F.IsSupported;
    /// <summary>True when the 256-bit kernel is used (and not the 512-bit one).</summary>
    public static readonly bool UseV256 = !UseV512 && Vector256.IsHardwareAccelerated;
    /// <summary>Tests only: route every tile through the portable scalar kernel.</summary>
    internal static bool ForceScalar;

    /// <summary>Micro-tile rows: 12 for float with AVX-512 (24 accumulators of the 32 vector registers, so each B vector
    /// loaded from L2 feeds 12 FMAs), else 6.</summary>
    public static readonly int MR = UseV512 && sizeof(T) == 4 ? 12 : 6;
    /// <summary>Rows of the half-height kernel that edge panels of at most that many rows use.</summary>
    const int MRHalf = 6;
    /// <summary>Micro-tile columns: two SIMD vectors.</summary>
    public static readonly int NR = 2 * (UseV512 ? Vector512<T>.Count : Vector256<T>.Count);
    static readonly int NC = (sizeof(T) == 4 ? 1024 : 512) / NR * NR; // KC×NC: 1 MiB, half the L2

    [ThreadStatic] static T[]? t_a;
    [ThreadStatic] static T[]? t_b;

    struct Ctx
    {
        public bool TransA, TransB, Overwrite;
        public int M, N, K, Lda, Ldb, Ldc;
        public T Alpha, Beta, BetaEff;
        public T* A, B, C, Bp;
        public int Jc, Nc, Pc, Kc, Mc, MBlocks, NSplits, PanelsPerSplit, NPanels, MicroPanels;
    }

    public static void Run(bool transA, bool transB, int m, int n, int k, T alpha, T* a, int lda,
        T* b, int ldb, T beta, T* c, int ldc, WorkerPool? pool)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        if (m == 0 || n == 0) return;
        if (ldc < n) throw new ArgumentOutOfRangeException(nameof(ldc), "ldc must be >= n.");
        if (k == 0 || alpha == T.Zero)
        {
            ScaleC(m, n, beta, c, ldc);
            return;
        }
        if (lda < (transA ? m : k)) throw new ArgumentOutOfRangeException(nameof(lda), "lda too small for op(A).");
        if (ldb < (transB ? k : n)) throw new ArgumentOutOfRangeException(nameof(ldb), "ldb too small for op(B).");
        if (SmallGemm<T>.Suits(transB, m, n, k))
        {
            SmallGemm<T>.Run(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
            return;
        }

        bool par = pool is { Threads: > 1 } && (long)m * n * k > ParallelThreshold;
        int threads = par ? pool!.Threads : 1;
        int nr = NR;

        Ctx x = default;
        x.TransA = transA; x.TransB = transB;
        x.M = m; x.N = n; x.K = k;
        x.A = a; x.Lda = lda; x.B = b; x.Ldb = ldb; x.C = c; x.Ldc = ldc;
        x.Alpha = alpha; x.Beta = beta;
        // Row blocking: MC rows (serial) or at least 4 blocks per thread and a multiple of the thread count (parallel),
        // balanced to within one micro-panel, so that every item packs only its own rows of A (no redundant packing) and
        // the load stays even. Blocking never changes per-element arithmetic (see class remarks).
        int blocks = (m + MC - 1) / MC;
        if (par)
        {
            blocks = Math.Max(blocks, 4 * threads);
            blocks = Math.Min((blocks + threads - 1) / threads * threads, (m + MR - 1) / MR);
        }
        SetRowBlocks(ref x, blocks);
        long ncMax = Math.Min(NC, (n + nr - 1) / nr * nr);
        x.Bp = GetBuffer(ref t_b, ncMax * Math.Min(KC, k));

        for (int jc = 0; jc < n; jc += NC)
        {
            x.Jc = jc;
            x.Nc = Math.Min(NC, n - jc);
            x.NPanels = (x.Nc + nr - 1) / nr;
            int splits = 1;
            if (par && x.MBlocks < 2 * threads)
            {
                // Too few rows (m < 2*threads*MR): also split the columns.
                splits = Math.Clamp((2 * threads + x.MBlocks - 1) / x.MBlocks, 1, x.NPanels);
            }
            x.PanelsPerSplit = (x.NPanels + splits - 1) / splits;
            x.NSplits = (x.NPanels + x.PanelsPerSplit - 1) / x.PanelsPerSplit;
            int items = x.MBlocks * x.NSplits;

            for (int pc = 0; pc < k; pc += KC)
            {
                x.Pc = pc;
                x.Kc = Math.Min(KC, k - pc);
                x.Overwrite = pc == 0 && beta == T.Zero;
                x.BetaEff = pc == 0 ? beta : T.One;
                if (par)
                {
                    pool!.For(x.NPanels, &PackBPanel, &x);
                    pool.For(items, &ComputeItem, &x);
                }
                else
                {
                    for (int i = 0; i < x.NPanels; i++) PackBPanel(&x, i);
                    for (int i = 0; i < items; i++) ComputeItem(&x, i);
                }
            }
        }
    }

    /// <summary>Elements of a B matrix packed by <see cref="PackB"/>: k × n rounded up to whole NR panels.</summary>
    public static long PackedBSize(int k, int n) => (long)k * ((n + NR - 1) / NR * NR);

    /// <summary>Packs op(B) [k, n] once for repeated products (a recurrent kernel multiplied at every time step): for each
    /// KC block of k, all NR-column panels in order, as <see cref="Run"/> packs them.</summary>
    public static void PackB(bool transB, int k, int n, T* b, int ldb, T* dst)
    {
        Ctx x = default;
        x.TransB = transB; x.B = b; x.Ldb = ldb; x.Jc = 0; x.Nc = n; x.NPanels = (n + NR - 1) / NR;
        long nPad = (long)x.NPanels * NR;
        for (int pc = 0; pc < k; pc += KC)
        {
            x.Pc = pc; x.Kc = Math.Min(KC, k - pc);
            x.Bp = dst + pc * nPad;
            for (int jp = 0; jp < x.NPanels; jp++) PackBPanel(&x, jp);
        }
    }

    /// <summary>C[m, n] = alpha·op(A)·op(B) + beta·C on the calling thread, op(B) being columns [col0, col0 + n) of a matrix
    /// of <paramref name="packedN"/> columns packed by <see cref="PackB"/>; col0 must be a multiple of NR. Each element gets
    /// the same arithmetic as in <see cref="Run"/>.</summary>
    public static void RunPackedB(bool transA, int m, int n, int k, T alpha, T* a, int lda, T* packed, int packedN, int col0,
        T beta, T* c, int ldc)
    {
        if (m == 0 || n == 0) return;
        if (col0 % NR != 0 || col0 + n > packedN) throw new ArgumentOutOfRangeException(nameof(col0), "col0 must start a packed panel and the columns fit.");
        if (k == 0) { ScaleC(m, n, beta, c, ldc); return; }
        Ctx x = default;
        x.TransA = transA; x.M = m; x.N = n; x.K = k; x.A = a; x.Lda = lda; x.C = c; x.Ldc = ldc;
        x.Alpha = alpha; x.Beta = beta;
        SetRowBlocks(ref x, (m + MC - 1) / MC);
        x.Jc = 0; x.Nc = n; x.NPanels = (n + NR - 1) / NR; x.NSplits = 1; x.PanelsPerSplit = x.NPanels;
        long nPad = (long)(packedN + NR - 1) / NR * NR;
        for (int pc = 0; pc < k; pc += KC)
        {
            x.Pc = pc; x.Kc = Math.Min(KC, k - pc);
            x.Overwrite = pc == 0 && beta == T.Zero;
            x.BetaEff = pc == 0 ? beta : T.One;
            x.Bp = packed + pc * nPad + (long)col0 * x.Kc;
            for (int ib = 0; ib < x.MBlocks; ib++) ComputeItem(&x, ib);
        }
    }

    struct BatchCtx
    {
        public bool TransA, TransB;
        public int M, N, K, Lda, Ldb, Ldc;
        public long StrideA, StrideB, StrideC;
        public T Alpha, Beta;
        public T* A, B, C;
    }

    public static void RunBatched(bool transA, bool transB, int m, int n, int k, T alpha,
        T* a, int lda, long strideA, T* b, int ldb, long strideB, T beta,
        T* c, int ldc, long strideC, int batchCount, WorkerPool? pool)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchCount);
        if (batchCount == 0) return;
        long work = (long)m * n * k;
        bool batchParallel = pool is { Threads: > 1 } && batchCount > 1
            && (work <= BatchSmallThreshold || batchCount >= 4 * pool.Threads);
        if (!batchParallel)
        {
            for (int i = 0; i < batchCount; i++)
                Run(transA, transB, m, n, k, alpha, a + i * strideA, lda, b + i * strideB, ldb, beta, c + i * strideC, ldc, pool);
            return;
        }
        BatchCtx x = default;
        x.TransA = transA; x.TransB = transB; x.M = m; x.N = n; x.K = k;
        x.Lda = lda; x.Ldb = ldb; x.Ldc = ldc;
        x.StrideA = strideA; x.StrideB = strideB; x.StrideC = strideC;
        x.Alpha = alpha; x.Beta = beta; x.A = a; x.B = b; x.C = c;
        pool!.For(batchCount, &BatchItem, &x);
    }

    static void BatchItem(void* s, int i)
    {
        var x = (BatchCtx*)s;
        Run(x->TransA, x->TransB, x->M, x->N, x->K, x->Alpha, x->A + i * x->StrideA, x->Lda,
            x->B + i * x->StrideB, x->Ldb, x->Beta, x->C + i * x->StrideC, x->Ldc, null);
    }

    static void ScaleC(int m, int n, T beta, T* c, int ldc)
    {
        if (beta == T.One) return;
        for (int i = 0; i < m; i++)
        {
            var row = new Span<T>(c + (long)i * ldc, n);
            if (beta == T.Zero) row.Clear();
            else for (int j = 0; j < n; j++) row[j] *= beta;
        }
    }

    /// <summary>Returns a 64-byte aligned pointer into a pinned, thread-owned array of at least <paramref name="elems"/> elements.</summary>
    static T* GetBuffer(ref T[]? arr, long elems)
    {
        long need = elems + 64 / sizeof(T) + 16; // slack: PackARowsAvx may write 2 elements past a panel
        if (arr == null || arr.LongLength < need)
        {
            long size = Math.Max(need, arr == null ? 0 : Math.Min(arr.LongLength * 2, need * 2));
            arr = GC.AllocateUninitializedArray<T>(checked((int)size), pinned: true);
        }
        nuint p = (nuint)Unsafe.AsPointer(ref arr[0]);
        p = (p + 63) & ~(nuint)63;
        return (T*)p;
    }

    /// <summary>Splits the rows into <paramref name="blocks"/> blocks of whole micro-panels, balanced to within one; Mc is
    /// the largest block (at most MC when blocks ≥ ⌈m/MC⌉, MC being a multiple of MR).</summary>
    static void SetRowBlocks(ref Ctx x, int blocks)
    {
        x.MicroPanels = (x.M + MR - 1) / MR;
        x.MBlocks = blocks;
        x.Mc = (x.MicroPanels + blocks - 1) / blocks * MR;
    }

    static void ComputeItem(void* s, int item)
    {
        var x = (Ctx*)s;
        int ib = item / x->NSplits;
        int js = item - ib * x->NSplits;
        // Block ib holds micro-panels [ib·P/B, (ib+1)·P/B): sizes differ by at most one micro-panel.
        int i0 = (int)((long)ib * x->MicroPanels / x->MBlocks) * MR;
        int mc = Math.Min((int)((long)(ib + 1) * x->MicroPanels / x->MBlocks) * MR, x->M) - i0;
        int jp0 = js * x->PanelsPerSplit;
        int jp1 = Math.Min(x->NPanels, jp0 + x->PanelsPerSplit);
        if (jp0 >= jp1) return;

        int nr = NR;
        int kc = x->Kc;
        T* ap = GetBuffer(ref t_a, (long)x->Mc * kc);
        PackA(x, ap, i0, mc);

        T* tmp = stackalloc T[MR * nr];
        long ldc = x->Ldc;
        T alpha = x->Alpha, beta = x->BetaEff;
        bool ow = x->Overwrite;
        // A micro-panel (MR×kc, a few KiB) stays in L1 while the B micro-panels stream from L2, where the whole packed
        // B block (KC×NC, 1 MiB) fits: the B operand is the wide one (two vectors per k), so it is the one read from L2.
        for (int ir = 0; ir < mc; ir += MR)
        {
            T* apan = ap + (long)ir * kc;
            for (int jp = jp0; jp < jp1; jp++)
            {
                int j = x->Jc + jp * nr;
                int w = Math.Min(nr, x->Jc + x->Nc - j);
                T* bp = x->Bp + (long)jp * nr * kc;
                int h = Math.Min(MR, mc - ir);
                T* cp = x->C + (i0 + ir) * ldc + j;
                // An edge panel of at most 6 rows runs the 6-row kernel on the first rows of the packed panel: the same
                // per-element FMA chain, half the work of a 12-row tile.
                bool half = h <= MRHalf && MR > MRHalf;
                if (w == nr && (h == MR || (half && h == MRHalf)))
                {
                    Kernel(kc, apan, bp, cp, (nint)ldc, alpha, beta, ow, half);
                }
                else
                {
                    if (!ow)
                        for (int r = 0; r < h; r++)
                            for (int jj = 0; jj < w; jj++) tmp[r * nr + jj] = cp[r * ldc + jj];
                    Kernel(kc, apan, bp, tmp, nr, alpha, beta, ow, half);
                    for (int r = 0; r < h; r++)
                        for (int jj = 0; jj < w; jj++) cp[r * ldc + jj] = tmp[r * nr + jj];
                }
            }
        }
    }
}
