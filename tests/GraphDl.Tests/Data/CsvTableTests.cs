using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class CsvTableTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    [Test]
    public void ParsesHeaderNumbersAndEmptyCells()
    {
        string p = _dir.Write("a.csv", "x,y,label\r\n1,2.5,0\r\n-3e2,,1\r\n\r\n");
        var t = CsvTable.Load(p);
        Assert.That(t.RowCount, Is.EqualTo(2));
        Assert.That(t.Columns, Is.EqualTo(new[] { "x", "y", "label" }));
        Assert.That(t.Column("x"), Is.EqualTo(new[] { 1.0, -300.0 }));
        Assert.That(double.IsNaN(t.Column("y")[1]), Is.True);
        Assert.That(t.ColumnIndex("label"), Is.EqualTo(2));
        Assert.That(t.Labels("label"), Is.EqualTo(new[] { 0, 1 }));
        Assert.That(t.Path, Is.EqualTo(Path.GetFullPath(p)));
    }

    [Test]
    public void FeaturesAreRowMajorWithoutExcludedColumns()
    {
        var t = CsvTable.Load(_dir.Write("a.csv", "a,b,c\n1,2,3\n4,5,6\n"));
        var (x, rows, cols, names) = t.Features("b");
        Assert.That((rows, cols), Is.EqualTo((2, 2)));
        Assert.That(names, Is.EqualTo(new[] { "a", "c" }));
        Assert.That(x, Is.EqualTo(new float[] { 1, 3, 4, 6 }));
        Assert.That(t.Target("b"), Is.EqualTo(new float[] { 2, 5 }));
    }

    [Test]
    public void MissingFileNamesFullPath()
    {
        string p = Path.Combine(_dir.Path, "nope.csv");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(p))!;
        Assert.That(e.Message, Does.Contain(Path.GetFullPath(p)));
        Assert.That(e.InnerException, Is.InstanceOf<FileNotFoundException>());
    }

    [Test]
    public void EmptyFileIsRejected()
    {
        string p = _dir.Write("empty.csv", "");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(p))!;
        Assert.That(e.Message, Does.Contain(p).And.Contain("empty"));
    }

    [Test]
    public void HeaderOnlyFileIsRejected()
    {
        string p = _dir.Write("h.csv", "a,b\n");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(p))!;
        Assert.That(e.Message, Does.Contain(p).And.Contain("no data rows"));
    }

    [Test]
    public void NonNumericCellNamesLineRowAndColumn()
    {
        string p = _dir.Write("bad.csv", "a,b\n1,2\n3,4\n5,oops\n");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(p))!;
        Assert.That(e.Message, Does.Contain(p).And.Contain("line 4").And.Contain("data row 2")
            .And.Contain("'b'").And.Contain("'oops'"));
    }

    [Test]
    public void ParsingIgnoresTheCurrentCulture()
    {
        var old = System.Globalization.CultureInfo.CurrentCulture;
        try
        {
            System.Globalization.CultureInfo.CurrentCulture = new System.Globalization.CultureInfo("de-DE");
            var t = CsvTable.Load(_dir.Write("de.csv", "a\n1.5\n1e3\n"));
            Assert.That(t.Column("a"), Is.EqualTo(new[] { 1.5, 1000.0 }));
        }
        finally
        {
            System.Globalization.CultureInfo.CurrentCulture = old;
        }
        Assert.Throws<DataFormatException>(() => CsvTable.Load(_dir.Write("semi.csv", "a\n1;5\n")));
    }

    [Test]
    public void RaggedRowIsRejected()
    {
        string p = _dir.Write("rag.csv", "a,b,c\n1,2,3\n4,5\n");
        var e = Assert.Throws<DataFormatException>(() => CsvTable.Load(p))!;
        Assert.That(e.Message, Does.Contain(p).And.Contain("line 3").And.Contain("2 cells").And.Contain("3 columns"));
    }

    [Test]
    public void DuplicateOrEmptyHeaderNamesAreRejected()
    {
        Assert.Throws<DataFormatException>(() => CsvTable.Load(_dir.Write("d.csv", "a,a\n1,2\n")));
        Assert.Throws<DataFormatException>(() => CsvTable.Load(_dir.Write("e.csv", "a,,b\n1,2,3\n")));
    }

    [Test]
    public void UnknownColumnListsAvailableColumns()
    {
        string p = _dir.Write("a.csv", "alpha,beta\n1,2\n");
        var t = CsvTable.Load(p);
        var e = Assert.Throws<DataFormatException>(() => t.Column("gamma"))!;
        Assert.That(e.Message, Does.Contain("'gamma'").And.Contain("alpha, beta").And.Contain(p));
        Assert.Throws<DataFormatException>(() => t.Features("gamma"));
    }

    [TestCase("0.5")]
    [TestCase("-1")]
    [TestCase("")]
    public void LabelsMustBeWholeNonNegative(string bad)
    {
        var t = CsvTable.Load(_dir.Write("l.csv", $"x,label\n1,0\n2,{bad}\n"));
        var e = Assert.Throws<DataFormatException>(() => t.Labels("label"))!;
        Assert.That(e.Message, Does.Contain("line 3").And.Contain("data row 1").And.Contain("'label'"));
    }

    [Test]
    public void ShippedFilesHaveDocumentedShapes()
    {
        Assert.Multiple(() =>
        {
            AssertShape("iris.csv", 150, 5, "label");
            AssertShape("breast_cancer.csv", 569, 31, "label");
            AssertShape("diabetes.csv", 442, 11, "target");
            AssertShape("longley.csv", 16, 8, "TOTEMP");
            AssertShape("digits_train.csv", 1437, 65, "label");
            AssertShape("digits_test.csv", 360, 65, "label");
        });
        var bc = CsvTable.Load(DataPaths.Find("breast_cancer.csv")).Labels("label");
        Assert.That(bc.Count(v => v == 0), Is.EqualTo(212));
        Assert.That(bc.Count(v => v == 1), Is.EqualTo(357));
    }

    private static void AssertShape(string file, int rows, int cols, string column)
    {
        var t = CsvTable.Load(DataPaths.Find(file));
        Assert.That(t.RowCount, Is.EqualTo(rows), file);
        Assert.That(t.Columns, Has.Count.EqualTo(cols), file);
        Assert.That(t.Column(column).Any(double.IsNaN), Is.False, file);
    }
}
