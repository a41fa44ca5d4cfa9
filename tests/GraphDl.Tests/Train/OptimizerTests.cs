using GraphDl.Ops;
using GraphDl.Tests.Ops;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Each optimizer over three steps against TF1's update formulas written out on double arrays, in float32 and
/// float64; slot naming, the global step, and the apply ops' checks.</summary>
public class OptimizerTests
{
    /// <summary>One variable's reference update: (var, grad, step t from 1) → updates var in place, keeping its own slots.</summary>
    delegate void RefUpdate(double[] w, double[] g, int t);

    // Two variables, sizes chosen to exercise both the SIMD body and the scalar tail (19 = 2·8 + 3, 6 < 8).
    static readonly int[] Sizes = [19, 6];

    static double[] Values(int seed, int n, double lo, double hi)
    {
        var r = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => lo + (hi - lo) * r.NextDouble()).ToArray();
    }

    static NDArray Array(double[] v, DType t, params int[] dims) =>
        t == DType.Float64 ? NDArray.From(v, dims) : NDArray.From(v.Select(x => (float)x).ToArray(), dims);

    static double[] Round(double[] v, DType t) => t == DType.Float64 ? (double[])v.Clone() : v.Select(x => (double)(float)x).ToArray();

    /// <summary>Loss = Σ ½ a w² + b w per variable, so grad = a·w + b depends on the current value.</summary>
    static void Pin(DType dt, Func<Optimizer> make, Func<RefUpdate> makeRef, int steps = 3)
    {
        var g = new Graph();
        var inits = Sizes.Select((n, i) => Values(10 + i, n, -1, 1)).ToArray();
        var a = Sizes.Select((n, i) => Round(Values(20 + i, n, 0.5, 1.5), dt)).ToArray();
        var b = Sizes.Select((n, i) => Round(Values(30 + i, n, -1, 1), dt)).ToArray();
        var vars = new[]
        {
            g.Variable(Array(inits[0], dt, 19), "w"),
            g.Variable(Array(inits[1], dt, 2, 3), "u"),
        };
        Tensor? loss = null;
        for (int i = 0; i < vars.Length; i++)
        {
            var ca = g.Const(Array(a[i], dt, vars[i].Shape.Dims));
            var cb = g.Const(Array(b[i], dt, vars[i].Shape.Dims));
            var term = g.Sum(ca * g.Square(vars[i].Value) * 0.5 + cb * vars[i].Value);
            loss = loss == null ? term : loss + term;
        }
        var train = make().Minimize(loss!);
        var init = g.GlobalVariablesInitializer();
        g.Finalize();

        var refW = inits.Select(v => Round(v, dt)).ToArray();
        var refs = vars.Select(_ => makeRef()).ToArray();
        using var s = new Session(g);
        s.Run(init);
        double tol = dt == DType.Float64 ? 1e-12 : 2e-5;
        for (int t = 1; t <= steps; t++)
        {
            s.Run(train);
            for (int i = 0; i < vars.Length; i++)
            {
                var grad = refW[i].Select((w, k) => a[i][k] * w + b[i][k]).ToArray();
                refs[i](refW[i], grad, t);
                NumericAssert.AllClose(vars[i].Eval(s).ToDoubleArray(), refW[i], tol, tol, $"{vars[i].Name} after step {t}");
            }
        }
    }

    static IEnumerable<DType> DTypes() => [DType.Float32, DType.Float64];

    [TestCaseSource(nameof(DTypes))]
    public void GradientDescent_ThreeSteps(DType dt) =>
        Pin(dt, () => new GradientDescentOptimizer(0.1), () => (w, g, t) =>
        {
            for (int k = 0; k < w.Length; k++) w[k] -= 0.1 * g[k];
        });

    [TestCaseSource(nameof(DTypes))]
    public void Momentum_ThreeSteps(DType dt) => Pin(dt, () => new MomentumOptimizer(0.1, 0.9), () =>
    {
        double[]? accum = null;
        return (w, g, t) =>
        {
            accum ??= new double[w.Length];
            for (int k = 0; k < w.Length; k++)
            {
                accum[k] = 0.9 * accum[k] + g[k];
                w[k] -= 0.1 * accum[k];
            }
        };
    });

    [TestCaseSource(nameof(DTypes))]
    public void Nesterov_ThreeSteps(DType dt) => Pin(dt, () => new MomentumOptimizer(0.1, 0.9, useNesterov: true), () =>
    {
        double[]? accum = null;
        return (w, g, t) =>
        {
            accum ??= new double[w.Length];
            for (int k = 0; k < w.Length; k++)
            {
                accum[k] = 0.9 * accum[k] + g[k];
                w[k] -= 0.1 * (g[k] + 0.9 * accum[k]);
            }
        };
    });

    [TestCaseSource(nameof(DTypes))]
    public void Adagrad_ThreeSteps(DType dt) => Pin(dt, () => new AdagradOptimizer(0.2), () =>
    {
        double[]? accum = null;
        return (w, g, t) =>
        {
            accum ??= Enumerable.Repeat(0.1, w.Length).ToArray();
            for (int k = 0; k < w.Length; k++)
            {
                accum[k] += g[k] * g[k];
                w[k] -= 0.2 * g[k] / Math.Sqrt(accum[k]);
            }
        };
    });

    [TestCaseSource(nameof(DTypes))]
    public void RMSProp_ThreeSteps(DType dt) => Pin(dt, () => new RMSPropOptimizer(0.05, decay: 0.8, momentum: 0.5, epsilon: 1e-6), () =>
    {
        double[]? ms = null, mom = null;
        return (w, g, t) =>
        {
            ms ??= Enumerable.Repeat(1.0, w.Length).ToArray();
            mom ??= new double[w.Length];
            for (int k = 0; k < w.Length; k++)
            {
                ms[k] = 0.8 * ms[k] + (1 - 0.8) * g[k] * g[k];
                mom[k] = 0.5 * mom[k] + 0.05 * g[k] / Math.Sqrt(ms[k] + 1e-6);
                w[k] -= mom[k];
            }
        };
    });

    [TestCaseSource(nameof(DTypes))]
    public void RMSProp_DefaultsWithoutMomentum_ThreeSteps(DType dt) => Pin(dt, () => new RMSPropOptimizer(0.01), () =>
    {
        double[]? ms = null, mom = null;
        return (w, g, t) =>
        {
            ms ??= Enumerable.Repeat(1.0, w.Length).ToArray();
            mom ??= new double[w.Length];
            for (int k = 0; k < w.Length; k++)
            {
                ms[k] = 0.9 * ms[k] + 0.1 * g[k] * g[k];
                mom[k] = 0.0 * mom[k] + 0.01 * g[k] / Math.Sqrt(ms[k] + 1e-10);
                w[k] -= mom[k];
            }
        };
    });

    [TestCaseSource(nameof(DTypes))]
    public void CenteredRMSProp_ThreeSteps(DType dt) =>
        Pin(dt, () => new RMSPropOptimizer(0.05, decay: 0.8, momentum: 0.5, epsilon: 1e-6, centered: true), () =>
        {
            double[]? ms = null, mom = null, mg = null;
            return (w, g, t) =>
            {
                ms ??= Enumerable.Repeat(1.0, w.Length).ToArray();
                mom ??= new double[w.Length];
                mg ??= new double[w.Length];
                for (int k = 0; k < w.Length; k++)
                {
                    mg[k] = 0.8 * mg[k] + 0.2 * g[k];
                    ms[k] = 0.8 * ms[k] + 0.2 * g[k] * g[k];
                    mom[k] = 0.5 * mom[k] + 0.05 * g[k] / Math.Sqrt(ms[k] - mg[k] * mg[k] + 1e-6);
                    w[k] -= mom[k];
                }
            };
        });

    static RefUpdate AdamRef(double lr, double b1, double b2, double eps)
    {
        double[]? m = null, v = null;
        return (w, g, t) =>
        {
            m ??= new double[w.Length];
            v ??= new double[w.Length];
            double lrT = lr * Math.Sqrt(1 - Math.Pow(b2, t)) / (1 - Math.Pow(b1, t));
            for (int k = 0; k < w.Length; k++)
            {
                m[k] = b1 * m[k] + (1 - b1) * g[k];
                v[k] = b2 * v[k] + (1 - b2) * g[k] * g[k];
                w[k] -= lrT * m[k] / (Math.Sqrt(v[k]) + eps);
            }
        };
    }

    [TestCaseSource(nameof(DTypes))]
    public void Adam_ThreeSteps(DType dt) => Pin(dt, () => new AdamOptimizer(0.1, 0.8, 0.9, 1e-3), () => AdamRef(0.1, 0.8, 0.9, 1e-3));

    [TestCaseSource(nameof(DTypes))]
    public void Adam_Defaults_FiveSteps(DType dt) => Pin(dt, () => new AdamOptimizer(), () => AdamRef(0.001, 0.9, 0.999, 1e-8), steps: 5);

    [Test]
    public void Nesterov_DiffersFromPlainMomentum()
    {
        double[] Run(bool nesterov)
        {
            var g = new Graph();
            var w = g.Variable(NDArray.From(new double[] { 1, -2, 3 }), "w");
            var train = new MomentumOptimizer(0.1, 0.9, nesterov).Minimize(g.Sum(g.Square(w.Value)));
            using var s = new Session(g);
            s.Run(g.GlobalVariablesInitializer());
            for (int i = 0; i < 2; i++) s.Run(train);
            return w.Eval(s).ToDoubleArray();
        }
        var plain = Run(false);
        var nesterov = Run(true);
        // Step 1 (g = 2w): accum = g; plain w -= 0.1 g; Nesterov w -= 0.1 (g + 0.9 g).
        Assert.That(nesterov[0], Is.Not.EqualTo(plain[0]).Within(1e-3));
    }

    [Test]
    public void GlobalStep_IncrementsOncePerRun()
    {
        var g = new Graph();
        var step = TrainUtil.GetOrCreateGlobalStep(g);
        Assert.That(step.Name, Is.EqualTo("global_step"));
        Assert.That(step.DType, Is.EqualTo(DType.Int64));
        Assert.That(step.Shape.Rank, Is.EqualTo(0));
        Assert.That(step.Trainable, Is.False);
        Assert.That(TrainUtil.GetOrCreateGlobalStep(g), Is.SameAs(step));
        Assert.That(g.GetCollection<Variable>(GraphKeys.GlobalStep), Is.EqualTo(new[] { step }));
        Assert.That(g.TrainableVariables, Does.Not.Contain(step));

        var w = g.Variable(NDArray.From(new float[] { 1, 2 }), "w");
        var b = g.Variable(NDArray.From(new float[] { 3 }), "b");
        var loss = g.Sum(g.Square(w.Value)) + g.Sum(b.Value);
        var train = new AdamOptimizer(0.1).Minimize(loss, step);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        Assert.That(step.Eval(s).Item<long>(), Is.EqualTo(0));
        for (int i = 1; i <= 3; i++)
        {
            s.Run(train);
            Assert.That(step.Eval(s).Item<long>(), Is.EqualTo(i));
        }
        // The increment runs after the updates: both Adam beta powers advanced once per step as well.
        Assert.That(new AdamOptimizer().GetBetaAccumulators(g), Is.Null, "a fresh optimizer has no accumulators");
        var b1p = g.FindVariable("beta1_power")!;
        Assert.That(b1p.Eval(s).Item<float>(), Is.EqualTo(MathF.Pow(0.9f, 4)).Within(1e-6));
    }

    [Test]
    public void GlobalStep_CreatedAtRootScope()
    {
        var g = new Graph();
        using (g.NameScope("model"))
            Assert.That(TrainUtil.GetOrCreateGlobalStep(g).Name, Is.EqualTo("global_step"));
    }

    [Test]
    public void TensorLearningRate_FollowsSchedule()
    {
        var g = new Graph();
        var step = TrainUtil.GetOrCreateGlobalStep(g);
        var lr = LearningRates.ExponentialDecay(g, 0.1, step.Value, 2, 0.5);
        var w = g.Variable(NDArray.From(new double[] { 1, -1, 2 }), "w");
        var train = new GradientDescentOptimizer(lr).Minimize(g.Sum(w.Value * 3.0), step);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        double[] expected = [1, -1, 2];
        for (int t = 0; t < 3; t++)
        {
            s.Run(train);
            double rate = (float)(0.1 * Math.Pow(0.5, t / 2.0)); // float32 schedule, cast to the float64 variable
            for (int k = 0; k < 3; k++) expected[k] -= rate * 3;
            NumericAssert.AllClose(w.Eval(s).ToDoubleArray(), expected, 1e-12, 1e-12, $"step {t}");
        }
    }

    [Test]
    public void Slots_NamedLikeTf1_AndInitializedByGlobalInitializer()
    {
        var g = new Graph();
        Variable w;
        using (g.VariableScope("dense"))
            w = g.GetVariable("kernel", Shape.Of(2, 2), initializer: Initializers.Ones());
        var loss = g.Sum(g.Square(w.Value));
        var adam = new AdamOptimizer();
        var train = adam.Minimize(loss);
        var names = g.GlobalVariables.Select(v => v.Name).ToArray();
        Assert.That(names, Is.EquivalentTo(new[] { "dense/kernel", "beta1_power", "beta2_power", "dense/kernel/Adam", "dense/kernel/Adam_1" }));
        Assert.That(g.TrainableVariables.Select(v => v.Name), Is.EqualTo(new[] { "dense/kernel" }));
        Assert.That(adam.GetSlot(w, "m")!.Name, Is.EqualTo("dense/kernel/Adam"));
        Assert.That(adam.GetSlot(w, "v")!.Name, Is.EqualTo("dense/kernel/Adam_1"));
        Assert.That(adam.GetSlotNames(), Is.EqualTo(new[] { "m", "v" }));
        Assert.That(g.Operations.Any(o => o.Name == "Adam/update_dense/kernel/ApplyAdam"));
        Assert.That(g.Operations.Any(o => o.Name == "Adam/learning_rate"));

        var mom = new MomentumOptimizer(0.1, 0.9);
        mom.Minimize(loss);
        Assert.That(mom.GetSlot(w, "momentum")!.Name, Is.EqualTo("dense/kernel/Momentum"));
        var ada = new AdagradOptimizer(0.1);
        ada.Minimize(loss);
        Assert.That(ada.GetSlot(w, "accumulator")!.Name, Is.EqualTo("dense/kernel/Adagrad"));
        var rms = new RMSPropOptimizer(0.1, centered: true);
        rms.Minimize(loss);
        Assert.That(rms.GetSlot(w, "rms")!.Name, Is.EqualTo("dense/kernel/RMSProp"));
        Assert.That(rms.GetSlot(w, "mg")!.Name, Is.EqualTo("dense/kernel/RMSProp_1"));
        Assert.That(rms.GetSlot(w, "momentum")!.Name, Is.EqualTo("dense/kernel/RMSProp_2"));
        Assert.That(g.GlobalVariables.Where(v => v.Name != "dense/kernel").All(v => !v.Trainable));

        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        Assert.That(rms.GetSlot(w, "rms")!.Eval(s).ToFloatArray(), Is.All.EqualTo(1f));
        Assert.That(ada.GetSlot(w, "accumulator")!.Eval(s).ToFloatArray(), Is.All.EqualTo(0.1f));
        Assert.That(adam.GetSlot(w, "m")!.Eval(s).ToFloatArray(), Is.All.EqualTo(0f));
        Assert.That(g.FindVariable("beta2_power")!.Eval(s).Item<float>(), Is.EqualTo(0.999f));
        s.Run(train);
        Assert.That(w.Eval(s).ToFloatArray(), Is.All.EqualTo(1f - 0.001f).Within(1e-6));
    }

    [Test]
    public void InitializerBuiltBeforeMinimize_LeavesSlotsUninitialized()
    {
        var g = new Graph();
        var w = g.Variable(NDArray.From(new float[] { 1 }), "w");
        var init = g.GlobalVariablesInitializer();
        var train = new MomentumOptimizer(0.1, 0.9).Minimize(g.Sum(w.Value));
        using var s = new Session(g);
        s.Run(init);
        var e = Assert.Throws<UninitializedVariableException>(() => s.Run(train));
        Assert.That(e!.Message, Does.Contain("w/Momentum"));
    }

    [Test]
    public void NullGradients_AreSkipped_AllNull_Throws()
    {
        var g = new Graph();
        var w = g.Variable(NDArray.From(new float[] { 1, 2 }), "w");
        var unused = g.Variable(NDArray.From(new float[] { 5 }), "unused");
        var opt = new GradientDescentOptimizer(0.5);
        var gv = opt.ComputeGradients(g.Sum(w.Value));
        Assert.That(gv.Select(p => p.Var), Is.EqualTo(new[] { w, unused }));
        Assert.That(gv[1].Grad, Is.Null);
        var train = opt.ApplyGradients(gv);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        s.Run(train);
        Assert.That(w.Eval(s).ToFloatArray(), Is.EqualTo(new[] { 0.5f, 1.5f }));
        Assert.That(unused.Eval(s).ToFloatArray(), Is.EqualTo(new[] { 5f }));

        var e = Assert.Throws<GraphBuildException>(() => opt.Minimize(g.Sum(w.Value), varList: [unused]));
        Assert.That(e!.Message, Does.Contain("No gradients").IgnoreCase.And.Contain("unused"));
    }

    [Test]
    public void VarList_RestrictsTraining()
    {
        var g = new Graph();
        var a = g.Variable(NDArray.From(new double[] { 1 }), "a");
        var b = g.Variable(NDArray.From(new double[] { 1 }), "b");
        var train = new GradientDescentOptimizer(0.25).Minimize(g.Sum(a.Value * b.Value), varList: [b]);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        s.Run(train);
        Assert.That(a.Eval(s).Item<double>(), Is.EqualTo(1));
        Assert.That(b.Eval(s).Item<double>(), Is.EqualTo(0.75));
    }

    [Test]
    public void ApplyOps_AcceptGradientAliasingTheVariable()
    {
        // grad = the variable's own value (its buffer): every kernel must read before it writes.
        foreach (var dt in DTypes())
        {
            var g = new Graph();
            var init = Values(3, 21, -2, 2);
            var w = g.Variable(Array(init, dt, 21), "w");
            var m = g.Variable(Array(new double[21], dt, 21), "m", trainable: false);
            var v = g.Variable(Array(new double[21], dt, 21), "v", trainable: false);
            Tensor S(double x) => g.Scalar(x, dt);
            var adam = g.ApplyAdam(w, m, v, S(0.9), S(0.999), S(0.1), S(0.9), S(0.999), S(1e-8), w.Value);
            using var s = new Session(g);
            s.Run(g.GlobalVariablesInitializer());
            s.Run(adam.Op);
            var expected = Round(init, dt);
            AdamRef(0.1, 0.9, 0.999, 1e-8)(expected, Round(init, dt), 1);
            NumericAssert.AllClose(w.Eval(s).ToDoubleArray(), expected, 1e-6, 1e-6, $"{dt}");

            var gd = g.ApplyGradientDescent(w, S(0.5), w.Value);
            var before = w.Eval(s).ToDoubleArray();
            s.Run(gd.Op);
            NumericAssert.AllClose(w.Eval(s).ToDoubleArray(), before.Select(x => x * 0.5).ToArray(), 1e-7, 1e-7, $"{dt}");
        }
    }

    [Test]
    public void ApplyOps_CheckInputs()
    {
        var g = new Graph();
        var w = g.Variable(NDArray.From(new float[] { 1, 2, 3 }), "w");
        var e = Assert.Throws<GraphBuildException>(() => g.Add1(ApplyOps.ApplyGradientDescent, [w.Value, g.Scalar(0.1, DType.Float32), w.Value]));
        Assert.That(e!.Message, Does.Contain("must be a variable"));
        e = Assert.Throws<GraphBuildException>(() => g.ApplyGradientDescent(w, g.Scalar(0.1, DType.Float32), g.Const(NDArray.From(new float[] { 1, 2 }))));
        Assert.That(e!.Message, Does.Contain("[2]").And.Contain("[3]"));
        e = Assert.Throws<GraphBuildException>(() => g.ApplyGradientDescent(w, g.Scalar(0.1, DType.Float64), w.Value));
        Assert.That(e!.Message, Does.Contain("float64"));
        e = Assert.Throws<GraphBuildException>(() => g.ApplyGradientDescent(w, g.Const(NDArray.From(new float[] { 1, 2, 3 })), w.Value));
        Assert.That(e!.Message, Does.Contain("not a scalar"));

        var delta = g.Placeholder(DType.Float32, Shape.Of(-1));
        var apply = g.ApplyGradientDescent(w, g.Scalar(0.1, DType.Float32), delta);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var re = Assert.Throws<SessionRunException>(() => s.Run(apply, (delta, NDArray.From(new float[] { 1, 2 }))));
        Assert.That(re!.Message, Does.Contain("'w'"));
        s.Run(apply, (delta, NDArray.From(new float[] { 10, 20, 30 })));
        NumericAssert.AllClose(w.Eval(s).ToDoubleArray(), [0, 0, 0], 1e-6, 0);
    }

    [Test]
    public void Optimizer_RejectsBadArguments()
    {
        var g = new Graph();
        Assert.Throws<ArgumentOutOfRangeException>(() => new AdagradOptimizer(0.1, 0));
        Assert.Throws<ArgumentException>(() => new GradientDescentOptimizer(g.Const(NDArray.From(new float[] { 1, 2 }))));
        Assert.Throws<ArgumentException>(() => new AdamOptimizer(g.Scalar(1, DType.Int32)));
        var w = g.Variable(NDArray.From(new float[] { 1 }), "w");
        var opt = new GradientDescentOptimizer(0.1);
        Assert.Throws<GraphBuildException>(() => opt.ComputeGradients(g.Cast(g.Sum(w.Value), DType.Int32)));
        var step = g.Variable(NDArray.Scalar(0f), "float_step", trainable: false);
        Assert.Throws<GraphBuildException>(() => opt.Minimize(g.Sum(w.Value), step));
    }
}
