using System.Numerics;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>What a batched gradient-descent launch needs besides its views: each variable's end offset in the
/// concatenation of the batch and its learning rate (read on the host).</summary>
public struct SgdBatch<T> where T : unmanaged
{
    /// <summary>Variables per launch (ILGPU kernels take at most 13 parameters besides the launch shape: 12 views and this).</summary>
    public const int Width = 6;
    /// <summary>End offsets.</summary>
    public int E0, E1, E2, E3, E4, E5;
    /// <summary>Learning rates.</summary>
    public T A0, A1, A2, A3, A4, A5;
}

/// <summary>A batched launch of up to four variables with three views each (Momentum, Adagrad): end offsets,
/// per-variable constants and flags.</summary>
public struct UpdateBatch4<T> where T : unmanaged
{
    /// <summary>Variables per launch (three views each; ILGPU kernels take at most 13 parameters besides the launch shape).</summary>
    public const int Width = 4;
    /// <summary>End offsets.</summary>
    public int E0, E1, E2, E3;
    /// <summary>Constants (as for the single kernel).</summary>
    public ApplyScalars<T> S0, S1, S2, S3;
    /// <summary>Flags (use_nesterov).</summary>
    public int N0, N1, N2, N3;
}

/// <summary>A batched launch of up to three variables with four views each (Adam): end offsets, per-variable constants
/// and flags.</summary>
public struct UpdateBatch3<T> where T : unmanaged
{
    /// <summary>Variables per launch (four views each).</summary>
    public const int Width = 3;
    /// <summary>End offsets.</summary>
    public int E0, E1, E2;
    /// <summary>Constants (as for the single kernel).</summary>
    public ApplyScalars<T> S0, S1, S2;
    /// <summary>Flags (use_nesterov).</summary>
    public int N0, N1, N2;
}

/// <summary>A batched launch of up to two variables with five views each (the RMSProps): end offsets, per-variable
/// constants and flags (centered).</summary>
public struct UpdateBatch2<T> where T : unmanaged
{
    /// <summary>Variables per launch.</summary>
    public const int Width = 2;
    /// <summary>End offsets.</summary>
    public int E0, E1;
    /// <summary>Constants (as for the single kernel).</summary>
    public ApplyScalars<T> S0, S1;
    /// <summary>Flags (centered).</summary>
    public int N0, N1;
}

// Batched updates (a multi-tensor apply): consecutive update steps of one op run as one launch over several variables.
internal static partial class ApplyOp
{
    /// <summary>Whether <paramref name="next"/> can join <paramref name="batch"/> in one launch: the same update op (one
    /// with a batched kernel) on variables of the same dtype, none of whose updated buffers (variable, accumulators) a
    /// member updates or reads, and no data flowing between the members (no input of one is another's output or, through
    /// views, a buffer another updates), so that the order of the updates inside the launch cannot matter.</summary>
    public static bool CanBatch(IReadOnlyList<Operation> batch, Operation next)
    {
        var def = batch[0].Def;
        int refs = def.RefInputs;
        if (next.Def != def || Batched(def) == null || next.Inputs.Length <= refs || next.Inputs[0].DType != batch[0].Inputs[0].DType) return false;
        var nextWrites = next.Inputs.Take(refs).Select(Root).ToHashSet();
        if (nextWrites.Count < refs) return false;
        foreach (var m in batch)
        {
            for (int i = 0; i < m.Inputs.Length; i++)
            {
                var root = Root(m.Inputs[i]);
                if (nextWrites.Contains(root)) return false;   // next updates what m updates or reads
                if (i >= refs) continue;
                foreach (var t in next.Inputs)
                    if (Root(t) == root) return false;         // next reads what m updates
            }
            foreach (var t in next.Inputs)
                if (t.Op == m) return false;                    // next reads m's output
        }
        return true;
    }

    /// <summary>The op whose buffer <paramref name="t"/> is, through views (Identity and the other aliasing ops).</summary>
    static Operation Root(Tensor t)
    {
        var op = t.Op;
        while (op.Def.Aliases && op.Inputs.Length > 0) op = op.Inputs[0].Op;
        return op;
    }

