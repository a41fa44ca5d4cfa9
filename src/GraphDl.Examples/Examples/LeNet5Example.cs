using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>LeNet-5 on Fashion-MNIST: two 5x5 convolutions with max pooling, three fully connected layers.</summary>
public sealed class LeNet5Example : Example
{
    /// <inheritdoc/>
    public override string Name => "lenet5";

    /// <inheritdoc/>
    public override string Description => "Fashion-MNIST (28x28 padded to 32x32): LeNet-5 conv 6 - pool - conv 16 - pool - fc 120 - 84 - 10, Adam";

    /// <inheritdoc/>
    public override string Details => Description + ". Layers: Conv2D(6, 5x5, relu) -> MaxPooling2D(2) -> Conv2D(16, 5x5, relu) -> " +
        "MaxPooling2D(2) -> Flatten -> Dense(120, relu) -> Dense(84, relu) -> Dense(10), mean sparse softmax cross-entropy, Adam. " +
        "Default data: the shipped Fashion-MNIST test set, first 8000 images for training and last 2000 for testing; " +
        "--data takes a folder of MNIST-style IDX files (train-* and t10k-*, raw or .gz). Writes the first layer's filters " +
        "as PNG files. Pass mark: test accuracy >= 0.855 (an MLP reaches 0.8385 on this split).";

    /// <inheritdoc/>
    public override int DefaultEpochs => 30;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 64;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.001;

    /// <inheritdoc/>
    public override string DefaultData => "data/fashion-mnist (test set split 8000/2000)";

    /// <summary>The LeNet-5 network on 32x32x1 images; returns the logits.</summary>
    public static Tensor Network(Graph g, Tensor x, int classes)
    {
        Func<Tensor, Tensor> relu = h => g.Relu(h);
        var h = g.Conv2D(x, 6, 5, activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Conv2D(h, 16, 5, activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Flatten(h);
        h = g.Dense(h, 120, relu);
        h = g.Dense(h, 84, relu);
        return g.Dense(h, classes);
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = ImageData.FashionMnist(ctx.Data, pad: 2, ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");
        using var m = new CnnModel(ctx, data, (g, x, _) => Network(g, x, data.Classes));
        m.TrainAndReport(ctx, Name);
    }
}
