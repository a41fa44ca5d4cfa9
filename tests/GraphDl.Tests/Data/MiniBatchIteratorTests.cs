using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class MiniBatchIteratorTests
{
    [Test]
    public void SplitMix64MatchesReferenceVector()
    {
        // First outputs of Vigna's splitmix64.c seeded with 1234567.
        var r = new SplitMix64(1234567);
        Assert.That(r.NextUInt64(), Is.EqualTo(6457827717110365317UL));
        Assert.That(r.NextUInt64(), Is.EqualTo(3203168211198807973UL));
        Assert.That(r.NextUInt64(), Is.EqualTo(9817491932198370423UL));
    }

    [Test]
    public void NextIntStaysInRange()
    {
        var r = new SplitMix64(7);
        var counts = new int[3];
        for (int i = 0; i < 3000; i++)
            counts[r.NextInt(3)]++;
        Assert.That(counts, Is.All.InRange(900, 1100));
        Assert.Throws<ArgumentOutOfRangeException>(() => r.NextInt(0));
    }

    [Test]
    public void SameSeedAndEpochGiveSameOrder()
    {
        var a = new MiniBatchIterator(100, 16, seed: 42);
        var b = new MiniBatchIterator(100, 16, seed: 42);
        Assert.That(a.Permutation(3), Is.EqualTo(b.Permutation(3)));
        Assert.That(a.Permutation(0), Is.Not.EqualTo(new MiniBatchIterator(100, 16, seed: 43).Permutation(0)));
    }

    [Test]
    public void ReshufflesEveryEpochAndCoversAllRows()
    {
        var it = new MiniBatchIterator(100, 16, seed: 1);
        var seen = new List<int[]>();
        for (int epoch = 0; epoch < 5; epoch++)
        {
            var rows = it.Batches(epoch).SelectMany(b => b.ToArray()).ToArray();
            Assert.That(rows.OrderBy(i => i), Is.EqualTo(Enumerable.Range(0, 100)), $"epoch {epoch}");
            Assert.That(rows, Is.Not.EqualTo(Enumerable.Range(0, 100)));
            foreach (var previous in seen)
                Assert.That(rows, Is.Not.EqualTo(previous));
            seen.Add(rows);
        }
    }

    [Test]
    public void LastPartialBatchIncludedUnlessDropped()
    {
        var keep = new MiniBatchIterator(10, 4, seed: 0);
        Assert.That(keep.BatchesPerEpoch, Is.EqualTo(3));
        Assert.That(keep.Batches(0).Select(b => b.Length), Is.EqualTo(new[] { 4, 4, 2 }));
        var drop = new MiniBatchIterator(10, 4, seed: 0, dropLast: true);
        Assert.That(drop.Batches(0).Select(b => b.Length), Is.EqualTo(new[] { 4, 4 }));
        var ordered = new MiniBatchIterator(5, 2, seed: 0, shuffle: false);
        Assert.That(ordered.Batches(7).SelectMany(b => b.ToArray()), Is.EqualTo(new[] { 0, 1, 2, 3, 4 }));
    }

    [Test]
    public void GatherCopiesRowsIntoBuffer()
    {
        float[] x = [0, 1, 10, 11, 20, 21];  // 3 rows x 2 cols
        int[] y = [5, 6, 7];
        Span<float> xb = stackalloc float[4];
        Span<int> yb = stackalloc int[2];
        MiniBatchIterator.Gather(x, 2, [2, 0], xb);
        MiniBatchIterator.Gather(y, [2, 0], yb);
        Assert.That(xb.ToArray(), Is.EqualTo(new float[] { 20, 21, 0, 1 }));
        Assert.That(yb.ToArray(), Is.EqualTo(new[] { 7, 5 }));
        Assert.Throws<ArgumentOutOfRangeException>(() => MiniBatchIterator.Gather(x, 2, [3], new float[2]));
        Assert.Throws<ArgumentException>(() => MiniBatchIterator.Gather(x, 2, [0, 1], new float[3]));
    }
}