    /// <summary>The batched kernel of an update op, or null when it has none.</summary>
    public static GpuKernel? Batched(OpDef op) =>
        op == ApplyOps.ApplyGradientDescent ? SgdBatchKernel
        : op == ApplyOps.ApplyMomentum ? MomentumBatchKernel
        : op == ApplyOps.ApplyAdam ? AdamBatchKernel
        : op == ApplyOps.ApplyAdagrad ? AdagradBatchKernel
        : op == ApplyOps.ApplyRMSProp || op == ApplyOps.ApplyCenteredRMSProp ? RMSPropBatchKernel
        : null;

    static readonly GpuKernel SgdBatchKernel = Batch(GradientDescentLaunches<float>, GradientDescentLaunches<double>);
    static readonly GpuKernel MomentumBatchKernel = Batch(MomentumLaunches<float>, MomentumLaunches<double>);
    static readonly GpuKernel AdamBatchKernel = Batch(AdamLaunches<float>, AdamLaunches<double>);
    static readonly GpuKernel AdagradBatchKernel = Batch(AdagradLaunches<float>, AdagradLaunches<double>);
    static readonly GpuKernel RMSPropBatchKernel = Batch(RMSPropLaunches<float>, RMSPropLaunches<double>);

    delegate void BatchLaunches(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars);

    /// <summary>An update op over a batch (<see cref="Plan.Step.Batch"/>): each member validated as alone (errors name
    /// it) before anything is launched, then the typed launches, then each member's output forwarded.</summary>
    static GpuKernel Batch(BatchLaunches f32, BatchLaunches f64) => (c, d) =>
    {
        var leader = c.step;
        var members = leader.Batch!;
        var vars = new NDArray[members.Length];
        try
        {
            for (int k = 0; k < members.Length; k++)
            {
                c.step = members[k];
                vars[k] = Validate(c);
                if (vars[k].DType is not (DType.Float32 or DType.Float64)) throw c.Error($"{vars[k].DType.Name()} is not supported");
            }
            c.step = leader;
            (vars[0].DType == DType.Float32 ? f32 : f64)(c, d, members, vars);
            for (int k = 0; k < members.Length; k++)
            {
                c.step = members[k];
                c.Forward(0, vars[k]);
            }
        }
        finally { c.step = leader; }
    };

    /// <summary>Splits the non-empty variables of a batch into launches of at most <paramref name="width"/> variables whose
    /// sizes add up to an int: <paramref name="launch"/> gets the members' indices and their end offsets in the
    /// concatenation (unused places repeat place 0 with an empty range).</summary>
    static void Chunks(CudaDevice d, NDArray[] vars, int width, Action<int[], int[]> launch)
    {
        var index = new int[width];
        var ends = new int[width];
        int used = 0, total = 0;
        void Flush()
        {
            if (used == 0) return;
            for (int j = used; j < width; j++) { index[j] = index[0]; ends[j] = total; }
            launch(index, ends);
            d.batchedLaunches++;
            d.batchedUpdates += used;
            used = 0;
            total = 0;
        }
        for (int m = 0; m < vars.Length; m++)
        {
            int n = vars[m].Size;
            if (n == 0) continue;
            if (used == width || total > int.MaxValue - n) Flush();
            index[used] = m;
            total += n;
            ends[used++] = total;
        }
        Flush();
    }

    static ArrayView<T> In<T>(KernelContext c, Plan.Step step, int input) where T : unmanaged =>
        CudaDevice.View<T>(c.frame.Values[step.Inputs[input]]!);

    /// <summary><paramref name="f"/> of the context as <paramref name="step"/>'s (its inputs, attrs and errors).</summary>
    static TR For<TR>(KernelContext c, Plan.Step step, Func<KernelContext, TR> f)
    {
        var was = c.step;
        c.step = step;
        try { return f(c); }
        finally { c.step = was; }
    }

    static int Nesterov(KernelContext c) => c.Attrs.Bool("use_nesterov", false) ? 1 : 0;

