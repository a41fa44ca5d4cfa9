using NUnit.Framework;

namespace GraphDl.Tests.Ops;

public class RandomTests
{
    static float[] Draw(int? graphSeed, int? opSeed, int runs = 1, string kind = "normal")
    {
        var g = new Graph { Seed = graphSeed };
        var t = kind switch
        {
            "uniform" => g.RandomUniform(Shape.Of(1000), -2, 3, seed: opSeed),
            "truncated" => g.TruncatedNormal(Shape.Of(1000), 1, 0.5, seed: opSeed),
            _ => g.RandomNormal(Shape.Of(1000), 1, 2, seed: opSeed),
        };
        using var s = new Session(g);
        float[] last = [];
        for (int i = 0; i < runs; i++) last = s.Run(t).ToArray<float>();
        return last;
    }

    [Test]
    public void SameSeeds_GiveSameNumbers_OtherSeedsDiffer()
    {
        Assert.That(Draw(1, 7), Is.EqualTo(Draw(1, 7)));
        Assert.That(Draw(1, 7), Is.Not.EqualTo(Draw(2, 7)));
        Assert.That(Draw(1, 7), Is.Not.EqualTo(Draw(1, 8)));
        Assert.That(Draw(null, null), Is.EqualTo(Draw(null, null)), "deterministic by default");
    }

    [Test]
    public void EachRun_DrawsNewNumbers_InAReproducibleSequence()
    {
        Assert.That(Draw(1, 7, runs: 2), Is.Not.EqualTo(Draw(1, 7, runs: 1)));
        Assert.That(Draw(1, 7, runs: 3), Is.EqualTo(Draw(1, 7, runs: 3)));
    }

    [Test]
    public void Distributions_HaveTheirMoments()
    {
        var n = Draw(3, null).Select(v => (double)v).ToArray();
        Assert.That(n.Average(), Is.EqualTo(1).Within(0.2));
        Assert.That(Math.Sqrt(n.Select(v => (v - n.Average()) * (v - n.Average())).Average()), Is.EqualTo(2).Within(0.15));
        var u = Draw(3, null, kind: "uniform");
        Assert.That(u.Min(), Is.GreaterThanOrEqualTo(-2f));
        Assert.That(u.Max(), Is.LessThan(3f));
        Assert.That(u.Average(), Is.EqualTo(0.5).Within(0.15));
        var t = Draw(3, null, kind: "truncated");
        Assert.That(t.Min(), Is.GreaterThanOrEqualTo(0f));
        Assert.That(t.Max(), Is.LessThanOrEqualTo(2f));
    }

    [Test]
    public void Shuffle_IsAPermutationOfRows()
    {
        var g = new Graph { Seed = 5 };
        var x = g.Const(NDArray.From(Enumerable.Range(0, 40).Select(i => (float)i).ToArray(), 20, 2));
        var y = g.RandomShuffle(x);
        using var s = new Session(g);
        var r = s.Run(y).ToArray<float>();
        Assert.That(r, Is.Not.EqualTo(Enumerable.Range(0, 40).Select(i => (float)i).ToArray()));
        var rows = Enumerable.Range(0, 20).Select(i => (r[2 * i], r[2 * i + 1])).ToList();
        Assert.That(rows.Select(p => p.Item1).OrderBy(v => v), Is.EqualTo(Enumerable.Range(0, 20).Select(i => 2f * i)));
        Assert.That(rows.All(p => p.Item2 == p.Item1 + 1), "rows stay whole");
    }
}
