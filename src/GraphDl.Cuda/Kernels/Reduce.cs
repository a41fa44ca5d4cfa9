using System.Numerics;
using System.Reflection;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>One step of a reduction: <c>acc = Step(acc, x)</c>; the start value comes from the host.</summary>
public interface IGpuReducer
{
    /// <summary>Folds one element into the accumulator.</summary>
    static abstract T Step<T>(T acc, T x) where T : unmanaged, INumber<T>;
    /// <summary>Merges two partial accumulators (the tree stage).</summary>
    static abstract T Combine<T>(T a, T b) where T : unmanaged, INumber<T>;
}

/// <summary>Sum.</summary>
public readonly struct SumStep : IGpuReducer { /// <inheritdoc/>
    public static T Step<T>(T acc, T x) where T : unmanaged, INumber<T> => acc + x; /// <inheritdoc/>
    public static T Combine<T>(T a, T b) where T : unmanaged, INumber<T> => a + b; }
/// <summary>Product.</summary>
public readonly struct ProdStep : IGpuReducer { /// <inheritdoc/>
    public static T Step<T>(T acc, T x) where T : unmanaged, INumber<T> => acc * x; /// <inheritdoc/>
    public static T Combine<T>(T a, T b) where T : unmanaged, INumber<T> => a * b; }
/// <summary>Max, NaN-propagating as the CPU kernel.</summary>
public readonly struct MaxStep : IGpuReducer { /// <inheritdoc/>
    public static T Step<T>(T acc, T x) where T : unmanaged, INumber<T> => T.IsNaN(acc) || T.IsNaN(x) ? acc + x : acc > x ? acc : x; /// <inheritdoc/>
    public static T Combine<T>(T a, T b) where T : unmanaged, INumber<T> => Step(a, b); }
/// <summary>Min, NaN-propagating.</summary>
public readonly struct MinStep : IGpuReducer { /// <inheritdoc/>
    public static T Step<T>(T acc, T x) where T : unmanaged, INumber<T> => T.IsNaN(acc) || T.IsNaN(x) ? acc + x : acc < x ? acc : x; /// <inheritdoc/>
    public static T Combine<T>(T a, T b) where T : unmanaged, INumber<T> => Step(a, b); }
/// <summary>Sum of squares (L2Loss).</summary>
public readonly struct SumSquaresStep : IGpuReducer { /// <inheritdoc/>
    public static T Step<T>(T acc, T x) where T : unmanaged, INumber<T> => acc + x * x; /// <inheritdoc/>
    public static T Combine<T>(T a, T b) where T : unmanaged, INumber<T> => a + b; }

/// <summary>A column reduction's layout (<see cref="ReduceKernels.ColumnPartial{TR, T}"/>): x viewed as [Outer, Red, Inner]
/// with rows <see cref="Ld"/> elements apart (Inner for a whole array; more for a column block of a wider matrix,
/// starting at column <see cref="Col0"/>), folded in <see cref="Chunks"/> row chunks.</summary>
public struct ColumnShape
{
    /// <summary>Kept outer extent, reduced extent, kept inner extent (the columns).</summary>
    public int Outer, Red, Inner;
    /// <summary>Row length as stored and first column.</summary>
    public int Ld, Col0;
    /// <summary>Row chunks (stage 1 threads per output).</summary>
    public int Chunks;
}

/// <summary>Reduction and data-movement kernels.</summary>
public static class ReduceKernels
{
    /// <summary>x viewed as [outer, red, inner] reduced over the middle: <c>y[o, i] = scale · fold(x[o, :, i])</c>.
    /// One thread per output element (a tree reduction for long reduced extents is future work).</summary>
    public static void ReduceMiddle<TR, T>(ArrayView<T> x, ArrayView<T> y, int outer, int red, int inner, T init, T scale, int scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        int n = outer * inner;
        for (int o = Grid.GlobalIndex.X; o < n; o += Grid.DimX * Group.DimX)
        {
            int oo = o / inner, ii = o - oo * inner;
            int b = oo * red * inner + ii;
            T acc = init;
            for (int r = 0; r < red; r++) acc = TR.Step(acc, x[b + r * inner]);
            y[o] = scaled != 0 ? acc * scale : acc;
        }
    }

