using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>A scaled-down AlexNet on Fashion-MNIST: five convolutions with batch normalization, three max-pools, three fully
/// connected layers with dropout.</summary>
public sealed class AlexNetExample : Example
{
    readonly Option<double> _dropout = Opt.Double("--dropout", "Dropout rate of the fully connected layers", 0.5,
        v => v is >= 0 and < 1 ? null : "must be in [0, 1)");

    /// <inheritdoc/>
    public override string Name => "alexnet";

    /// <inheritdoc/>
    public override string Description => "Fashion-MNIST 28x28: scaled AlexNet, 5 convs 16-32-48-48-32 with batch norm, 3 max-pools, 3 fc with dropout, Adam";

    /// <inheritdoc/>
    public override string Details => Description + ". Layers: Conv(16, 5x5) -> BN -> ReLU -> MaxPool(2) -> Conv(32, 3x3) -> BN -> ReLU -> " +
        "MaxPool(2) -> Conv(48, 3x3) -> BN -> ReLU -> Conv(48, 3x3) -> BN -> ReLU -> Conv(32, 3x3) -> BN -> ReLU -> MaxPool(2) -> " +
        "Flatten -> Dense(256, relu) -> Dropout -> Dense(128, relu) -> Dropout -> Dense(10); SAME padding; the batch-norm moving " +
        "averages update with each step (UPDATE_OPS) and serve at test time. Prints the model summary. Default data: the shipped " +
        "Fashion-MNIST test set split 8000/2000; --data takes a folder of MNIST-style IDX files. Pass mark: test accuracy >= 0.86.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 12;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 64;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.001;

    /// <inheritdoc/>
    public override string DefaultData => "data/fashion-mnist (test set split 8000/2000)";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_dropout];

    /// <summary>The network on 28x28x1 images; returns the logits.</summary>
    public static Tensor Network(Graph g, Tensor x, Tensor training, int classes, double dropout)
    {
        Tensor Block(Tensor h, int filters, int k)
        {
            h = g.Conv2D(h, filters, k, padding: "same", useBias: false);
            // Momentum 0.9 (not TF's 0.99): with ~125 steps per epoch the averages must settle within an epoch.
            h = g.BatchNormalization(h, training, momentum: 0.9);
            return g.Relu(h);
        }
        Func<Tensor, Tensor> relu = t => g.Relu(t);
        var h = Block(x, 16, 5);
        h = g.MaxPooling2D(h, 2);                 // 14x14
        h = Block(h, 32, 3);
        h = g.MaxPooling2D(h, 2);                 // 7x7
        h = Block(h, 48, 3);
        h = Block(h, 48, 3);
        h = Block(h, 32, 3);
        h = g.MaxPooling2D(h, 2);                 // 3x3
        h = g.Flatten(h);
        h = g.Dense(h, 256, relu);
        h = g.DropoutLayer(h, dropout, training);
        h = g.Dense(h, 128, relu);
        h = g.DropoutLayer(h, dropout, training);
        return g.Dense(h, classes);
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = ImageData.FashionMnist(ctx.Data, pad: 0, ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");
        double dropout = ctx.Get(_dropout);
        using var m = new CnnModel(ctx, data, (g, x, training) => Network(g, x, training, data.Classes, dropout));
        m.TrainAndReport(ctx, Name);
    }
}
