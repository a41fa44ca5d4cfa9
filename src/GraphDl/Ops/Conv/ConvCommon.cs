using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using GraphDl.Devices.Cpu;
using GraphDl.Runtime;

namespace GraphDl.Ops;

/// <summary>Window geometry shared by convolution and pooling: TF's output-size and SAME padding arithmetic.</summary>
public static class ConvPadding
{
    /// <summary>Output size and leading padding of one spatial dim, as TF computes them: VALID gives
    /// <c>ceil((in - dk + 1) / stride)</c>; SAME gives <c>ceil(in / stride)</c> with
    /// <c>pad_total = max((out - 1)·stride + dk - in, 0)</c> and <c>pad_before = pad_total / 2</c>, where
    /// <c>dk = (k - 1)·dilation + 1</c>. Returns out = -1 when VALID does not fit (the window exceeds the input).</summary>
    public static (int Out, int PadBefore) Compute(int inSize, int k, int stride, int dilation, bool same)
    {
        int dk = (k - 1) * dilation + 1;
        if (same)
        {
            int o = (inSize + stride - 1) / stride;
            int total = Math.Max((o - 1) * stride + dk - inSize, 0);
            return (o, total / 2);
        }
        return inSize >= dk ? ((inSize - dk) / stride + 1, 0) : (-1, 0);
    }

    /// <summary>True for "SAME", false for "VALID"; anything else is an error.</summary>
    internal static bool IsSame(Attrs attrs)
    {
        var p = attrs.String("padding", "VALID");
        return p switch
        {
            "SAME" => true,
            "VALID" => false,
            _ => throw new ShapeError($"padding must be \"SAME\" or \"VALID\", got \"{p}\""),
        };
    }

    /// <summary>A 4-vector NHWC attr (strides, dilations, ksize) whose batch and channel entries must be 1.</summary>
    internal static (int H, int W) Spatial(Attrs attrs, string name, int dflt = 1)
    {
        var v = attrs.TryGetValue(name, out var o) ? (int[])o : [dflt, dflt, dflt, dflt];
        if (v.Length != 4) throw new ShapeError($"{name} must have 4 entries (NHWC), got {Shape.Format(v)}");
        if (v[0] != 1 || v[3] != 1) throw new ShapeError($"{name} must be 1 in the batch and depth dims (NHWC), got {Shape.Format(v)}");
        if (v[1] < 1 || v[2] < 1) throw new ShapeError($"{name} must be positive, got {Shape.Format(v)}");
        return (v[1], v[2]);
    }

    /// <summary>Only NHWC is supported (TF1's CPU kernels).</summary>
    internal static void CheckFormat(Attrs attrs)
    {
        var f = attrs.String("data_format", "NHWC");
        if (f != "NHWC") throw new ShapeError($"data_format must be \"NHWC\" on the CPU, got \"{f}\"");
    }

    /// <summary>Runs a shape check at kernel time, turning a <see cref="ShapeError"/> into a run-time error naming the node.</summary>
    internal static T AtRun<T>(KernelContext c, Func<T> f)
    {
        try { return f(); }
        catch (ShapeError e) { throw c.Error(e.Message); }
    }
}

/// <summary>Convolution geometry in NHWC: input [N,H,W,C], filter [KH,KW,C,O], output [N,OH,OW,O].</summary>
internal struct ConvGeom
{
    public int N, H, W, C, KH, KW, O, OH, OW, SH, SW, DH, DW, PT, PL;
    public readonly int K => KH * KW * C;
    public readonly int Rows => N * OH * OW;

    /// <summary>Geometry from static or run-time dims (-1 where unknown); throws ShapeError naming the shapes.</summary>
    static string S(int[] d) => new Shape(d).ToString();

    public static ConvGeom Make(int[] x, int[] f, Attrs attrs, string what)
    {
        ConvPadding.CheckFormat(attrs);
        var (sh, sw) = ConvPadding.Spatial(attrs, "strides");
        var (dh, dw) = ConvPadding.Spatial(attrs, "dilations");
        bool same = ConvPadding.IsSame(attrs);
        if (x.Length != 4) throw new ShapeError($"{what} must be rank 4 [batch, height, width, channels], got {S(x)}");
        if (f.Length != 4) throw new ShapeError($"filter must be rank 4 [height, width, in_channels, out_channels], got {S(f)}");
        if (x[3] >= 0 && f[2] >= 0 && x[3] != f[2])
            throw new ShapeError($"input depth {x[3]} does not match the filter's in_channels {f[2]}, {what} {S(x)} filter {S(f)}");
        var g = new ConvGeom { N = x[0], H = x[1], W = x[2], C = x[3] >= 0 ? x[3] : f[2], KH = f[0], KW = f[1], O = f[3], SH = sh, SW = sw, DH = dh, DW = dw };
        (g.OH, g.PT) = Dim(x[1], f[0], sh, dh, same, x, f, what);
        (g.OW, g.PL) = Dim(x[2], f[1], sw, dw, same, x, f, what);
        return g;
    }