    static void GradientDescentLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.GradientDescentBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, SgdBatch<T>>(
            ApplyKernels.GradientDescentBatch<T>));
        Chunks(d, vars, SgdBatch<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j) => CudaDevice.View<T>(vars[ix[j]]);
            ArrayView<T> G(int j) => In<T>(c, members[ix[j]], 2);
            T A(int j) => For(c, members[ix[j]], cc => Sc<T>(cc, 1));
            var s = new SgdBatch<T>
            {
                E0 = e[0], E1 = e[1], E2 = e[2], E3 = e[3], E4 = e[4], E5 = e[5], A0 = A(0), A1 = A(1), A2 = A(2), A3 = A(3), A4 = A(4), A5 = A(5),
            };
            k(d.Stream, d.Config(e[^1]), V(0), G(0), V(1), G(1), V(2), G(2), V(3), G(3), V(4), G(4), V(5), G(5), s);
        });
    }

    /// <summary>Updates with three views per variable at inputs 0, 1 and 3 (var, accumulator, grad: Momentum, Adagrad),
    /// four variables per launch of <paramref name="kernel"/>, each with its <paramref name="scalars"/> and Nesterov flag.</summary>
    static void ThreeViewLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars,
        Action<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch4<T>> kernel, Func<KernelContext, ApplyScalars<T>> scalars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(kernel, a => a.LoadKernel(kernel));
        Chunks(d, vars, UpdateBatch4<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j) => For(c, members[ix[j]], scalars);
            int N(int j) => For(c, members[ix[j]], Nesterov);
            var s = new UpdateBatch4<T>
            {
                E0 = e[0], E1 = e[1], E2 = e[2], E3 = e[3], S0 = S(0), S1 = S(1), S2 = S(2), S3 = S(3), N0 = N(0), N1 = N(1), N2 = N(2), N3 = N(3),
            };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 3), V(1, 0), V(1, 1), V(1, 3), V(2, 0), V(2, 1), V(2, 3), V(3, 0), V(3, 1), V(3, 3), s);
        });
    }

    static void MomentumLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        ThreeViewLaunches(c, d, members, vars, ApplyKernels.MomentumBatch<T>, MomentumScalars<T>);

    static void AdagradLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T> =>
        ThreeViewLaunches(c, d, members, vars, ApplyKernels.AdagradBatch<T>, cc => new ApplyScalars<T> { A = Sc<T>(cc, 2) });

    static void AdamLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.AdamBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch3<T>>(
            ApplyKernels.AdamBatch<T>));
        Chunks(d, vars, UpdateBatch3<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j) => For(c, members[ix[j]], AdamScalars<T>);
            int N(int j) => For(c, members[ix[j]], Nesterov);
            var s = new UpdateBatch3<T> { E0 = e[0], E1 = e[1], E2 = e[2], S0 = S(0), S1 = S(1), S2 = S(2), N0 = N(0), N1 = N(1), N2 = N(2) };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 2), V(0, 9), V(1, 0), V(1, 1), V(1, 2), V(1, 9), V(2, 0), V(2, 1), V(2, 2), V(2, 9), s);
        });
    }

    /// <summary>ApplyRMSProp and ApplyCenteredRMSProp (one op per batch: <see cref="CanBatch"/> requires the same op);
    /// the centered one's mg is input 1, the plain one passes ms in its place (never read).</summary>
    static void RMSPropLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.RMSPropBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch2<T>>(ApplyKernels.RMSPropBatch<T>));
        int k0 = members[0].Node!.Def == ApplyOps.ApplyCenteredRMSProp ? 1 : 0;
        Chunks(d, vars, UpdateBatch2<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j) => For(c, members[ix[j]], cc => RMSPropScalars<T>(cc, k0));
            var s = new UpdateBatch2<T> { E0 = e[0], E1 = e[1], S0 = S(0), S1 = S(1), N0 = k0, N1 = k0 };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 1 + k0), V(0, 2 + k0), V(0, 7 + k0),
                V(1, 0), V(1, 1), V(1, 1 + k0), V(1, 2 + k0), V(1, 7 + k0), s);
        });
    }
}

