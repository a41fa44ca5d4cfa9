using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class SplitTests
{
    [TestCase("breast_cancer.csv", 456, 113)]
    [TestCase("diabetes.csv", 354, 88)]
    [TestCase("iris.csv", 120, 30)]
    public void InterleavedDefaultSplitMatchesReadme(string file, int train, int test)
    {
        int n = CsvTable.Load(DataPaths.Find(file)).RowCount;
        var (tr, te) = Split.Indices(n, Split.DefaultTestFraction, SplitKind.Interleaved);
        Assert.That(tr, Has.Length.EqualTo(train));
        Assert.That(te, Has.Length.EqualTo(test));
        Assert.That(te, Is.All.Matches<int>(i => i % 5 == 4));
        Assert.That(tr.Concat(te).OrderBy(i => i), Is.EqualTo(Enumerable.Range(0, n)));
    }

    [Test]
    public void IrisInterleavedTestSetHasTenPerClass()
    {
        var t = CsvTable.Load(DataPaths.Find("iris.csv"));
        var (_, te) = Split.Indices(t.RowCount, 0.2, SplitKind.Interleaved);
        int[] y = Split.Take(t.Labels("label"), te);
        Assert.That(y.GroupBy(v => v).Select(g => g.Count()), Is.EqualTo(new[] { 10, 10, 10 }));
    }

    [TestCase(569, 0.2, 455, 114)]   // 113.8 rounds to 114
    [TestCase(442, 0.2, 354, 88)]    // 88.4 -> 88
    [TestCase(10, 0.25, 7, 3)]       // 2.5 -> 3 (away from zero)
    [TestCase(150, 0.3, 105, 45)]    // tail accepts any fraction
    public void TailTakesLastRoundedRows(int n, double f, int train, int test)
    {
        var (tr, te) = Split.Indices(n, f, SplitKind.Tail);
        Assert.That(tr, Is.EqualTo(Enumerable.Range(0, train)));
        Assert.That(te, Is.EqualTo(Enumerable.Range(train, test)));
    }

    [Test]
    public void InterleavedRejectsFractionWhoseInverseIsNotWhole()
    {
        var e = Assert.Throws<ArgumentException>(() => Split.Indices(100, 0.3, SplitKind.Interleaved))!;
        Assert.That(e.Message, Does.Contain("0.3").And.Contain("whole number"));
    }

    [TestCase(0.5, 2)]
    [TestCase(0.1, 10)]
    [TestCase(0.25, 4)]
    public void InterleavedAcceptsWholeInverses(double f, int k)
    {
        var (_, te) = Split.Indices(100, f, SplitKind.Interleaved);
        Assert.That(te, Is.EqualTo(Enumerable.Range(0, 100).Where(i => i % k == k - 1)));
    }

    [TestCase(0.0)]
    [TestCase(1.0)]
    [TestCase(-0.1)]
    [TestCase(double.NaN)]
    public void FractionOutsideOpenUnitIntervalIsRejected(double f)
    {
        Assert.Throws<ArgumentException>(() => Split.Indices(100, f, SplitKind.Tail));
        Assert.Throws<ArgumentException>(() => Split.Indices(100, f, SplitKind.Interleaved));
    }

    [Test]
    public void EmptyTestSetIsRejected()
    {
        Assert.Throws<ArgumentException>(() => Split.Indices(4, 0.2, SplitKind.Interleaved));
        Assert.Throws<ArgumentException>(() => Split.Indices(2, 0.2, SplitKind.Tail));
    }

    [Test]
    public void ParseKind()
    {
        Assert.That(Split.ParseKind("Tail"), Is.EqualTo(SplitKind.Tail));
        Assert.That(Split.ParseKind("interleaved"), Is.EqualTo(SplitKind.Interleaved));
        Assert.Throws<ArgumentException>(() => Split.ParseKind("random"));
    }
}
