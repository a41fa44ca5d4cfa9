using GraphDl.Ops;

namespace GraphDl.Cuda.Parity;

/// <summary>Variables on the GPU and their in-place updates. Variables start from fed values (the runner initializes
/// both sessions alike) and each case runs twice, so the second run updates the first run's result; each case checks the
/// updated variable and, read after the update, every slot the op updates. 35 elements: not a multiple of the CPU's
/// vector width (its vector loop and scalar tail both run).</summary>
public static partial class ParityCases
{
    static Tensor ReadAfter(Graph g, Tensor update, Variable v)
    {
        using (g.ControlDependencies(update.Op)) return g.Identity(v.Ref);
    }

    static Tensor F(Graph g, double x) => g.Scalar(x, DType.Float32);

    static IEnumerable<ParityCase> State()
    {
        yield return C("VariableV2 [5,7]", VariableOps.VariableV2, Family.Data, (g, x) => g.Variable(x[0], "v").Ref, Rand(5, 7));
        yield return C("Assign [4,5]", VariableOps.Assign, Family.Data, (g, x) => g.Variable(x[0], "v").Assign(x[1]), Rand(4, 5), Rand(4, 5));
        yield return C("AssignAdd float32 [5,7]", VariableOps.AssignAdd, Family.Arithmetic, (g, x) => g.Variable(x[0], "v").AssignAdd(x[1]), Rand(5, 7), Rand(5, 7));
        yield return C("AssignAdd int64", VariableOps.AssignAdd, Family.Data, (g, x) => g.Variable(x[0], "v").AssignAdd(x[1]),
            NDArray.From(new long[] { 1, -5, 1L << 40, 4 }, 4), NDArray.From(new long[] { 3, 3, -7, 0 }, 4));
        yield return C("AssignSub int32", VariableOps.AssignSub, Family.Data, (g, x) => g.Variable(x[0], "v").AssignSub(x[1]),
            NDArray.From(Enumerable.Range(-10, 21).ToArray(), 3, 7), NDArray.From(Enumerable.Range(0, 21).Select(i => i * 3 - 9).ToArray(), 3, 7));

        // RandomUniform: the CPU's counter-based stream, bit for bit; each of the two runs draws new numbers (the run counter).
        yield return C("RandomUniform [5,7]", RandomOps.RandomUniform, Family.Data, (g, x) => g.RandomUniform(Shape.Of(5, 7), seed: 3));
        yield return C("RandomUniform [300,7] graph seed", RandomOps.RandomUniform, Family.Data, (g, x) =>
        {
            g.Seed = 11;
            return g.RandomUniform(Shape.Of(300, 7));
        });
        yield return C("RandomUniform float64 [9,4]", RandomOps.RandomUniform, Family.Data,
            (g, x) => g.RandomUniform(Shape.Of(9, 4), dtype: DType.Float64, seed: 5));
        yield return C("RandomUniform [0,3] empty", RandomOps.RandomUniform, Family.Data, (g, x) => g.RandomUniform(Shape.Of(0, 3), seed: 1));

        yield return C("ApplyGradientDescent [5,7]", ApplyOps.ApplyGradientDescent, Family.Update,
            (g, x) => g.ApplyGradientDescent(g.Variable(x[0], "v"), F(g, 0.1), x[1]), Rand(5, 7), Rand(5, 7));
        yield return C("ApplyGradientDescent delta aliases var", ApplyOps.ApplyGradientDescent, Family.Update,
            (g, x) => { var v = g.Variable(x[0], "v"); return g.ApplyGradientDescent(v, F(g, 0.25), v.Value); }, Rand(5, 7));
        foreach (bool nesterov in new[] { false, true })
            yield return new ParityCase($"ApplyMomentum [5,7]{(nesterov ? " nesterov" : "")}", ApplyOps.ApplyMomentum, Family.Update, (g, x) =>
            {
                var v = g.Variable(x[0], "v"); var a = g.Variable(x[1], "accum");
                var u = g.ApplyMomentum(v, a, F(g, 0.05), x[2], F(g, 0.9), nesterov);
                return [u, ReadAfter(g, u, a)];
            }, [Rand(5, 7), Rand(5, 7), Rand(5, 7)]);
        yield return new ParityCase("ApplyAdagrad [5,7]", ApplyOps.ApplyAdagrad, Family.Update, (g, x) =>
        {
            var v = g.Variable(x[0], "v"); var a = g.Variable(x[1], "accum");
            var u = g.ApplyAdagrad(v, a, F(g, 0.3), x[2]);
            return [u, ReadAfter(g, u, a)];
        }, [Rand(5, 7), RandIn(0.1, 1, 5, 7), Rand(5, 7)]);
        yield return new ParityCase("ApplyRMSProp [5,7]", ApplyOps.ApplyRMSProp, Family.Update, (g, x) =>
        {
            var v = g.Variable(x[0], "v"); var ms = g.Variable(x[1], "ms"); var mom = g.Variable(x[2], "mom");
            var u = g.ApplyRMSProp(v, ms, mom, F(g, 0.01), F(g, 0.9), F(g, 0.5), F(g, 1e-10), x[3]);
            return [u, ReadAfter(g, u, ms), ReadAfter(g, u, mom)];
        }, [Rand(5, 7), RandIn(0.1, 1, 5, 7), Rand(5, 7), Rand(5, 7)]);
        yield return new ParityCase("ApplyCenteredRMSProp [5,7]", ApplyOps.ApplyCenteredRMSProp, Family.Update, (g, x) =>
        {
            var v = g.Variable(x[0], "v"); var mg = g.Variable(x[1], "mg"); var ms = g.Variable(x[2], "ms"); var mom = g.Variable(x[3], "mom");
            var u = g.ApplyCenteredRMSProp(v, mg, ms, mom, F(g, 0.01), F(g, 0.9), F(g, 0.5), F(g, 1e-10), x[4]);
            return [u, ReadAfter(g, u, mg), ReadAfter(g, u, ms), ReadAfter(g, u, mom)];
        }, [Rand(5, 7), RandIn(-0.2, 0.2, 5, 7), RandIn(0.5, 1, 5, 7), Rand(5, 7), Rand(5, 7)]);
        foreach (bool nesterov in new[] { false, true })
            yield return new ParityCase($"ApplyAdam [5,7]{(nesterov ? " nesterov" : "")}", ApplyOps.ApplyAdam, Family.Update, (g, x) =>
            {
                var v = g.Variable(x[0], "v"); var m = g.Variable(x[1], "m"); var s = g.Variable(x[2], "v2");
                var u = g.ApplyAdam(v, m, s, F(g, Math.Pow(0.9, 3)), F(g, Math.Pow(0.999, 3)), F(g, 0.01), F(g, 0.9), F(g, 0.999),
                    F(g, 1e-8), x[3], nesterov);
                return [u, ReadAfter(g, u, m), ReadAfter(g, u, s)];
            }, [Rand(5, 7), Rand(5, 7), RandIn(0.1, 1, 5, 7), Rand(5, 7)]);
    }
}