    static (int, int) Dim(int inSize, int k, int s, int d, bool same, int[] x, int[] f, string what)
    {
        if (inSize < 0 || k < 0) return (same && inSize >= 0 ? (inSize + s - 1) / s : -1, 0);
        var (o, p) = ConvPadding.Compute(inSize, k, s, d, same);
        if (o < 0)
            throw new ShapeError($"VALID window larger than the input: {what} {S(x)}, window {S(f)} with dilation {d}");
        return (o, p);
    }

    public readonly int[] OutDims => [N, OH, OW, O];
}

/// <summary>Per-thread scratch buffers (pinned, grown on demand, never shrunk): kernels stay allocation-free in steady state.</summary>
internal static unsafe class Scratch<T> where T : unmanaged
{
    [ThreadStatic] static T[]? s0;
    [ThreadStatic] static T[]? s1;

    /// <summary>A pinned buffer of at least <paramref name="n"/> elements in this thread's slot 0 or 1.</summary>
    public static T* Get(int slot, long n)
    {
        ref var a = ref slot == 0 ? ref s0 : ref s1;
        if (a == null || a.LongLength < n) a = GC.AllocateUninitializedArray<T>((int)Math.Max(n, 16), pinned: true);
        return (T*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(a));
    }
}

/// <summary>Im2col tiles and their GEMMs.</summary>
internal static unsafe class ConvCore<T> where T : unmanaged, INumber<T>
{
    /// <summary>Elements of one im2col tile (about 128 KiB in float32).</summary>
    const int TileElements = 32768;

    public static int TileRows(in ConvGeom g) => Math.Max(16, TileElements / Math.Max(1, g.K));