    /// <summary>Tree stage 1 for few outputs with long reductions: group g folds chunk <c>g % chunks</c> of output
    /// <c>g / chunks</c> (x viewed as [outer, red, inner]), then the group's threads merge their accumulators in shared
    /// memory (Group.DimX must be a power of two). Deterministic for a given launch shape. With one chunk the partial is
    /// the output: <paramref name="partial"/> is y and <paramref name="scaled"/> applies <paramref name="scale"/> (no
    /// second stage).</summary>
    public static void ReducePartial<TR, T>(ArrayView<T> x, ArrayView<T> partial, int red, int inner, int chunks, T init, T scale, int scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        var sh = SharedMemory.GetDynamic<T>();
        int g = Grid.IdxX, tid = Group.IdxX, t = Group.DimX;
        int o = g / chunks, chunk = g - o * chunks;
        int oo = o / inner, ii = o - oo * inner;
        int len = (red + chunks - 1) / chunks;
        int from = chunk * len, to = from + len < red ? from + len : red;
        T acc = init;
        for (int r = from + tid; r < to; r += t) acc = TR.Step(acc, x[(oo * red + r) * inner + ii]);
        sh[tid] = acc;
        Group.Barrier();
        for (int s = t / 2; s > 0; s /= 2)
        {
            if (tid < s) sh[tid] = TR.Combine(sh[tid], sh[tid + s]);
            Group.Barrier();
        }
        if (tid == 0) partial[g] = scaled != 0 ? sh[0] * scale : sh[0];
    }

    /// <summary>Column stage 1 for many contiguous outputs with long reductions (x viewed as [outer, red, inner], rows
    /// <paramref name="ld"/> elements apart, the columns from <paramref name="col0"/> on): thread (chunk, o) folds rows
    /// <c>[chunk·len, (chunk+1)·len)</c> of output <c>o = oo·inner + ii</c> into <c>partial[chunk, o]</c>. Neighbouring
    /// threads read neighbouring columns (coalesced); the chunks give the GPU enough threads. Deterministic for given
    /// shapes.</summary>
    public static void ColumnPartial<TR, T>(ArrayView<T> x, ArrayView<T> partial, ColumnShape s, T init)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        int outputs = s.Outer * s.Inner, total = outputs * s.Chunks;
        int len = (s.Red + s.Chunks - 1) / s.Chunks;
        for (int g = Grid.GlobalIndex.X; g < total; g += Grid.DimX * Group.DimX)
        {
            int chunk = g / outputs, o = g - chunk * outputs;
            int oo = o / s.Inner, ii = o - oo * s.Inner;
            int from = chunk * len, to = from + len < s.Red ? from + len : s.Red;
            int b = oo * s.Red * s.Ld + s.Col0 + ii;
            T acc = init;
            for (int r = from; r < to; r++) acc = TR.Step(acc, x[b + r * s.Ld]);
            partial[g] = acc;
        }
    }

    /// <summary>Column stage 2: <c>y[o] = scale · combine(partial[:, o])</c>, chunks in order (coalesced reads).</summary>
    public static void ColumnCombine<TR, T>(ArrayView<T> partial, ArrayView<T> y, int outputs, int chunks, T scale, int scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        for (int o = Grid.GlobalIndex.X; o < outputs; o += Grid.DimX * Group.DimX)
        {
            T acc = partial[o];
            for (int c = 1; c < chunks; c++) acc = TR.Combine(acc, partial[c * outputs + o]);
            y[o] = scaled != 0 ? acc * scale : acc;
        }
    }

    /// <summary>Tree stage 2: <c>y[o] = scale · combine(partial[o, :])</c>.</summary>
    public static void CombinePartials<TR, T>(ArrayView<T> partial, ArrayView<T> y, int outputs, int chunks, T scale, int scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        for (int o = Grid.GlobalIndex.X; o < outputs; o += Grid.DimX * Group.DimX)
        {
            T acc = partial[o * chunks];
            for (int c = 1; c < chunks; c++) acc = TR.Combine(acc, partial[o * chunks + c]);
            y[o] = scaled != 0 ? acc * scale : acc;
        }
    }

    /// <summary>A strided box copy: element i of the box goes from <c>x[xOff + a(i)]</c> to <c>y[yOff + b(i)]</c>.</summary>
    public static void Strided<T>(ArrayView<T> x, int xOff, ArrayView<T> y, int yOff, int n, Broadcast6 s) where T : unmanaged
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int a, out int b);
            y[yOff + b] = x[xOff + a];
        }
    }

    /// <summary><c>y[i] = x[offset(i)]</c> with offsets from the a-strides of <paramref name="s"/>: transposes,
    /// broadcasts, tiles.</summary>
    public static void Gather<T>(ArrayView<T> x, ArrayView<T> y, int n, Broadcast6 s) where T : unmanaged
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
        {
            s.Offsets(i, out int a, out _);
            y[i] = x[a];
        }
    }
}

