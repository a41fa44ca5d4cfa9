using NUnit.Framework;

namespace GraphDl.Tests.Ops;

/// <summary>BroadcastTo's blocked kernel (copy of matching trailing dims, fill over trailing 1s) against a per-element reference.</summary>
public class BroadcastToTests
{
    static double[] Reference(double[] x, int[] xd, int[] yd)
    {
        int size = yd.Aggregate(1, (a, b) => a * b), shift = yd.Length - xd.Length;
        var y = new double[size];
        var idx = new int[yd.Length];
        for (int i = 0; i < size; i++)
        {
            int rem = i;
            for (int d = yd.Length - 1; d >= 0; d--) { idx[d] = rem % yd[d]; rem /= yd[d]; }
            int off = 0;
            for (int d = 0; d < xd.Length; d++) off = off * xd[d] + (xd[d] == 1 ? 0 : idx[d + shift]);
            y[i] = x[off];
        }
        return y;
    }

    [TestCase(new[] { 1, 1, 1, 5 }, new[] { 3, 4, 2, 5 })]
    [TestCase(new[] { 3, 1 }, new[] { 3, 5 })]
    [TestCase(new[] { 1, 4 }, new[] { 3, 4 })]
    [TestCase(new[] { 3, 1, 4 }, new[] { 3, 5, 4 })]
    [TestCase(new[] { 2, 1, 1 }, new[] { 2, 3, 4 })]
    [TestCase(new[] { 1, 3, 1 }, new[] { 2, 3, 4 })]
    [TestCase(new[] { 3, 1, 1, 1 }, new[] { 2, 3, 4, 2, 1 })]
    [TestCase(new[] { 4 }, new[] { 2, 3, 4 })]
    [TestCase(new[] { 1 }, new[] { 2, 3 })]
    [TestCase(new[] { 2, 1 }, new[] { 0, 2, 3 })]
    public void MatchesPerElementReference(int[] xd, int[] yd)
    {
        int n = xd.Aggregate(1, (a, b) => a * b);
        var xs = Enumerable.Range(0, n).Select(i => i * 1.5 - 2).ToArray();
        var g = new Graph();
        var x = g.Const(NDArray.From(xs, xd));
        var y = g.BroadcastTo(x, g.Const(NDArray.From(yd)));
        using var s = new Session(g);
        var r = s.Run(y);
        Assert.That(r.Dims.ToArray(), Is.EqualTo(yd));
        Assert.That(r.ToDoubleArray(), Is.EqualTo(Reference(xs, xd, yd)));
    }
}
