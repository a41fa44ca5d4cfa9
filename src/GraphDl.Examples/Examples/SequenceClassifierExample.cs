using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Fashion-MNIST read row by row as a 28-step sequence of 28 pixels: a unidirectional, a bidirectional and a
/// two-layer LSTM, each on the fused <see cref="RnnBuilders.DynamicRnn"/>.</summary>
public sealed class SequenceClassifierExample : Example
{
    readonly Option<int> _units = Opt.Int("--units", "LSTM units per direction and layer", 64, min: 1);

    /// <inheritdoc/>
    public override string Name => "sequence-classifier";

    /// <inheritdoc/>
    public override string Description => "Fashion-MNIST row by row (28 steps of 28 pixels): unidirectional, bidirectional and two-layer LSTM(64)";

    /// <inheritdoc/>
    public override string Details => Description + ". Each image is a sequence: step t feeds pixel row t (28 values in [0, 1]). " +
        "Variants: lstm (one LSTM layer, its last hidden state -> Dense(10)); bidirectional (a forward and a backward LSTM, " +
        "both last hidden states concatenated -> Dense(10)); two-layer (MultiRNNCell of two LSTMs, the top layer's last hidden " +
        "state -> Dense(10)). Mean sparse softmax cross-entropy, Adam. All run on the fused sequence ops (DynamicRnn). " +
        "Default data: the shipped Fashion-MNIST test set, first 8000 images train, last 2000 test (--data as for lenet5). " +
        "Pass mark: test accuracy >= 0.82 for each variant (softmax regression reaches 0.819 on this split).";

    /// <inheritdoc/>
    public override int DefaultEpochs => 8;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 64;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.005;

    /// <inheritdoc/>
    public override string DefaultData => "data/fashion-mnist (test set split 8000/2000)";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["lstm", "bidirectional", "two-layer"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_units];

    /// <summary>The classifier's logits for images <paramref name="x"/> [?, H, W, 1] read as H steps of W pixels.</summary>
    public static Tensor Network(Graph g, Tensor x, string variant, int units, int classes)
    {
        var seq = g.Reshape(x, [-1, x.Shape[1], x.Shape[2]]);
        Tensor last;
        switch (variant)
        {
            case "lstm":
                last = g.DynamicRnn(new LSTMCell(units), seq).State[^1];
                break;
            case "bidirectional":
                var (_, _, fw, bw) = g.BidirectionalDynamicRnn(new LSTMCell(units), new LSTMCell(units), seq);
                last = g.Concat([fw[^1], bw[^1]], 1);
                break;
            case "two-layer":
                last = g.DynamicRnn(new MultiRNNCell([new LSTMCell(units), new LSTMCell(units)]), seq).State[^1];
                break;
            default: throw new ArgumentException($"unknown variant {variant}", nameof(variant));
        }
        return g.Dense(last, classes, name: "output");
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = ImageData.FashionMnist(ctx.Data, pad: 0, ctx.Smoke);
        int units = ctx.Get(_units);
        ctx.Line($"  data: {data.Describe()}; each image = {data.Height} steps of {data.Width} pixels");
        var rows = new List<IReadOnlyList<string>>();
        foreach (string v in ctx.Variants)
        {
            using var m = new CnnModel(ctx, data, (g, x, _) => Network(g, x, v, units, data.Classes));
            m.Minimize(new AdamOptimizer(ctx.LearningRate));
            m.Start();
            using var log = ctx.OpenLog(v);
            var fit = m.Fit(ctx, log, $"{Name} {v}", ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed);
            double acc = fit.Test["accuracy"];
            ctx.Metric("test/accuracy", acc, v);
            ctx.Metric("train/accuracy", fit.Train["accuracy"], v);
            long parameters = m.Graph.TrainableVariables.Sum(t => t.Shape.NumElements);
            rows.Add([v, $"{parameters}", $"{fit.Train["accuracy"]:F4}", $"{acc:F4}", $"{fit.Elapsed.TotalSeconds:F1} s"]);
        }
        ctx.Line();
        ctx.Table(["variant", "parameters", "train/accuracy", "test/accuracy", "training time"], rows);
    }
}