/// <summary>Host side of the reductions.</summary>
internal static class ReduceOp
{
    /// <summary>Sum/Mean/Max/Min/Prod: axes (input 1) are read on the host, keep_dims and _all as the CPU kernel.</summary>
    public static GpuKernel Of<TR>(bool mean = false) where TR : struct, IGpuReducer => (c, d) =>
    {
        var x = c.Input(0);
        var axes = c.Input(1);
        if (axes.DType != DType.Int32) throw c.Error($"axes must be int32, got {axes.DType.Name()}");
        var flags = new bool[x.Rank];
        bool all = axes.Size == 0 && c.Attrs.Bool("_all");
        Array.Fill(flags, all);
        foreach (var a0 in axes.AsSpan<int>())
        {
            int a = a0 < 0 ? a0 + x.Rank : a0;
            if (a < 0 || a >= x.Rank) throw c.Error($"axis {a0} is out of range for rank {x.Rank}");
            flags[a] = true;
        }
        bool keep = c.Attrs.Bool("keep_dims");
        var dims = new List<int>();
        for (int i = 0; i < x.Rank; i++) if (!flags[i]) dims.Add(x.Dims[i]); else if (keep) dims.Add(1);
        var y = c.Output(0, dims.ToArray());
        if (mean && !x.DType.IsFloating()) throw c.Error($"Mean of {x.DType.Name()} is not supported");
        int count = y.Size == 0 ? 1 : x.Size / y.Size;
        Run<TR>(c, d, x, flags, y, mean ? count : 0);
    };

