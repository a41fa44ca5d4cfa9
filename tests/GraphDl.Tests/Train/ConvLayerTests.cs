using GraphDl.Tests.Ops;
using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Conv2D, pooling, Flatten and BatchNormalization layers: TF1 names, shapes, batch statistics and moving
/// averages, and the model summary table.</summary>
public class ConvLayerTests
{
    [Test]
    public void Conv2D_NamesShapesAndSummary()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 32, 32, 3), "x");
        var c1 = g.Conv2D(x, 6, 5, activation: h => g.Relu(h));
        var p1 = g.MaxPooling2D(c1, 2);
        var c2 = g.Conv2D(p1, 16, 5, padding: "same");
        var a2 = g.AveragePooling2D(c2, 2, padding: "same");
        var flat = g.Flatten(a2);
        var logits = g.Dense(flat, 10);
        Assert.That(g.GlobalVariables.Select(v => v.Name), Is.EqualTo(new[]
            { "conv2d/kernel", "conv2d/bias", "conv2d_1/kernel", "conv2d_1/bias", "dense/kernel", "dense/bias" }));
        Assert.That(g.FindVariable("conv2d/kernel")!.Shape, Is.EqualTo(Shape.Of(5, 5, 3, 6)));
        Assert.That(c1.Shape, Is.EqualTo(Shape.Of(-1, 28, 28, 6)));
        Assert.That(p1.Shape, Is.EqualTo(Shape.Of(-1, 14, 14, 6)));
        Assert.That(c2.Shape, Is.EqualTo(Shape.Of(-1, 14, 14, 16)));
        Assert.That(a2.Shape, Is.EqualTo(Shape.Of(-1, 7, 7, 16)));
        Assert.That(flat.Shape, Is.EqualTo(Shape.Of(-1, 784)));
        Assert.That(logits.Shape, Is.EqualTo(Shape.Of(-1, 10)));

        var layers = ModelSummary.Layers(g);
        Assert.That(layers.Select(l => (l.Name, l.Type, l.Parameters)), Is.EqualTo(new (string, string, long)[]
        {
            ("conv2d", "Conv2D", 456), ("max_pooling2d", "MaxPooling2D", 0), ("conv2d_1", "Conv2D", 5 * 5 * 6 * 16 + 16),
            ("average_pooling2d", "AveragePooling2D", 0), ("flatten", "Flatten", 0), ("dense", "Dense", 7850),
        }));
        var table = ModelSummary.Describe(g);
        TestContext.Out.WriteLine(table);
        Assert.That(table, Does.Contain("conv2d (Conv2D)").And.Contain("(None, 28, 28, 6)").And.Contain("456"));
        Assert.That(table, Does.Contain($"Total params: {456 + 2416 + 7850:N0}".Replace("\u00a0", ",")));
        var part = ModelSummary.Describe([c1, p1]);
        Assert.That(part, Does.Contain("max_pooling2d (MaxPooling2D)").And.Contain("Total params: 456"));

        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var r = s.Run(logits, (x, NDArray.From(new float[2 * 32 * 32 * 3], 2, 32, 32, 3)));
        Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { 2, 10 }));
    }

    [Test]
    public void Layers_RejectBadInputs()
    {
        var g = new Graph();
        Assert.Throws<GraphBuildException>(() => g.Conv2D(g.Placeholder(DType.Float32, Shape.Of(-1, 28, 28)), 6, 5));
        Assert.Throws<ArgumentException>(() => g.Conv2D(g.Placeholder(DType.Float32, Shape.Of(-1, 28, 28, 1)), 6, 5, padding: "full"));
        Assert.Throws<GraphBuildException>(() => g.Flatten(g.Placeholder(DType.Float32, Shape.Of(-1, -1, 3))));
        Assert.Throws<GraphBuildException>(() => g.BatchNormalization(g.Placeholder(DType.Float32, Shape.Of(-1, 3)), g.Scalar(1, DType.Float32)));
    }

    [Test]
    public void BatchNormalization_TrainingUsesBatchStatistics_InferenceUsesMovingAverages()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Of(-1, 2, 2, 3), "x");
        var training = g.PlaceholderWithDefault(g.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
        var y = g.BatchNormalization(x, training, momentum: 0.9, epsilon: 1e-3);
        Assert.That(g.GlobalVariables.Select(v => v.Name), Is.EqualTo(new[]
        {
            "batch_normalization/gamma", "batch_normalization/beta", "batch_normalization/moving_mean", "batch_normalization/moving_variance",
        }));
        Assert.That(g.TrainableVariables.Select(v => v.Name), Is.EqualTo(new[] { "batch_normalization/gamma", "batch_normalization/beta" }));
        var updates = g.GetCollection<Operation>(GraphKeys.UpdateOps);
        Assert.That(updates.Count, Is.EqualTo(2));

        var r = new Random(3);
        var xs = Enumerable.Range(0, 4 * 12).Select(_ => r.NextDouble() * 4 + 1).ToArray();
        var feed = NDArray.From(xs, 4, 2, 2, 3);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());

        // Inference at the initial averages (mean 0, variance 1): y = x / sqrt(1 + eps); the updates change nothing.
        var inf = s.Run([y], [(x, feed)], [.. updates])[0].ToDoubleArray();
        NumericAssert.AllClose(inf, xs.Select(v => v / Math.Sqrt(1.001)).ToArray(), 1e-12, 1e-12, "inference");
        Assert.That(g.FindVariable("batch_normalization/moving_mean")!.Eval(s).ToDoubleArray(), Is.All.EqualTo(0.0));

        // Training: per channel mean 0 and (biased) variance var/(var + eps); moving averages move by 10%.
        var tr = s.Run([y], [(x, feed), (training, NDArray.Scalar(true))], [.. updates])[0].ToDoubleArray();
        for (int c = 0; c < 3; c++)
        {
            var xc = xs.Where((_, i) => i % 3 == c).ToArray();
            var yc = tr.Where((_, i) => i % 3 == c).ToArray();
            double m = xc.Average(), v = xc.Select(e => (e - m) * (e - m)).Average();
            Assert.That(yc.Average(), Is.EqualTo(0).Within(1e-12));
            Assert.That(yc.Select(e => e * e).Average(), Is.EqualTo(v / (v + 1e-3)).Within(1e-12));
            Assert.That(g.FindVariable("batch_normalization/moving_mean")!.Eval(s).ToDoubleArray()[c], Is.EqualTo(0.1 * m).Within(1e-12));
            Assert.That(g.FindVariable("batch_normalization/moving_variance")!.Eval(s).ToDoubleArray()[c], Is.EqualTo(0.9 + 0.1 * v).Within(1e-12));
        }
        var summary = ModelSummary.Describe(g);
        Assert.That(summary, Does.Contain("Trainable params: 6").And.Contain("Non-trainable params: 6"));
    }
}
