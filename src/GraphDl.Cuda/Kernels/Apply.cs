using System.Numerics;
using System.Reflection;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;

namespace GraphDl.Cuda.Kernels;

/// <summary>The scalars of one optimizer update, computed on the host as the CPU kernel computes them.</summary>
public struct ApplyScalars<T> where T : unmanaged
{
    /// <summary>Per-op constants (see each kernel); <see cref="MinNormal"/> is the flush-to-zero threshold.</summary>
    public T A, B, C, D, E, MinNormal;
}

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

/// <summary>GPU kernels of the variable ops and the fused optimizer updates (<see cref="ApplyOps"/>) on variables that
/// live on the GPU. Each element follows the CPU kernel's scalar loop term by term (same operations, same order, the
/// same explicit flush to zero of decaying accumulators); scalars are read on the host.</summary>
internal static class ApplyOp
{
    /// <summary>The VariableV2 kernel: forwards the session's value (null when uninitialized: a reader fails naming it).</summary>
    public static void Variable(KernelContext c, CudaDevice d)
    {
        var s = c.Session;
        if (!s.IsInitialized(c.Node)) { c.Forward(0, null!); return; }
        var v = s.ReadVariable(c.Node);
        // A value written while the variable lived elsewhere (not expected: placement is fixed per session) moves here.
        if (v.device != d) v = s.WriteVariable(c.Node, v.device == null ? v : CopyOut(v));
        c.Forward(0, v);
    }

    static NDArray CopyOut(NDArray v)
    {
        var host = NDArray.Zeros(v.DType, v.Dims.ToArray());
        v.device!.CopyOut(v, host);
        return host;
    }

    public static void Assign(KernelContext c, CudaDevice d)
    {
        var v = c.Node.Inputs[0].Op;
        var value = c.Input(1);
        if (!c.Node.Inputs[0].Shape.Accepts(value.Dims))
            throw c.Error($"cannot assign a value of shape {Shape.Format(value.Dims)} to variable '{v.Name}' of shape {c.Node.Inputs[0].Shape}");
        c.Forward(0, c.Session.WriteVariable(v, value));
    }

    public static GpuKernel Update(int sign) => (c, d) =>
    {
        var cur = c.Input(0);
        var x = c.Input(1);
        if (x.Size != cur.Size) throw c.Error($"value of shape {Shape.Format(x.Dims)} for variable of shape {Shape.Format(cur.Dims)}");
        switch (cur.DType)
        {
            case DType.Float32: Axpy<float>(d, cur, x, sign); break;
            case DType.Float64: Axpy<double>(d, cur, x, sign); break;
            case DType.Int32: Axpy<int>(d, cur, x, sign); break;
            case DType.Int64: Axpy<long>(d, cur, x, sign); break;
            default: throw c.Error($"{cur.DType.Name()} is not supported");
        }
        c.Forward(0, cur);
    };

    static void Axpy<T>(CudaDevice d, NDArray cur, NDArray x, int sign) where T : unmanaged, INumber<T>
    {
        if (cur.Size == 0) return;
        var k = d.Load(ApplyKernels.AddSub<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, int, int>(ApplyKernels.AddSub<T>));
        k(d.Stream, d.Config(cur.Size), CudaDevice.View<T>(cur), CudaDevice.View<T>(x), cur.Size, sign);
    }

    /// <summary>The scalar inputs of each Apply op (read on the host).</summary>
    public static int[] ScalarInputs(OpDef op)
    {
        var names = ApplyOps.InputNames[op.Name];
        return Enumerable.Range(0, names.Length).Where(i => !ApplyOps.IsTensorInput(names, op.RefInputs, i)).ToArray();
    }

    /// <summary>Validates as the CPU kernel does, then runs <paramref name="run"/> for the input's dtype.</summary>
    public static GpuKernel Apply(OpDef op, Action<KernelContext, CudaDevice, NDArray> f32, Action<KernelContext, CudaDevice, NDArray> f64)
    {
        return (c, d) =>
        {
            var v = Validate(c);
            int n = v.Size;
            if (n > 0)
            {
                if (v.DType == DType.Float32) f32(c, d, v);
                else if (v.DType == DType.Float64) f64(c, d, v);
                else throw c.Error($"{v.DType.Name()} is not supported");
            }
            c.Forward(0, v);
        };
    }