    /// <summary>Reduces x over <paramref name="flags"/> into y; <paramref name="meanCount"/> &gt; 0 scales by 1/count.</summary>
    internal static void Run<TR>(KernelContext c, CudaDevice d, NDArray x, bool[] flags, NDArray y, int meanCount, double? start = null)
        where TR : struct, IGpuReducer
    {
        if (y.Size == 0) return;
        // Merge neighbouring dims with the same flag into alternating kept/reduced blocks (size-1 dims dropped).
        var size = new List<int>(); var red = new List<bool>();
        for (int i = 0; i < x.Rank; i++)
        {
            if (x.Dims[i] == 1) continue;
            if (size.Count > 0 && red[^1] == flags[i]) size[^1] *= x.Dims[i];
            else { size.Add(x.Dims[i]); red.Add(flags[i]); }
        }
        int outer, mid, inner;
        NDArray src = x;
        NDArray? temp = null;
        string pattern = string.Concat(red.Select(r => r ? 'R' : 'K'));
        switch (pattern)
        {
            case "": outer = 1; mid = 1; inner = 1; break;
            case "K": outer = size[0]; mid = 1; inner = 1; break;
            case "R": outer = 1; mid = size[0]; inner = 1; break;
            case "KR": outer = size[0]; mid = size[1]; inner = 1; break;
            case "RK": outer = 1; mid = size[0]; inner = size[1]; break;
            case "KRK": outer = size[0]; mid = size[1]; inner = size[2]; break;
            default:
            {
                // Kept blocks first, reduced blocks last: a transpose, then one [kept, red] reduction.
                var order = Enumerable.Range(0, size.Count).OrderBy(k => red[k] ? 1 : 0).ThenBy(k => k).ToArray();
                temp = d.Temp(x.DType, [x.Size]);
                Transpose(c, d, x, size.ToArray(), order, temp);
                src = temp;
                outer = 1; mid = 1;
                for (int k = 0; k < size.Count; k++) if (red[k]) mid *= size[k]; else outer *= size[k];
                inner = 1;
                break;
            }
        }
        if (x.Size == 0) mid = 0;
        try
        {
            switch (x.DType)
            {
                case DType.Float32: Launch<TR, float>(d, src, y, outer, mid, inner, (float)(start ?? Start<TR>(float.NegativeInfinity, float.PositiveInfinity)), meanCount > 0 ? 1f / meanCount : (float)Scale<TR>(), meanCount > 0 || Scale<TR>() != 1); break;
                case DType.Float64: Launch<TR, double>(d, src, y, outer, mid, inner, start ?? Start<TR>(double.NegativeInfinity, double.PositiveInfinity), meanCount > 0 ? 1.0 / meanCount : Scale<TR>(), meanCount > 0 || Scale<TR>() != 1); break;
                case DType.Int32: Launch<TR, int>(d, src, y, outer, mid, inner, (int)Start<TR>(int.MinValue, int.MaxValue), 1, false); break;
                case DType.Int64: Launch<TR, long>(d, src, y, outer, mid, inner, (long)Start<TR>(long.MinValue, long.MaxValue), 1, false); break;
                default: throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
            }
        }
        finally { if (temp != null) d.FreeTemp(temp); }
    }

    static double Start<TR>(double lowest, double highest) =>
        typeof(TR) == typeof(MaxStep) ? lowest : typeof(TR) == typeof(MinStep) ? highest : typeof(TR) == typeof(ProdStep) ? 1 : 0;

    static double Scale<TR>() => typeof(TR) == typeof(SumSquaresStep) ? 0.5 : 1;

    /// <summary>Reductions over rows whose columns are contiguous (at least this many) and whose reduced extent is at least
    /// <see cref="ColumnMinRed"/> take the two-stage column path (<see cref="ReduceKernels.ColumnPartial{TR, T}"/>): a bias
    /// gradient's [batch, units] → [units], an RNN's bias gradient over all steps.</summary>
    internal const int ColumnMinInner = 32, ColumnMinRed = 64;

    /// <summary>Few outputs (at most one group each) whose reduced extent is at least this take the tree path.</summary>
    internal const int TreeMinRed = 64;

    /// <summary>The row chunks of a column reduction: about √red (each stage-1 thread folds about √red rows, each stage-2
    /// thread combines about √red partials), at least 2, and no more than 4M partials in all.</summary>
    internal static int ColumnChunks(int outputs, int red)
    {
        int chunks = Math.Max(2, (int)Math.Sqrt(red));
        chunks = (int)Math.Min(chunks, Math.Max(2L, (4L << 20) / Math.Max(1, outputs)));
        return Math.Min(chunks, red);
    }

    /// <summary>Sums over rows of a column block: <c>dst[j] = Σ_r src[r·ld + col0 + j]</c> for j &lt; n, in float32 or
    /// float64 (the fused RNN ops' bias gradients).</summary>
    internal static void ColumnSums(CudaDevice d, NDArray src, NDArray dst, int rows, int n, int ld, int col0)
    {
        if (n == 0) return;
        if (rows == 0)
        {
            if (dst.DType == DType.Float32) MiscOp.Fill(d, dst, 0f); else MiscOp.Fill(d, dst, 0.0);
            return;
        }
        var s = new ColumnShape { Outer = 1, Red = rows, Inner = n, Ld = ld, Col0 = col0, Chunks = ColumnChunks(n, rows) };
        if (src.DType == DType.Float32) Columns<SumStep, float>(d, src, dst, s, 0f, 1f, false);
        else Columns<SumStep, double>(d, src, dst, s, 0.0, 1.0, false);
    }

