using System.Numerics;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>TF1's fused optimizer updates (<c>training_ops</c>). Inputs named like TF's ops; the first ones are variable
    /// refs updated in place in the session, the rest are a scalar hyperparameter or the gradient. Each outputs the
    /// updated variable. Formulas follow TF's CPU functors term by term.</summary>
    /// <remarks>A gradient may alias the variable it updates (d(w²/2)/dw is <c>w</c>'s own buffer): every kernel reads all
    /// inputs of an element (or vector) before writing it, so exact aliasing is safe.</remarks>
    public static class ApplyOps
    {
        // Declared first: the op fields below register into it as they initialize.
        /// <summary>Each op's input names (TF's), for other devices' kernels that validate as the CPU kernel does.</summary>
        internal static readonly Dictionary<string, string[]> InputNames = [];

        /// <summary><c>var -= alpha * delta</c>.</summary>
        public static readonly OpDef ApplyGradientDescent = Def("ApplyGradientDescent", ["var", "alpha", "delta"], refs: 1,
            c => { if (F32(c)) GradientDescent<float>(c); else GradientDescent<double>(c); });

        /// <summary><c>accum = accum * momentum + grad; var -= lr * accum</c>, or with <c>use_nesterov</c>
        /// <c>var -= grad * lr + accum * momentum * lr</c>.</summary>
        public static readonly OpDef ApplyMomentum = Def("ApplyMomentum", ["var", "accum", "lr", "grad", "momentum"], refs: 2,
            c => { if (F32(c)) Momentum<float>(c); else Momentum<double>(c); });

        /// <summary><c>accum += grad²; var -= grad * lr / √accum</c>.</summary>
        public static readonly OpDef ApplyAdagrad = Def("ApplyAdagrad", ["var", "accum", "lr", "grad"], refs: 2,
            c => { if (F32(c)) Adagrad<float>(c); else Adagrad<double>(c); });

        /// <summary><c>ms += (grad² - ms)(1 - rho); mom = mom * momentum + grad * lr / √(ms + epsilon); var -= mom</c>.</summary>
        public static readonly OpDef ApplyRMSProp = Def("ApplyRMSProp", ["var", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"], refs: 3,
            c => { if (F32(c)) RMSProp<float>(c, centered: false); else RMSProp<double>(c, centered: false); });

        /// <summary>RMSProp normalized by the centered second moment: <c>mg += (grad - mg)(1 - rho)</c>, and the
        /// denominator is <c>√(ms - mg² + epsilon)</c>.</summary>
        public static readonly OpDef ApplyCenteredRMSProp = Def("ApplyCenteredRMSProp",
            ["var", "mg", "ms", "mom", "lr", "rho", "momentum", "epsilon", "grad"], refs: 4,
            c => { if (F32(c)) RMSProp<float>(c, centered: true); else RMSProp<double>(c, centered: true); });

        /// <summary><c>lr_t = lr √(1 - beta2_power) / (1 - beta1_power); m += (grad - m)(1 - beta1); v += (grad² - v)(1 - beta2);
        /// var -= lr_t m / (√v + epsilon)</c> (with <c>use_nesterov</c>, <c>m</c> in the last step becomes
        /// <c>grad (1 - beta1) + beta1 m</c>). The beta powers are inputs; the optimizer updates them after.</summary>
        public static readonly OpDef ApplyAdam = Def("ApplyAdam",
            ["var", "m", "v", "beta1_power", "beta2_power", "lr", "beta1", "beta2", "epsilon", "grad"], refs: 3,
            c => { if (F32(c)) Adam<float>(c); else Adam<double>(c); });

        static OpDef Def(string name, string[] inputs, int refs, CpuKernel run)
        {
            InputNames[name] = inputs;
            return DefCore(name, inputs, refs, run);
        }

        /// <summary>True if input <paramref name="i"/> of an Apply op is a tensor of the variable's shape (a ref or the
        /// gradient), false for a scalar hyperparameter.</summary>
        internal static bool IsTensorInput(string[] inputs, int refs, int i) => i < refs || inputs[i] is "grad" or "delta";

        static OpDef DefCore(string name, string[] inputs, int refs, CpuKernel run) => new()
        {
            Name = name, Grad = null, Stateful = true, Aliases = true, RefInputs = refs,
            Infer = c => Infer(c, inputs, refs),
            Cpu = c =>
            {
                var v = c.Input(0);
                int n = v.Size;
                for (int i = 1; i < inputs.Length; i++)
                {
                    var x = c.Input(i);
                    bool tensor = i < refs || inputs[i] is "grad" or "delta";
                    if (tensor && x.Size != n)
                        throw c.Error($"{inputs[i]} has shape {Shape.Format(x.Dims)} but var '{c.Node.Inputs[0].Op.Name}' has shape {Shape.Format(v.Dims)}");
                    if (!tensor && x.Size != 1)
                        throw c.Error($"{inputs[i]} is not a scalar: {Shape.Format(x.Dims)}");
                }
                run(c);
                c.Forward(0, v);
            },
        };

        static OutputSpec[] Infer(InferContext c, string[] names, int refs)
        {
            if (c.Inputs.Length != names.Length)
                throw new ShapeError($"expects {names.Length} inputs ({string.Join(", ", names)}), got {c.Inputs.Length}");
            var t = c.DType(0);
            if (!t.IsFloating()) throw new ShapeError($"var must be float32 or float64, got {t.Name()}");
            var shape = c.Shape(0);
            for (int i = 0; i < names.Length; i++)
            {
                if (i < refs && c.Inputs[i].Op.Type != "VariableV2")
                    throw new ShapeError($"input {i} ({names[i]}) must be a variable, got {c.Inputs[i].Op}");
                if (c.DType(i) != t)
                    throw new ShapeError($"{names[i]} has dtype {c.DType(i).Name()}, var has dtype {t.Name()}");
                bool tensor = i < refs || names[i] is "grad" or "delta";
                if (tensor && !c.Shape(i).IsCompatibleWith(shape))
                    throw new ShapeError($"{names[i]} shape {c.Shape(i)} differs from var shape {shape}");
                if (!tensor && c.Shape(i).HasRank && c.Shape(i).Rank != 0)
                    throw new ShapeError($"{names[i]} is not a scalar: {c.Shape(i)}");
            }
            return InferContext.One(t, shape);
        }

        static bool F32(KernelContext c) => c.Input(0).DType == DType.Float32;

        static Span<T> S<T>(KernelContext c, int i) => c.Input(i).AsSpan<T>();
        static T Sc<T>(KernelContext c, int i) => c.Input(i).AsSpan<T>()[0];
        static Vector<T> L<T>(Span<T> s, int i) => new(s[i..]);

        static void GradientDescent<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var var = S<T>(c, 0); var delta = S<T>(c, 2);
            T alpha = Sc<T>(c, 1);
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                var va = new Vector<T>(alpha);
                for (; i <= var.Length - w; i += w) (L(var, i) - L(delta, i) * va).CopyTo(var[i..]);
            }
            for (; i < var.Length; i++) var[i] -= delta[i] * alpha;
        }

        // NOTE: decaying accumulators (momentum, RMSProp and Adam moments) sink into subnormal numbers when a gradient stays
        // at 0 (a dead ReLU unit), and x86 arithmetic on subnormals is about 100x slower. TF runs its kernels with
        // flush-to-zero; .NET cannot set the FPU mode, so these accumulators are flushed to 0 explicitly.
        static T MinNormal<T>() where T : unmanaged, IFloatingPointIeee754<T> =>
            typeof(T) == typeof(float) ? (T)(object)1.17549435E-38f : (T)(object)2.2250738585072014E-308;

        static T Ftz<T>(T x) where T : unmanaged, IFloatingPointIeee754<T> => T.Abs(x) < MinNormal<T>() ? T.Zero : x;

        static Vector<T> Ftz<T>(Vector<T> x) where T : unmanaged, IFloatingPointIeee754<T> =>
            Vector.ConditionalSelect(Vector.LessThan(Vector.Abs(x), new Vector<T>(MinNormal<T>())), Vector<T>.Zero, x);

        static void Momentum<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var var = S<T>(c, 0); var accum = S<T>(c, 1); var grad = S<T>(c, 3);
            T lr = Sc<T>(c, 2), mu = Sc<T>(c, 4);
            bool nesterov = c.Attrs.Bool("use_nesterov", false);
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vlr = new(lr), vmu = new(mu);
                for (; i <= var.Length - w; i += w)
                {
                    var g = L(grad, i);
                    var a = Ftz(L(accum, i) * vmu + g);
                    var x = nesterov ? L(var, i) - (g * vlr + a * vmu * vlr) : L(var, i) - a * vlr;
                    a.CopyTo(accum[i..]);
                    x.CopyTo(var[i..]);
                }
            }
            for (; i < var.Length; i++)
            {
                T g = grad[i];
                T a = Ftz(accum[i] * mu + g);
                accum[i] = a;
                var[i] -= nesterov ? g * lr + a * mu * lr : a * lr;
            }
        }

        static void Adagrad<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var var = S<T>(c, 0); var accum = S<T>(c, 1); var grad = S<T>(c, 3);
            T lr = Sc<T>(c, 2);
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vlr = new(lr);
                for (; i <= var.Length - w; i += w)
                {
                    var g = L(grad, i);
                    var a = L(accum, i) + g * g;
                    var x = L(var, i) - g * vlr * (Vector<T>.One / Vector.SquareRoot(a));
                    a.CopyTo(accum[i..]);
                    x.CopyTo(var[i..]);
                }
            }
            for (; i < var.Length; i++)
            {
                T g = grad[i];
                T a = accum[i] + g * g;
                accum[i] = a;
                var[i] -= g * lr * (T.One / T.Sqrt(a));
            }
        }

        static void RMSProp<T>(KernelContext c, bool centered) where T : unmanaged, IFloatingPointIeee754<T>
        {
            int k = centered ? 1 : 0;
            var var = S<T>(c, 0); var ms = S<T>(c, 1 + k); var mom = S<T>(c, 2 + k); var grad = S<T>(c, 7 + k);
            var mg = centered ? S<T>(c, 1) : default;
            T lr = Sc<T>(c, 3 + k), rho = Sc<T>(c, 4 + k), mu = Sc<T>(c, 5 + k), eps = Sc<T>(c, 6 + k);
            T oneMinusRho = T.One - rho;
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> vlr = new(lr), vmu = new(mu), veps = new(eps), vr = new(oneMinusRho);
                for (; i <= var.Length - w; i += w)
                {
                    var g = L(grad, i);
                    var s = L(ms, i);
                    s = Ftz(s + (g * g - s) * vr);
                    var denom = s + veps;
                    if (centered)
                    {
                        var m = L(mg, i);
                        m = Ftz(m + (g - m) * vr);
                        m.CopyTo(mg[i..]);
                        denom = s - m * m + veps;
                    }
                    var mo = Ftz(L(mom, i) * vmu + g * vlr / Vector.SquareRoot(denom));
                    var x = L(var, i) - mo;
                    s.CopyTo(ms[i..]);
                    mo.CopyTo(mom[i..]);
                    x.CopyTo(var[i..]);
                }
            }
            for (; i < var.Length; i++)
            {
                T g = grad[i];
                T s = ms[i];
                s = Ftz(s + (g * g - s) * oneMinusRho);
                T denom = s + eps;
                if (centered)
                {
                    T m = mg[i];
                    m = Ftz(m + (g - m) * oneMinusRho);
                    mg[i] = m;
                    denom = s - m * m + eps;
                }
                T mo = Ftz(mom[i] * mu + g * lr / T.Sqrt(denom));
                ms[i] = s;
                mom[i] = mo;
                var[i] -= mo;
            }
        }

        static void Adam<T>(KernelContext c) where T : unmanaged, IFloatingPointIeee754<T>
        {
            var var = S<T>(c, 0); var m = S<T>(c, 1); var v = S<T>(c, 2); var grad = S<T>(c, 9);
            T b1p = Sc<T>(c, 3), b2p = Sc<T>(c, 4), lr = Sc<T>(c, 5), b1 = Sc<T>(c, 6), b2 = Sc<T>(c, 7), eps = Sc<T>(c, 8);
            bool nesterov = c.Attrs.Bool("use_nesterov", false);
            T alpha = lr * T.Sqrt(T.One - b2p) / (T.One - b1p);
            T c1 = T.One - b1, c2 = T.One - b2;
            int i = 0, w = Vector<T>.Count;
            if (Vector.IsHardwareAccelerated)
            {
                Vector<T> va = new(alpha), vc1 = new(c1), vc2 = new(c2), vb1 = new(b1), veps = new(eps);
                for (; i <= var.Length - w; i += w)
                {
                    var g = L(grad, i);
                    var mm = L(m, i); mm = Ftz(mm + (g - mm) * vc1);
                    var vv = L(v, i); vv = Ftz(vv + (g * g - vv) * vc2);
                    var num = nesterov ? g * vc1 + vb1 * mm : mm;
                    var x = L(var, i) - num * va / (Vector.SquareRoot(vv) + veps);
                    mm.CopyTo(m[i..]);
                    vv.CopyTo(v[i..]);
                    x.CopyTo(var[i..]);
                }
            }
            for (; i < var.Length; i++)
            {
                T g = grad[i];
                T mm = m[i]; mm = Ftz(mm + (g - mm) * c1);
                T vv = v[i]; vv = Ftz(vv + (g * g - vv) * c2);
                T num = nesterov ? g * c1 + b1 * mm : mm;
                m[i] = mm;
                v[i] = vv;
                var[i] -= num * alpha / (T.Sqrt(vv) + eps);
            }
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for the fused optimizer updates; each returns the updated variable (run it for its effect).</summary>
    public static class ApplyBuilders
    {
        static Tensor Apply(Graph g, OpDef def, Tensor[] inputs, Attrs? attrs, string? name) => g.Add1(def, inputs, attrs, name);

        /// <summary><c>var -= alpha * delta</c> (TF1's <c>apply_gradient_descent</c>).</summary>
        public static Tensor ApplyGradientDescent(this Graph g, Variable var, Tensor alpha, Tensor delta, string? name = null) =>
            Apply(g, ApplyOps.ApplyGradientDescent, [var.Ref, alpha, delta], null, name);

        /// <summary>Momentum update (TF1's <c>apply_momentum</c>).</summary>
        public static Tensor ApplyMomentum(this Graph g, Variable var, Variable accum, Tensor lr, Tensor grad, Tensor momentum,
            bool useNesterov = false, string? name = null) =>
            Apply(g, ApplyOps.ApplyMomentum, [var.Ref, accum.Ref, lr, grad, momentum], new Attrs { ["use_nesterov"] = useNesterov }, name);

        /// <summary>Adagrad update (TF1's <c>apply_adagrad</c>).</summary>
        public static Tensor ApplyAdagrad(this Graph g, Variable var, Variable accum, Tensor lr, Tensor grad, string? name = null) =>
            Apply(g, ApplyOps.ApplyAdagrad, [var.Ref, accum.Ref, lr, grad], null, name);

        /// <summary>RMSProp update (TF1's <c>apply_rms_prop</c>).</summary>
        public static Tensor ApplyRMSProp(this Graph g, Variable var, Variable ms, Variable mom, Tensor lr, Tensor rho, Tensor momentum,
            Tensor epsilon, Tensor grad, string? name = null) =>
            Apply(g, ApplyOps.ApplyRMSProp, [var.Ref, ms.Ref, mom.Ref, lr, rho, momentum, epsilon, grad], null, name);

        /// <summary>Centered RMSProp update (TF1's <c>apply_centered_rms_prop</c>).</summary>
        public static Tensor ApplyCenteredRMSProp(this Graph g, Variable var, Variable mg, Variable ms, Variable mom, Tensor lr, Tensor rho,
            Tensor momentum, Tensor epsilon, Tensor grad, string? name = null) =>
            Apply(g, ApplyOps.ApplyCenteredRMSProp, [var.Ref, mg.Ref, ms.Ref, mom.Ref, lr, rho, momentum, epsilon, grad], null, name);

        /// <summary>Adam update (TF1's <c>apply_adam</c>); <paramref name="beta1Power"/> and <paramref name="beta2Power"/> are
        /// β₁ᵗ and β₂ᵗ for the current step.</summary>
        public static Tensor ApplyAdam(this Graph g, Variable var, Variable m, Variable v, Tensor beta1Power, Tensor beta2Power, Tensor lr,
            Tensor beta1, Tensor beta2, Tensor epsilon, Tensor grad, bool useNesterov = false, string? name = null) =>
            Apply(g, ApplyOps.ApplyAdam, [var.Ref, m.Ref, v.Ref, beta1Power, beta2Power, lr, beta1, beta2, epsilon, grad],
                new Attrs { ["use_nesterov"] = useNesterov }, name);
    }
}
