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

/// <summary>GPU kernels of the variable ops and the fused optimizer updates (<see cref="ApplyOps"/>) on variables that
/// live on the GPU. Each element follows the CPU kernel's scalar loop term by term (same operations, same order, the
/// same explicit flush to zero of decaying accumulators); scalars are read on the host.</summary>
internal static partial class ApplyOp
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
        var s = MomentumScalars<T>(c);
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
        var s = RMSPropScalars<T>(c, k0);
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

    /// <summary>Momentum's constants: A = lr, B = momentum.</summary>
    static ApplyScalars<T> MomentumScalars<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T> =>
        new() { A = Sc<T>(c, 2), B = Sc<T>(c, 4), MinNormal = MinNormal<T>() };

    /// <summary>The RMSProps' constants (<paramref name="k0"/> 1 for the centered one, whose mg input comes first): A = lr,
    /// B = 1 - rho, C = momentum, D = epsilon.</summary>
    static ApplyScalars<T> RMSPropScalars<T>(KernelContext c, int k0) where T : unmanaged, IFloatingPointIeee754<T> =>
        new() { A = Sc<T>(c, 3 + k0), B = T.One - Sc<T>(c, 4 + k0), C = Sc<T>(c, 5 + k0), D = Sc<T>(c, 6 + k0), MinNormal = MinNormal<T>() };

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
internal static partial class ApplyKernels
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

}