    static void Columns<TR, T>(CudaDevice d, NDArray x, NDArray y, ColumnShape s, T init, T scale, bool scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        int outputs = s.Outer * s.Inner;
        var partial = d.Temp(x.DType, [outputs * s.Chunks]);
        try
        {
            var k1 = d.Load(ReduceKernels.ColumnPartial<TR, T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, ColumnShape, T>(ReduceKernels.ColumnPartial<TR, T>));
            k1(d.Stream, d.Config((long)outputs * s.Chunks), CudaDevice.View<T>(x), CudaDevice.View<T>(partial), s, init);
            var k2 = d.Load(ReduceKernels.ColumnCombine<TR, T>,
                acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, T, int>(ReduceKernels.ColumnCombine<TR, T>));
            k2(d.Stream, d.Config(outputs), CudaDevice.View<T>(partial), CudaDevice.View<T>(y), outputs, s.Chunks, scale, scaled ? 1 : 0);
        }
        finally { d.FreeTemp(partial); }
    }

    static void Launch<TR, T>(CudaDevice d, NDArray x, NDArray y, int outer, int red, int inner, T init, T scale, bool scaled)
        where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        int outputs = outer * inner, t = d.GroupSize;
        // Contiguous columns, long reductions: one thread per output would fold every row serially.
        if (inner >= ColumnMinInner && red >= ColumnMinRed)
        {
            Columns<TR, T>(d, x, y, new ColumnShape { Outer = outer, Red = red, Inner = inner, Ld = inner, Col0 = 0, Chunks = ColumnChunks(outputs, red) },
                init, scale, scaled);
            return;
        }
        // Few outputs, long reductions: one thread per output would leave the GPU idle; fold in chunks, then in a tree.
        // A group per output from TreeMinRed elements on (a batch's mean loss: one group of threads, not one thread
        // folding every element); one chunk (up to 4 elements per thread) is a single launch.
        var k1 = d.Load(ReduceKernels.ReducePartial<TR, T>,
            acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int, T, T, int>(ReduceKernels.ReducePartial<TR, T>));
        if (outputs <= d.MaxGroups && red >= TreeMinRed && (t & (t - 1)) == 0)
        {
            int chunks = Math.Clamp(red / (4 * t), 1, Math.Max(1, d.MaxGroups / outputs));
            if (chunks == 1)
            {
                k1(d.Stream, new KernelConfig(outputs, t, SharedMemoryConfig.RequestDynamic<T>(t)),
                    CudaDevice.View<T>(x), CudaDevice.View<T>(y), red, inner, 1, init, scale, scaled ? 1 : 0);
                return;
            }
            var partial = d.Temp(x.DType, [outputs * chunks]);
            try
            {
                k1(d.Stream, new KernelConfig(outputs * chunks, t, SharedMemoryConfig.RequestDynamic<T>(t)),
                    CudaDevice.View<T>(x), CudaDevice.View<T>(partial), red, inner, chunks, init, T.One, 0);
                var k2 = d.Load(ReduceKernels.CombinePartials<TR, T>,
                    acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, T, int>(ReduceKernels.CombinePartials<TR, T>));
                k2(d.Stream, d.Config(outputs), CudaDevice.View<T>(partial), CudaDevice.View<T>(y), outputs, chunks, scale, scaled ? 1 : 0);
            }
            finally { d.FreeTemp(partial); }
            return;
        }
        var k = d.Load(ReduceKernels.ReduceMiddle<TR, T>,
            acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, int, int, T, T, int>(ReduceKernels.ReduceMiddle<TR, T>));
        k(d.Stream, d.Config((long)outer * inner), CudaDevice.View<T>(x), CudaDevice.View<T>(y), outer, red, inner, init, scale, scaled ? 1 : 0);
    }

    /// <summary>y = x (of dims <paramref name="dims"/>) with its axes in the order <paramref name="perm"/>.</summary>
    internal static void Transpose(KernelContext c, CudaDevice d, NDArray x, int[] dims, int[] perm, NDArray y)
    {
        if (dims.Length > 6) throw c.Error($"GPU transpose takes at most 6 dims, got {Shape.Format(dims)}");
        var stride = new int[dims.Length];
        for (int k = dims.Length - 1, s = 1; k >= 0; k--) { stride[k] = s; s *= dims[k]; }
        var outDims = perm.Select(p => dims[p]).ToArray();
        var outStrides = perm.Select(p => stride[p]).ToArray();
        Gather(c, d, x, y, Strides(outDims, outStrides));
    }

    /// <summary>A <see cref="Broadcast6"/> whose a-strides walk x for output dims <paramref name="dims"/>.</summary>
    internal static Broadcast6 Strides(int[] dims, int[] strides)
    {
        Span<int> d6 = [1, 1, 1, 1, 1, 1], s6 = [0, 0, 0, 0, 0, 0];
        for (int k = dims.Length - 1, j = 5; k >= 0; k--, j--) { d6[j] = dims[k]; s6[j] = strides[k]; }
        return new Broadcast6
        {
            D0 = d6[0], D1 = d6[1], D2 = d6[2], D3 = d6[3], D4 = d6[4], D5 = d6[5],
            A0 = s6[0], A1 = s6[1], A2 = s6[2], A3 = s6[3], A4 = s6[4], A5 = s6[5],
        };
    }

    internal static void Gather(KernelContext c, CudaDevice d, NDArray x, NDArray y, Broadcast6 s)
    {
        int n = y.Size;
        if (n == 0) return;
        switch (x.DType.Size())
        {
            case 4: Gather<int>(d, x, y, n, s); break;
            case 8: Gather<long>(d, x, y, n, s); break;
            case 1: Gather<byte>(d, x, y, n, s); break;
            default: throw c.Error($"{c.Node.Type} of {x.DType.Name()} has no GPU kernel");
        }
    }

    static void Gather<T>(CudaDevice d, NDArray x, NDArray y, int n, Broadcast6 s) where T : unmanaged
    {
        var k = d.Load(ReduceKernels.Gather<T>, acc => acc.LoadKernel<ArrayView<T>, ArrayView<T>, int, Broadcast6>(ReduceKernels.Gather<T>));
        k(d.Stream, d.Config(n), CudaDevice.View<T>(x), CudaDevice.View<T>(y), n, s);
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        foreach (var m in For<SumStep>(true)) yield return m;
        foreach (var m in For<ProdStep>(true)) yield return m;
        foreach (var m in For<MaxStep>(true)) yield return m;
        foreach (var m in For<MinStep>(true)) yield return m;
        foreach (var m in For<SumSquaresStep>(false)) yield return m;
        yield return ((Delegate)ReduceKernels.Gather<int>).Method;
        yield return ((Delegate)ReduceKernels.Gather<long>).Method;
        yield return ((Delegate)ReduceKernels.Gather<byte>).Method;
    }

    static IEnumerable<MethodInfo> For<TR>(bool ints) where TR : struct, IGpuReducer
    {
        foreach (var m in Typed<TR, float>()) yield return m;
        foreach (var m in Typed<TR, double>()) yield return m;
        if (!ints) yield break;
        foreach (var m in Typed<TR, int>()) yield return m;
        foreach (var m in Typed<TR, long>()) yield return m;
    }

    static IEnumerable<MethodInfo> Typed<TR, T>() where TR : struct, IGpuReducer where T : unmanaged, INumber<T>
    {
        yield return ((Delegate)ReduceKernels.ReduceMiddle<TR, T>).Method;
        yield return ((Delegate)ReduceKernels.ReducePartial<TR, T>).Method;
        yield return ((Delegate)ReduceKernels.CombinePartials<TR, T>).Method;
        yield return ((Delegate)ReduceKernels.ColumnPartial<TR, T>).Method;
        yield return ((Delegate)ReduceKernels.ColumnCombine<TR, T>).Method;
    }
}