    /// <summary>The checks of the CPU kernel: every tensor input the variable's size, every other input a scalar. Returns
    /// the variable's value.</summary>
    static NDArray Validate(KernelContext c)
    {
        var op = c.Node.Def;
        var inputs = ApplyOps.InputNames[op.Name];
        var v = c.Input(0);
        for (int i = 1; i < inputs.Length; i++)
        {
            var x = c.Input(i);
            bool tensor = ApplyOps.IsTensorInput(inputs, op.RefInputs, i);
            if (tensor && x.Size != v.Size)
                throw c.Error($"{inputs[i]} has shape {Shape.Format(x.Dims)} but var '{c.Node.Inputs[0].Op.Name}' has shape {Shape.Format(v.Dims)}");
            if (!tensor && x.Size != 1)
                throw c.Error($"{inputs[i]} is not a scalar: {Shape.Format(x.Dims)}");
        }
        return v;
    }

    // ---- batched updates (a multi-tensor apply) -----------------------------------------------------------------

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

    static T Scalar<T>(KernelContext c, Plan.Step step, int input) where T : unmanaged => c.frame.Values[step.Inputs[input]]!.AsSpan<T>()[0];

    static int Nesterov(Plan.Step step) => step.Node!.Attrs.Bool("use_nesterov", false) ? 1 : 0;

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
            T A(int j) => Scalar<T>(c, members[ix[j]], 1);
            var s = new SgdBatch<T>
            {
                E0 = e[0], E1 = e[1], E2 = e[2], E3 = e[3], E4 = e[4], E5 = e[5], A0 = A(0), A1 = A(1), A2 = A(2), A3 = A(3), A4 = A(4), A5 = A(5),
            };
            k(d.Stream, d.Config(e[^1]), V(0), G(0), V(1), G(1), V(2), G(2), V(3), G(3), V(4), G(4), V(5), G(5), s);
        });
    }

    static void MomentumLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.MomentumBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch4<T>>(
            ApplyKernels.MomentumBatch<T>));
        Chunks(d, vars, UpdateBatch4<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j) => new() { A = Scalar<T>(c, members[ix[j]], 2), B = Scalar<T>(c, members[ix[j]], 4), MinNormal = MinNormal<T>() };
            int N(int j) => Nesterov(members[ix[j]]);
            var s = new UpdateBatch4<T>
            {
                E0 = e[0], E1 = e[1], E2 = e[2], E3 = e[3], S0 = S(0), S1 = S(1), S2 = S(2), S3 = S(3), N0 = N(0), N1 = N(1), N2 = N(2), N3 = N(3),
            };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 3), V(1, 0), V(1, 1), V(1, 3), V(2, 0), V(2, 1), V(2, 3), V(3, 0), V(3, 1), V(3, 3), s);
        });
    }

    static void AdamLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.AdamBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch3<T>>(
            ApplyKernels.AdamBatch<T>));
        var leader = c.step;
        Chunks(d, vars, UpdateBatch3<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j)
            {
                c.step = members[ix[j]];
                try { return AdamScalars<T>(c); }
                finally { c.step = leader; }
            }
            int N(int j) => Nesterov(members[ix[j]]);
            var s = new UpdateBatch3<T> { E0 = e[0], E1 = e[1], E2 = e[2], S0 = S(0), S1 = S(1), S2 = S(2), N0 = N(0), N1 = N(1), N2 = N(2) };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 2), V(0, 9), V(1, 0), V(1, 1), V(1, 2), V(1, 9), V(2, 0), V(2, 1), V(2, 2), V(2, 9), s);
        });
    }

    static void AdagradLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.AdagradBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch4<T>>(
            ApplyKernels.AdagradBatch<T>));
        Chunks(d, vars, UpdateBatch4<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j) => new() { A = Scalar<T>(c, members[ix[j]], 2) };
            var s = new UpdateBatch4<T> { E0 = e[0], E1 = e[1], E2 = e[2], E3 = e[3], S0 = S(0), S1 = S(1), S2 = S(2), S3 = S(3) };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 3), V(1, 0), V(1, 1), V(1, 3), V(2, 0), V(2, 1), V(2, 3), V(3, 0), V(3, 1), V(3, 3), s);
        });
    }

    /// <summary>ApplyRMSProp and ApplyCenteredRMSProp (one op per batch: <see cref="CanBatch"/> requires the same op);
    /// the centered one's mg is input 1, the plain one passes ms in its place (never read).</summary>
    static void RMSPropLaunches<T>(KernelContext c, CudaDevice d, Plan.Step[] members, NDArray[] vars)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.RMSPropBatch<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>,
            ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, UpdateBatch2<T>>(ApplyKernels.RMSPropBatch<T>));
        bool centered = members[0].Node!.Def == ApplyOps.ApplyCenteredRMSProp;
        int k0 = centered ? 1 : 0;
        Chunks(d, vars, UpdateBatch2<T>.Width, (ix, e) =>
        {
            ArrayView<T> V(int j, int input) => In<T>(c, members[ix[j]], input);
            ApplyScalars<T> S(int j)
            {
                var m = members[ix[j]];
                return new()
                {
                    A = Scalar<T>(c, m, 3 + k0), B = T.One - Scalar<T>(c, m, 4 + k0), C = Scalar<T>(c, m, 5 + k0), D = Scalar<T>(c, m, 6 + k0),
                    MinNormal = MinNormal<T>(),
                };
            }
            var s = new UpdateBatch2<T> { E0 = e[0], E1 = e[1], S0 = S(0), S1 = S(1), N0 = k0, N1 = k0 };
            k(d.Stream, d.Config(e[^1]), V(0, 0), V(0, 1), V(0, 1 + k0), V(0, 2 + k0), V(0, 7 + k0),
                V(1, 0), V(1, 1), V(1, 1 + k0), V(1, 2 + k0), V(1, 7 + k0), s);
        });
    }

    static T Sc<T>(KernelContext c, int i) where T : unmanaged => c.Input(i).AsSpan<T>()[0];
    static ArrayView<T> V<T>(KernelContext c, int i) where T : unmanaged => CudaDevice.View<T>(c.Input(i));

    static T MinNormal<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
        typeof(T) == typeof(float) ? (T)(object)1.17549435E-38f : (T)(object)2.2250738585072014E-308;

    public static void GradientDescent<T>(KernelContext c, CudaDevice d, NDArray var) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.GradientDescent<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, int, T>(ApplyKernels.GradientDescent<T>));
        k(d.Stream, d.Config(var.Size), V<T>(c, 0), V<T>(c, 2), var.Size, Sc<T>(c, 1));
    }

    public static void Momentum<T>(KernelContext c, CudaDevice d, NDArray var) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = new ApplyScalars<T> { A = Sc<T>(c, 2), B = Sc<T>(c, 4), MinNormal = MinNormal<T>() };
        int nesterov = c.Attrs.Bool("use_nesterov", false) ? 1 : 0;
        var k = d.Load(ApplyKernels.Momentum<T>,
            a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, ApplyScalars<T>, int>(ApplyKernels.Momentum<T>));
        k(d.Stream, d.Config(var.Size), V<T>(c, 0), V<T>(c, 1), V<T>(c, 3), var.Size, s, nesterov);
    }

    public static void Adagrad<T>(KernelContext c, CudaDevice d, NDArray var) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var k = d.Load(ApplyKernels.Adagrad<T>, a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, int, T>(ApplyKernels.Adagrad<T>));
        k(d.Stream, d.Config(var.Size), V<T>(c, 0), V<T>(c, 1), V<T>(c, 3), var.Size, Sc<T>(c, 2));
    }

    public static void RMSProp<T>(KernelContext c, CudaDevice d, NDArray var, bool centered) where T : unmanaged, IFloatingPointIeee754<T>
    {
        int k0 = centered ? 1 : 0;
        var s = new ApplyScalars<T>
        {
            A = Sc<T>(c, 3 + k0), B = T.One - Sc<T>(c, 4 + k0), C = Sc<T>(c, 5 + k0), D = Sc<T>(c, 6 + k0), MinNormal = MinNormal<T>(),
        };
        var ms = V<T>(c, 1 + k0);
        var k = d.Load(ApplyKernels.RMSProp<T>,
            a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, ApplyScalars<T>, int>(ApplyKernels.RMSProp<T>));
        k(d.Stream, d.Config(var.Size), V<T>(c, 0), centered ? V<T>(c, 1) : ms, ms, V<T>(c, 2 + k0), V<T>(c, 7 + k0), var.Size, s, centered ? 1 : 0);
    }

    public static void Adam<T>(KernelContext c, CudaDevice d, NDArray var) where T : unmanaged, IFloatingPointIeee754<T>
    {
        var s = AdamScalars<T>(c);
        int nesterov = c.Attrs.Bool("use_nesterov", false) ? 1 : 0;
        var k = d.Load(ApplyKernels.Adam<T>,
            a => a.LoadKernel<ArrayView<T>, ArrayView<T>, ArrayView<T>, ArrayView<T>, int, ApplyScalars<T>, int>(ApplyKernels.Adam<T>));
        k(d.Stream, d.Config(var.Size), V<T>(c, 0), V<T>(c, 1), V<T>(c, 2), V<T>(c, 9), var.Size, s, nesterov);
    }

    /// <summary>Adam's per-update constants from its scalar inputs, as the CPU kernel computes them (alpha in T on the host).</summary>
    static ApplyScalars<T> AdamScalars<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T b1p = Sc<T>(c, 3), b2p = Sc<T>(c, 4), lr = Sc<T>(c, 5), b1 = Sc<T>(c, 6), b2 = Sc<T>(c, 7), eps = Sc<T>(c, 8);
        T alpha = lr * T.Sqrt(T.One - b2p) / (T.One - b1p);
        return new ApplyScalars<T> { A = alpha, B = T.One - b1, C = T.One - b2, D = b1, E = eps, MinNormal = MinNormal<T>() };
    }

    public static IEnumerable<MethodInfo> Kernels()
    {
        yield return ((Delegate)ApplyKernels.AddSub<float>).Method;
        yield return ((Delegate)ApplyKernels.AddSub<double>).Method;
        yield return ((Delegate)ApplyKernels.AddSub<int>).Method;
        yield return ((Delegate)ApplyKernels.AddSub<long>).Method;
        foreach (var m in Of<float>().Concat(Of<double>())) yield return m;
    }

    static IEnumerable<MethodInfo> Of<T>() where T : unmanaged, IFloatingPointIeee754<T>
    {
        yield return ((Delegate)ApplyKernels.GradientDescent<T>).Method;
        yield return ((Delegate)ApplyKernels.GradientDescentBatch<T>).Method;
        yield return ((Delegate)ApplyKernels.Momentum<T>).Method;
        yield return ((Delegate)ApplyKernels.MomentumBatch<T>).Method;
        yield return ((Delegate)ApplyKernels.AdamBatch<T>).Method;
        yield return ((Delegate)ApplyKernels.AdagradBatch<T>).Method;
        yield return ((Delegate)ApplyKernels.RMSPropBatch<T>).Method;
        yield return ((Delegate)ApplyKernels.Adagrad<T>).Method;
        yield return ((Delegate)ApplyKernels.RMSProp<T>).Method;
        yield return ((Delegate)ApplyKernels.Adam<T>).Method;
    }
}

