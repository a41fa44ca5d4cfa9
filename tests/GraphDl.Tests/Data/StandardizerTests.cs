using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class StandardizerTests
{
    [Test]
    public void PopulationStdAndConstantColumn()
    {
        float[] x = [1, 5, 3, 5];  // 2 rows x 2 cols; column 1 is constant
        var s = Standardizer.FitNew(x, 2, 2);
        Assert.That(s.Mean, Is.EqualTo(new[] { 2.0, 5.0 }));
        Assert.That(s.Std, Is.EqualTo(new[] { 1.0, 1.0 }));  // population std of {1,3} is 1; constant -> 1
        float[] z = s.Transform(x, 2);
        Assert.That(z, Is.EqualTo(new float[] { -1, 0, 1, 0 }));
        Assert.That(x, Is.EqualTo(new float[] { 1, 5, 3, 5 }), "Transform must not modify its input");
        s.InverseTransformInPlace(z, 2);
        Assert.That(z, Is.EqualTo(x));
    }

    [Test]
    public void FitsOnTrainingRowsOnly()
    {
        var t = CsvTable.Load(DataPaths.Find("breast_cancer.csv"));
        var (x, rows, cols, _) = t.Features("label");
        var (tr, te) = Split.Indices(rows, 0.2, SplitKind.Interleaved);
        float[] xTrain = Split.Take(x, cols, tr), xTest = Split.Take(x, cols, te);
        var s = Standardizer.FitNew(xTrain, tr.Length, cols);
        s.TransformInPlace(xTrain, cols);
        s.TransformInPlace(xTest, cols);
        for (int c = 0; c < cols; c++)
        {
            double trainMean = Enumerable.Range(0, tr.Length).Average(r => xTrain[r * cols + c]);
            double trainVar = Enumerable.Range(0, tr.Length).Average(r => Math.Pow(xTrain[r * cols + c] - trainMean, 2));
            Assert.That(trainMean, Is.EqualTo(0).Within(1e-5), $"column {c}");
            Assert.That(trainVar, Is.EqualTo(1).Within(1e-4), $"column {c}");
        }
        double maxTestMean = Enumerable.Range(0, cols)
            .Max(c => Math.Abs(Enumerable.Range(0, te.Length).Average(r => xTest[r * cols + c])));
        Assert.That(maxTestMean, Is.GreaterThan(1e-3), "test rows were not part of the fit, so their mean is not zero");
    }

    [Test]
    public void Misuse()
    {
        var s = new Standardizer();
        Assert.Throws<InvalidOperationException>(() => s.TransformInPlace(new float[4], 2));
        Assert.Throws<ArgumentException>(() => s.Fit(new float[5], 2, 2));
        Assert.Throws<ArgumentException>(() => s.Fit([1, float.NaN], 2, 1));
        s.Fit(new float[4], 2, 2);
        Assert.Throws<ArgumentException>(() => s.Transform(new float[6], 3));
        Assert.Throws<ArgumentException>(() => s.Transform(new float[3], 2));
    }
}
