using System.Reflection;
using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Tests.Ops;

/// <summary>Every row of <see cref="OpCases"/>: forward against its reference (float64 and float32), and the gradient
/// against central finite differences in float64.</summary>
public class OpTableTests
{
    static IEnumerable<OpCase> Cases() => OpCases.All();

    static (Graph g, Tensor[] xs, Tensor y) Build(OpCase c, DType dtype)
    {
        var g = new Graph();
        var xs = c.Inputs.Select((v, i) => g.Placeholder(dtype, v.Shape, $"x{i}")).ToArray();
        return (g, xs, c.Build(g, xs));
    }

    static (Tensor, NDArray)[] Feeds(Tensor[] xs, NDArray[] values, DType dtype) =>
        xs.Select((x, i) => (x, dtype == DType.Float64 ? values[i] : NDArray.From(values[i].ToFloatArray(), values[i].Dims.ToArray()))).ToArray();

    [TestCaseSource(nameof(Cases))]
    public void Forward_MatchesReference(OpCase c)
    {
        var (g, xs, y) = Build(c, DType.Float64);
        using var s = new Session(g);
        var r = s.Run(y, Feeds(xs, c.Inputs, DType.Float64));
        Assert.That(y.Shape.Accepts(r.Dims), $"static shape {y.Shape} vs result {Shape.Format(r.Dims)}");
        if (c.Reference == null) return;
        var expected = c.Reference(c.Inputs.Select(v => v.ToDoubleArray()).ToArray());
        NumericAssert.AllClose(r.ToDoubleArray(), expected, 1e-12, 1e-12, c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Forward_Float32_MatchesFloat64(OpCase c)
    {
        var (g64, xs64, y64) = Build(c, DType.Float64);
        var (g32, xs32, y32) = Build(c, DType.Float32);
        using var s64 = new Session(g64);
        using var s32 = new Session(g32);
        var r64 = s64.Run(y64, Feeds(xs64, c.Inputs, DType.Float64));
        var r32 = s32.Run(y32, Feeds(xs32, c.Inputs, DType.Float32));
        Assert.That(r32.Dims.ToArray(), Is.EqualTo(r64.Dims.ToArray()));
        NumericAssert.AllClose(r32.ToDoubleArray(), r64.ToDoubleArray(), 1e-4, 1e-4, c.Name);
    }

    [TestCaseSource(nameof(Cases))]
    public void Gradient_MatchesCentralDifference(OpCase c)
    {
        if (c.NotDifferentiable)
        {
            Assert.That(c.Def.Grad, Is.Null, $"{c.Def.Name} is marked not differentiable in the table but has a gradient rule");
            return;
        }
        Assert.That(c.Def.Grad, Is.Not.Null, $"{c.Def.Name} has no gradient rule; mark it NotDifferentiable in the table if that is intended");
        var (g, xs, y) = Build(c, DType.Float64);
        using var s = new Session(g);
        var feeds = Feeds(xs, c.Inputs, DType.Float64);
        var probe = s.Run(y, feeds);
        // L = sum(y * w) with fixed random weights, so every output element matters differently.
        var w = OpCase.Rand(99, 0.5, 1.5, probe.Dims.ToArray());
        var wt = g.Const(w);
        var loss = g.Sum(y * wt);
        var inputs = c.DiffInputs ?? Enumerable.Range(0, xs.Length).ToArray();
        var grads = g.Gradients([loss], inputs.Select(i => xs[i]).ToArray(), unconnectedZeros: true);
        var analytic = s.Run(grads.Select(t => t!).ToArray(), feeds);
        double h = c.Step;
        for (int k = 0; k < inputs.Length; k++)
        {
            int i = inputs[k];
            var baseVals = c.Inputs[i].ToDoubleArray();
            var numeric = new double[baseVals.Length];
            for (int e = 0; e < baseVals.Length; e++)
            {
                double Eval(double delta)
                {
                    var v = (double[])baseVals.Clone();
                    v[e] += delta;
                    var f = ((Tensor, NDArray)[])feeds.Clone();
                    f[i] = (xs[i], NDArray.From(v, c.Inputs[i].Dims.ToArray()));
                    return s.Run(loss, f).Item<double>();
                }
                numeric[e] = (Eval(h) - Eval(-h)) / (2 * h);
            }
            NumericAssert.AllClose(analytic[k].ToDoubleArray(), numeric, c.Atol, c.Rtol, $"{c.Name} d/dx{i}");
        }
    }

    [Test]
    public void Catalog_EveryOpHasForwardAndGradientCoverage()
    {
        var cases = OpCases.All().ToList();
        var missing = new List<string>();
        foreach (var def in OpCatalog.All)
        {
            if (OpCases.Exempt.ContainsKey(def)) continue;
            var mine = cases.Where(c => c.Def == def).ToList();
            if (mine.Count == 0) missing.Add($"{def.Name}: no row in OpCases");
            else if (def.Grad != null && mine.All(c => c.NotDifferentiable)) missing.Add($"{def.Name}: has a gradient but no gradient check");
        }
        Assert.That(missing, Is.Empty);
    }

    [Test]
    public void Catalog_ListsEveryOpDefInTheAssembly()
    {
        var defined = typeof(OpDef).Assembly.GetTypes()
            .SelectMany(t => t.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic))
            .Where(f => f.FieldType == typeof(OpDef))
            .Select(f => ((OpDef)f.GetValue(null)!, $"{f.DeclaringType!.Name}.{f.Name}"))
            .ToList();
        var listed = new HashSet<OpDef>(OpCatalog.All);
        Assert.That(defined.Where(d => !listed.Contains(d.Item1)).Select(d => d.Item2), Is.Empty);
        Assert.That(OpCatalog.All.Select(d => d.Name).GroupBy(n => n).Where(gr => gr.Count() > 1).Select(gr => gr.Key), Is.Empty, "duplicate op names");
    }
}

public static class NumericAssert
{
    /// <summary>|actual - expected| &lt;= atol + rtol·|expected| elementwise (NaN only matches NaN).</summary>
    public static void AllClose(double[] actual, double[] expected, double atol, double rtol, string what = "")
    {
        Assert.That(actual.Length, Is.EqualTo(expected.Length), $"{what}: length");
        for (int i = 0; i < actual.Length; i++)
        {
            if (double.IsNaN(expected[i]) && double.IsNaN(actual[i])) continue;
            double tol = atol + rtol * Math.Abs(expected[i]);
            if (!(Math.Abs(actual[i] - expected[i]) <= tol))
                Assert.Fail($"{what}: element {i}: got {actual[i]:R}, expected {expected[i]:R} (tolerance {tol:G3})");
        }
    }
}