/// <summary>The device code: one element per thread (grid-stride). Each reads every input of its element before
/// writing (a gradient may alias the variable, as on the CPU).</summary>
internal static class ApplyKernels
{
    static T Ftz<T>(T x, T minNormal) where T : unmanaged, IFloatingPointIeee754<T> =>
        (x < T.Zero ? -x : x) < minNormal ? T.Zero : x;

    /// <summary>x += d (sign 1) or x -= d.</summary>
    public static void AddSub<T>(ArrayView<T> x, ArrayView<T> d, int n, int sign) where T : unmanaged, INumber<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            x[i] = sign > 0 ? x[i] + d[i] : x[i] - d[i];
    }

    /// <summary><c>var -= delta * alpha</c>.</summary>
    public static void GradientDescent<T>(ArrayView<T> var, ArrayView<T> delta, int n, T alpha) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            var[i] = var[i] - delta[i] * alpha;
    }

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

    /// <summary>A = lr, B = momentum.</summary>
    public static void Momentum<T>(ArrayView<T> var, ArrayView<T> accum, ArrayView<T> grad, int n, ApplyScalars<T> s, int nesterov)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            MomentumAt(var, accum, grad, i, s, nesterov);
    }

    static void MomentumAt<T>(ArrayView<T> var, ArrayView<T> accum, ArrayView<T> grad, int i, ApplyScalars<T> s, int nesterov)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T g = grad[i];
        T a = Ftz(accum[i] * s.B + g, s.MinNormal);
        T x = var[i];
        accum[i] = a;
        var[i] = x - (nesterov != 0 ? g * s.A + a * s.B * s.A : a * s.A);
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

    public static void Adagrad<T>(ArrayView<T> var, ArrayView<T> accum, ArrayView<T> grad, int n, T lr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            AdagradAt(var, accum, grad, i, lr);
    }

    static void AdagradAt<T>(ArrayView<T> var, ArrayView<T> accum, ArrayView<T> grad, int i, T lr) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T g = grad[i];
        T a = accum[i] + g * g;
        T x = var[i];
        accum[i] = a;
        var[i] = x - g * lr * (T.One / T.Sqrt(a));
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

    /// <summary>A = lr, B = 1 - rho, C = momentum, D = epsilon; <paramref name="mg"/> is read only when centered.</summary>
    public static void RMSProp<T>(ArrayView<T> var, ArrayView<T> mg, ArrayView<T> ms, ArrayView<T> mom, ArrayView<T> grad, int n,
        ApplyScalars<T> s, int centered) where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            RMSPropAt(var, mg, ms, mom, grad, i, s, centered);
    }

    static void RMSPropAt<T>(ArrayView<T> var, ArrayView<T> mg, ArrayView<T> ms, ArrayView<T> mom, ArrayView<T> grad, int i,
        ApplyScalars<T> s, int centered) where T : unmanaged, IFloatingPointIeee754<T>
    {
        T g = grad[i];
        T sq = ms[i];
        sq = Ftz(sq + (g * g - sq) * s.B, s.MinNormal);
        T denom = sq + s.D;
        T x = var[i];
        T mo0 = mom[i];
        if (centered != 0)
        {
            T m = mg[i];
            m = Ftz(m + (g - m) * s.B, s.MinNormal);
            mg[i] = m;
            denom = sq - m * m + s.D;
        }
        T mo = Ftz(mo0 * s.C + g * s.A / T.Sqrt(denom), s.MinNormal);
        ms[i] = sq;
        mom[i] = mo;
        var[i] = x - mo;
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

    /// <summary>A = alpha (lr √(1 - β₂ᵗ) / (1 - β₁ᵗ)), B = 1 - β₁, C = 1 - β₂, D = β₁, E = epsilon.</summary>
    public static void Adam<T>(ArrayView<T> var, ArrayView<T> m, ArrayView<T> v, ArrayView<T> grad, int n, ApplyScalars<T> s, int nesterov)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int i = Grid.GlobalIndex.X; i < n; i += Grid.DimX * Group.DimX)
            AdamAt(var, m, v, grad, i, s, nesterov);
    }

    static void AdamAt<T>(ArrayView<T> var, ArrayView<T> m, ArrayView<T> v, ArrayView<T> grad, int i, ApplyScalars<T> s, int nesterov)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        T g = grad[i];
        T mm = m[i]; mm = Ftz(mm + (g - mm) * s.B, s.MinNormal);
        T vv = v[i]; vv = Ftz(vv + (g * g - vv) * s.C, s.MinNormal);
        T x = var[i];
        T num = nesterov != 0 ? g * s.B + s.D * mm : mm;
        m[i] = mm;
        v[i] = vv;
        var[i] = x - num * s.A / (T.Sqrt(vv) + s.E);
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