    public static void Gemm(bool ta, bool tb, int m, int n, int k, T* a, int lda, T* b, int ldb, bool accumulate, T* c, int ldc, WorkerPool? pool)
    {
        if (typeof(T) == typeof(float))
            Devices.Cpu.Gemm.Sgemm(ta, tb, m, n, k, 1f, (float*)a, lda, (float*)b, ldb, accumulate ? 1f : 0f, (float*)c, ldc, pool);
        else
            Devices.Cpu.Gemm.Dgemm(ta, tb, m, n, k, 1.0, (double*)a, lda, (double*)b, ldb, accumulate ? 1.0 : 0.0, (double*)c, ldc, pool);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Copy(T* src, T* dst, int n)
    {
        if (n <= 16) { for (int i = 0; i < n; i++) dst[i] = src[i]; }
        else Buffer.MemoryCopy(src, dst, (long)n * sizeof(T), (long)n * sizeof(T));
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Zero(T* dst, int n)
    {
        if (n <= 16) { for (int i = 0; i < n; i++) dst[i] = T.Zero; }
        else new Span<T>(dst, n).Clear();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void AddTo(T* dst, T* src, int n)
    {
        if (n < 16) { for (int i = 0; i < n; i++) dst[i] += src[i]; }
        else System.Numerics.Tensors.TensorPrimitives.Add(new ReadOnlySpan<T>(dst, n), new ReadOnlySpan<T>(src, n), new Span<T>(dst, n));
    }

    /// <summary>Columns of the GEMM engine's micro-tile for T (its rows are 6).</summary>
    static int Nr => typeof(T) == typeof(float) ? GemmCore<float>.NR : GemmCore<double>.NR;

    /// <summary>True when the forward product runs transposed (yᵀ = fᵀ·colᵀ): a single input channel (its transposed im2col is
    /// plain row copies) and fewer output channels than a micro-tile is wide, which the normal product would mostly waste.</summary>
    static bool ForwardTransposed(in ConvGeom g) => g.C == 1 && g.O < Nr;

    /// <summary>True when the filter gradient runs transposed (dfᵀ[O, K] = dyᵀ·col): the output channels then fill the
    /// micro-tile's rows instead of a mostly empty column panel.</summary>
    static bool FilterTransposed(in ConvGeom g) => g.O < Nr;

    /// <summary>Rows [r0, r0 + cnt) of the im2col matrix, transposed: <paramref name="colT"/>[k, t] for k in [0, K), ld = cnt.</summary>
    public static void Im2ColT(in ConvGeom g, T* x, T* colT, int r0, int cnt)
    {
        int C = g.C, ohw = g.OH * g.OW;
        int n = r0 / ohw, p = r0 - n * ohw, oh = p / g.OW, ow = p - oh * g.OW;
        for (int t = 0; t < cnt;)
        {
            int seg = Math.Min(g.OW - ow, cnt - t);
            T* img = x + (long)n * g.H * g.W * C;
            for (int kh = 0; kh < g.KH; kh++)
            {
                int ih = oh * g.SH - g.PT + kh * g.DH;
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int iw = ow * g.SW - g.PL + kw * g.DW;
                    for (int ch = 0; ch < C; ch++)
                    {
                        T* dst = colT + (long)((kh * g.KW + kw) * C + ch) * cnt + t;
                        if ((uint)ih >= (uint)g.H) { Zero(dst, seg); continue; }
                        T* src = img + (long)ih * g.W * C + ch;
                        if (g.SW == 1 && C == 1)
                        {
                            int lo = Math.Clamp(-iw, 0, seg), hi = Math.Clamp(g.W - iw, lo, seg);
                            if (lo > 0) Zero(dst, lo);
                            if (hi > lo) Copy(src + iw + lo, dst + lo, hi - lo);
                            if (seg > hi) Zero(dst + hi, seg - hi);
                        }
                        else
                            for (int j = 0; j < seg; j++)
                            {
                                int w = iw + j * g.SW;
                                dst[j] = (uint)w < (uint)g.W ? src[(long)w * C] : T.Zero;
                            }
                    }
                }
            }
            t += seg;
            ow += seg;
            if (ow == g.OW) { ow = 0; if (++oh == g.OH) { oh = 0; n++; } }
        }
    }

    /// <summary>dst[c, r] = src[r, c] for a [rows, cols] source (leading dims given).</summary>
    static void Transpose(T* src, int rows, int cols, int lds, T* dst, int ldd)
    {
        for (int r = 0; r < rows; r++)
        {
            T* sr = src + (long)r * lds;
            for (int c = 0; c < cols; c++) dst[(long)c * ldd + r] = sr[c];
        }
    }

    /// <summary>Rows [r0, r0 + cnt) of the im2col matrix [rows, KH·KW·C] into <paramref name="col"/>.</summary>
    public static void Im2Col(in ConvGeom g, T* x, T* col, int r0, int cnt)
    {
        int C = g.C, K = g.K, ohw = g.OH * g.OW, kwc = g.KW * g.C;
        int n = r0 / ohw, p = r0 - n * ohw, oh = p / g.OW, ow = p - oh * g.OW;
        for (int t = 0; t < cnt; t++)
        {
            T* dst = col + (long)t * K;
            int iw0 = ow * g.SW - g.PL;
            bool rowInside = g.DW == 1 && iw0 >= 0 && iw0 + g.KW <= g.W;
            T* img = x + (long)n * g.H * g.W * C;
            for (int kh = 0; kh < g.KH; kh++, dst += kwc)
            {
                int ih = oh * g.SH - g.PT + kh * g.DH;
                if ((uint)ih >= (uint)g.H) { Zero(dst, kwc); continue; }
                T* src = img + (long)ih * g.W * C;
                if (rowInside) { Copy(src + (long)iw0 * C, dst, kwc); continue; }
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int iw = iw0 + kw * g.DW;
                    if ((uint)iw >= (uint)g.W) Zero(dst + kw * C, C);
                    else Copy(src + (long)iw * C, dst + kw * C, C);
                }
            }
            if (++ow == g.OW) { ow = 0; if (++oh == g.OH) { oh = 0; n++; } }
        }
    }

    /// <summary>Adds rows [r0, r0 + cnt) of a column matrix back into the image tensor (the adjoint of <see cref="Im2Col"/>).</summary>
    public static void Col2ImAdd(in ConvGeom g, T* col, T* dx, int r0, int cnt)
    {
        int C = g.C, K = g.K, ohw = g.OH * g.OW, kwc = g.KW * g.C;
        int n = r0 / ohw, p = r0 - n * ohw, oh = p / g.OW, ow = p - oh * g.OW;
        for (int t = 0; t < cnt; t++)
        {
            T* src = col + (long)t * K;
            int iw0 = ow * g.SW - g.PL;
            bool rowInside = g.DW == 1 && iw0 >= 0 && iw0 + g.KW <= g.W;
            T* img = dx + (long)n * g.H * g.W * C;
            for (int kh = 0; kh < g.KH; kh++, src += kwc)
            {
                int ih = oh * g.SH - g.PT + kh * g.DH;
                if ((uint)ih >= (uint)g.H) continue;
                T* dst = img + (long)ih * g.W * C;
                if (rowInside) { AddTo(dst + (long)iw0 * C, src, kwc); continue; }
                for (int kw = 0; kw < g.KW; kw++)
                {
                    int iw = iw0 + kw * g.DW;
                    if ((uint)iw < (uint)g.W) AddTo(dst + (long)iw * C, src + kw * C, C);
                }
            }
            if (++ow == g.OW) { ow = 0; if (++oh == g.OH) { oh = 0; n++; } }
        }
    }

    // ---- forward: y[rows, O] = im2col(x)[rows, K] · f[K, O], one tile per work item

    struct FwdBody : IParallelBody
    {
        public ConvGeom G; public T* X, F, Y; public int Tile;
        public readonly void Run(int i) => FwdTile(G, X, F, Y, i * Tile, Math.Min(Tile, G.Rows - i * Tile), null);
    }

    static void FwdTile(in ConvGeom g, T* x, T* f, T* y, int r0, int cnt, WorkerPool? pool)
    {
        if (ForwardTransposed(g))
        {
            T* colT = Scratch<T>.Get(0, (long)cnt * g.K), yT = Scratch<T>.Get(1, (long)cnt * g.O);
            Im2ColT(g, x, colT, r0, cnt);
            Gemm(true, false, g.O, cnt, g.K, f, g.O, colT, cnt, false, yT, cnt, pool);
            Transpose(yT, g.O, cnt, cnt, y + (long)r0 * g.O, g.O);
            return;
        }
        T* col = Scratch<T>.Get(0, (long)cnt * g.K);
        Im2Col(g, x, col, r0, cnt);
        if (2 * g.O <= Nr)
        {
            // At most half a micro-tile of output channels: yᵀ = fᵀ·colᵀ keeps the tiles full (col packs by transposes).
            T* yT = Scratch<T>.Get(1, (long)cnt * g.O);
            Gemm(true, true, g.O, cnt, g.K, f, g.O, col, g.K, false, yT, cnt, pool);
            Transpose(yT, g.O, cnt, cnt, y + (long)r0 * g.O, g.O);
            return;
        }
        Gemm(false, false, cnt, g.O, g.K, col, g.K, f, g.O, false, y + (long)r0 * g.O, g.O, pool);
    }

    public static void Forward(in ConvGeom g, T* x, T* f, T* y, WorkerPool pool)
    {
        int rows = g.Rows, tile = TileRows(g);
        if (rows == 0) return;
        if (g.K == 0) { new Span<T>(y, rows * g.O).Clear(); return; }
        int tiles = (rows + tile - 1) / tile;
        if (tiles == 1) { FwdTile(g, x, f, y, 0, rows, pool); return; }
        var body = new FwdBody { G = g, X = x, F = f, Y = y, Tile = tile };
        pool.For(tiles, ref body);
    }

    // ---- backprop input: dx[n] = col2im(dy[n] · fᵀ), one image per work item (images do not overlap)

    struct BwdInputBody : IParallelBody
    {
        public ConvGeom G; public T* F, Dy, Dx;
        public readonly void Run(int n) => BwdInputImage(G, F, Dy, Dx, n, null);
    }

    static void BwdInputImage(in ConvGeom g, T* f, T* dy, T* dx, int n, WorkerPool? pool)
    {
        long img = (long)g.H * g.W * g.C;
        new Span<T>(dx + n * img, (int)img).Clear();
        int ohw = g.OH * g.OW, tile = TileRows(g);
        T* col = Scratch<T>.Get(0, (long)Math.Min(tile, ohw) * g.K);
        for (int p0 = 0; p0 < ohw; p0 += tile)
        {
            int cnt = Math.Min(tile, ohw - p0), r0 = n * ohw + p0;
            Gemm(false, true, cnt, g.K, g.O, dy + (long)r0 * g.O, g.O, f, g.O, false, col, g.K, pool);
            Col2ImAdd(g, col, dx, r0, cnt);
        }
    }

    public static void BackpropInput(in ConvGeom g, T* f, T* dy, T* dx, WorkerPool pool)
    {
        if (g.N * g.H * g.W * g.C == 0) return;
        if (g.OH * g.OW == 0 || g.K == 0) { new Span<T>(dx, g.N * g.H * g.W * g.C).Clear(); return; }
        if (g.N < 2 * pool.Threads)
        {
            for (int n = 0; n < g.N; n++) BwdInputImage(g, f, dy, dx, n, pool);
            return;
        }
        var body = new BwdInputBody { G = g, F = f, Dy = dy, Dx = dx };
        pool.For(g.N, ref body);
    }

    // ---- backprop filter: df[K, O] = Σ im2col(x)ᵀ · dy, in a fixed number of row chunks (partial sums added in order)

    /// <summary>Adds (or, when <paramref name="first"/>, writes) one row tile's share of the filter gradient into
    /// <paramref name="acc"/>, laid out [O, K] when <see cref="FilterTransposed"/> (dyᵀ·col: few output channels fill the
    /// micro-tile's rows), else [K, O] (colᵀ·dy). A single input channel builds the transposed im2col (plain row copies).</summary>
    static void FilterTile(in ConvGeom g, T* x, T* dy, int r, int cnt, bool first, T* acc, WorkerPool? pool)
    {
        T* col = Scratch<T>.Get(0, (long)cnt * g.K);
        if (g.C == 1)
        {
            Im2ColT(g, x, col, r, cnt);
            if (FilterTransposed(g)) Gemm(true, true, g.O, g.K, cnt, dy + (long)r * g.O, g.O, col, cnt, !first, acc, g.K, pool);
            else Gemm(false, false, g.K, g.O, cnt, col, cnt, dy + (long)r * g.O, g.O, !first, acc, g.O, pool);
            return;
        }
        Im2Col(g, x, col, r, cnt);
        if (FilterTransposed(g)) Gemm(true, false, g.O, g.K, cnt, dy + (long)r * g.O, g.O, col, g.K, !first, acc, g.K, pool);
        else Gemm(true, false, g.K, g.O, cnt, col, g.K, dy + (long)r * g.O, g.O, !first, acc, g.O, pool);
    }

    struct BwdFilterBody : IParallelBody
    {
        public ConvGeom G; public T* X, Dy, Partials; public int Chunk;
        public readonly void Run(int i)
        {
            int r0 = i * Chunk, end = Math.Min(G.Rows, r0 + Chunk), tile = TileRows(G);
            T* acc = Partials + (long)i * G.K * G.O;
            for (int r = r0; r < end; r += tile) FilterTile(G, X, Dy, r, Math.Min(tile, end - r), r == r0, acc, null);
        }
    }

    /// <summary>Upper bound on row chunks of the filter gradient (fixed by the sizes only, so results do not depend on threads).</summary>
    const int MaxChunks = 16;

    public static void BackpropFilter(in ConvGeom g, T* x, T* dy, T* df, WorkerPool pool)
    {
        int ko = g.K * g.O, rows = g.Rows, tile = TileRows(g);
        if (ko == 0) return;
        if (rows == 0) { new Span<T>(df, ko).Clear(); return; }
        int tiles = (rows + tile - 1) / tile;
        int chunks = Math.Min(MaxChunks, tiles);
        int chunk = (tiles + chunks - 1) / chunks * tile;
        chunks = (rows + chunk - 1) / chunk;
        bool tr = FilterTransposed(g);
        if (chunks == 1)
        {
            T* acc = tr ? Scratch<T>.Get(1, ko) : df;
            for (int r = 0; r < rows; r += tile) FilterTile(g, x, dy, r, Math.Min(tile, rows - r), r == 0, acc, pool);
            if (tr) Transpose(acc, g.O, g.K, g.K, df, g.O);
            return;
        }
        T* partials = Scratch<T>.Get(1, (long)chunks * ko);
        var body = new BwdFilterBody { G = g, X = x, Dy = dy, Partials = partials, Chunk = chunk };
        pool.For(chunks, ref body);
        var d = new Span<T>(partials, ko);
        for (int i = 1; i < chunks; i++) System.Numerics.Tensors.TensorPrimitives.Add(d, new ReadOnlySpan<T>(partials + (long)i * ko, ko), d);
        if (tr) Transpose(partials, g.O, g.K, g.K, df, g.O);
        else d.CopyTo(new Span<T>(df, ko));
    }
}