internal static partial class ApplyKernels
{
    /// <summary><see cref="GradientDescent{T}"/> over up to six variables in one launch: element <c>i</c> of the
    /// concatenation belongs to the first variable whose end offset exceeds it (unused places repeat variable 0 with an
    /// empty range).</summary>
    public static void GradientDescentBatch<T>(ArrayView<T> v0, ArrayView<T> d0, ArrayView<T> v1, ArrayView<T> d1, ArrayView<T> v2,
        ArrayView<T> d2, ArrayView<T> v3, ArrayView<T> d3, ArrayView<T> v4, ArrayView<T> d4, ArrayView<T> v5, ArrayView<T> d5, SgdBatch<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.E5; i += Grid.DimX * Group.DimX)
        {
            if (i < s.E0) v0[i] = v0[i] - d0[i] * s.A0;
            else if (i < s.E1) { int j = i - s.E0; v1[j] = v1[j] - d1[j] * s.A1; }
            else if (i < s.E2) { int j = i - s.E1; v2[j] = v2[j] - d2[j] * s.A2; }
            else if (i < s.E3) { int j = i - s.E2; v3[j] = v3[j] - d3[j] * s.A3; }
            else if (i < s.E4) { int j = i - s.E3; v4[j] = v4[j] - d4[j] * s.A4; }
            else { int j = i - s.E4; v5[j] = v5[j] - d5[j] * s.A5; }
        }
    }

    /// <summary><see cref="Momentum{T}"/> over up to four variables in one launch (as <see cref="GradientDescentBatch{T}"/>).</summary>
    public static void MomentumBatch<T>(ArrayView<T> v0, ArrayView<T> a0, ArrayView<T> g0, ArrayView<T> v1, ArrayView<T> a1, ArrayView<T> g1,
        ArrayView<T> v2, ArrayView<T> a2, ArrayView<T> g2, ArrayView<T> v3, ArrayView<T> a3, ArrayView<T> g3, UpdateBatch4<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.E3; i += Grid.DimX * Group.DimX)
        {
            if (i < s.E0) MomentumAt(v0, a0, g0, i, s.S0, s.N0);
            else if (i < s.E1) MomentumAt(v1, a1, g1, i - s.E0, s.S1, s.N1);
            else if (i < s.E2) MomentumAt(v2, a2, g2, i - s.E1, s.S2, s.N2);
            else MomentumAt(v3, a3, g3, i - s.E2, s.S3, s.N3);
        }
    }

    /// <summary><see cref="Adagrad{T}"/> over up to four variables in one launch (S.A is each one's learning rate).</summary>
    public static void AdagradBatch<T>(ArrayView<T> v0, ArrayView<T> a0, ArrayView<T> g0, ArrayView<T> v1, ArrayView<T> a1, ArrayView<T> g1,
        ArrayView<T> v2, ArrayView<T> a2, ArrayView<T> g2, ArrayView<T> v3, ArrayView<T> a3, ArrayView<T> g3, UpdateBatch4<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.E3; i += Grid.DimX * Group.DimX)
        {
            if (i < s.E0) AdagradAt(v0, a0, g0, i, s.S0.A);
            else if (i < s.E1) AdagradAt(v1, a1, g1, i - s.E0, s.S1.A);
            else if (i < s.E2) AdagradAt(v2, a2, g2, i - s.E1, s.S2.A);
            else AdagradAt(v3, a3, g3, i - s.E2, s.S3.A);
        }
    }

    /// <summary><see cref="RMSProp{T}"/> over up to two variables in one launch.</summary>
    public static void RMSPropBatch<T>(ArrayView<T> x0, ArrayView<T> mg0, ArrayView<T> ms0, ArrayView<T> mo0, ArrayView<T> g0,
        ArrayView<T> x1, ArrayView<T> mg1, ArrayView<T> ms1, ArrayView<T> mo1, ArrayView<T> g1, UpdateBatch2<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.E1; i += Grid.DimX * Group.DimX)
        {
            if (i < s.E0) RMSPropAt(x0, mg0, ms0, mo0, g0, i, s.S0, s.N0);
            else RMSPropAt(x1, mg1, ms1, mo1, g1, i - s.E0, s.S1, s.N1);
        }
    }

    /// <summary><see cref="Adam{T}"/> over up to three variables in one launch (as <see cref="GradientDescentBatch{T}"/>).</summary>
    public static void AdamBatch<T>(ArrayView<T> x0, ArrayView<T> m0, ArrayView<T> v0, ArrayView<T> g0, ArrayView<T> x1, ArrayView<T> m1,
        ArrayView<T> v1, ArrayView<T> g1, ArrayView<T> x2, ArrayView<T> m2, ArrayView<T> v2, ArrayView<T> g2, UpdateBatch3<T> s)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < s.E2; i += Grid.DimX * Group.DimX)
        {
            if (i < s.E0) AdamAt(x0, m0, v0, g0, i, s.S0, s.N0);
            else if (i < s.E1) AdamAt(x1, m1, v1, g1, i - s.E0, s.S1, s.N1);
            else AdamAt(x2, m2, v2, g2, i - s.E1, s.S2, s.N2);
        }
    }
}
