using NUnit.Framework;

namespace GraphDl.Tests.Train;

/// <summary>Batch normalization after training: the moving averages, driven through UPDATE_OPS by the train op, converge to a
/// constant batch's statistics, and inference (training = false) then gives what training mode gives.</summary>
public class BatchNormInferenceTests
{
    [Test]
    public void AfterTrainingOnAConstantBatch_InferenceUsesTheMovingStatistics()
    {
        var g = new Graph { Seed = 3 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3, 3, 4), "x");
        var training = g.PlaceholderWithDefault(g.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
        var h = g.Conv2D(x, 4, 3, padding: "same", useBias: false);
        var y = g.BatchNormalization(h, training, momentum: 0.9);
        var loss = g.Mean(g.Square(y - 0.5f));
        var opt = new GraphDl.Train.GradientDescentOptimizer(1e-3);
        var step = opt.Minimize(loss);
        var train = g.Group([step, .. g.GetCollection<Operation>(GraphKeys.UpdateOps)]);
        var r = new Random(5);
        // Shifted and scaled input, so the batch statistics are far from the initial moving mean 0 and variance 1.
        var xs = Enumerable.Range(0, 8 * 36).Select(_ => (float)(r.NextDouble() * 6 + 3)).ToArray();
        var feed = NDArray.From(xs, 8, 3, 3, 4);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var before = s.Run(y, (x, feed)).ToFloatArray();
        for (int i = 0; i < 150; i++) s.Run([], [(x, feed), (training, NDArray.Scalar(true))], [train]);
        var trainMode = s.Run(y, (x, feed), (training, NDArray.Scalar(true))).ToFloatArray();
        var inference = s.Run(y, (x, feed)).ToFloatArray();
        double diffBefore = before.Zip(trainMode, (a, b) => Math.Abs(a - b)).Max();
        double diffAfter = inference.Zip(trainMode, (a, b) => Math.Abs(a - b)).Max();
        Assert.That(diffBefore, Is.GreaterThan(1), "the initial moving averages must differ from the batch statistics");
        Assert.That(diffAfter, Is.LessThan(2e-3), "inference output after training must use the converged moving averages");
        var mm = g.FindVariable("batch_normalization/moving_mean")!.Eval(s).ToFloatArray();
        Assert.That(mm.Max(v => Math.Abs(v)), Is.GreaterThan(0.1), "moving mean moved away from 0");
    }
}
