using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>XOR: a two-layer network learns it, a single-layer one cannot.</summary>
public sealed class XorExample : Example
{
    readonly Option<Widths> _hidden = Opt.Layers("--hidden", "Hidden-layer widths of the two-layer network", [8]);
    readonly Option<string> _activation = Opt.Choice("--activation", "Hidden activation", "tanh", "tanh", "sigmoid", "relu", "leaky-relu");

    /// <inheritdoc/>
    public override string Name => "xor";

    /// <inheritdoc/>
    public override string Description => "XOR: a network with a hidden layer learns it; a single-layer perceptron cannot";

    /// <inheritdoc/>
    public override string Details => Description + ". Both models have a sigmoid output trained on the four truth-table rows " +
        "with sigmoid cross-entropy and Adam. The single layer draws one straight line through the plane, so it gets at most " +
        "3 of the 4 rows right; the hidden layer bends the boundary. Variants: two-layer, single-layer.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 300;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 4;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.05;

    /// <inheritdoc/>
    public override string DefaultData => "the XOR truth table (no file)";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["two-layer", "single-layer"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_hidden, _activation];

    /// <summary>The XOR truth table as a data set (the same four rows for training and testing).</summary>
    public static TabularData TruthTable()
    {
        float[] x = [0, 0, 0, 1, 1, 0, 1, 1];
        int[] y = [0, 1, 1, 0];
        return new TabularData
        {
            Source = "xor truth table", FeatureNames = ["a", "b"], Task = TaskKind.Binary, Classes = 2,
            XTrain = x, XTest = x, LabelsTrain = y, LabelsTest = y,
        };
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        if (ctx.Data != null)
            throw new UsageException("xor trains on the XOR truth table and takes no --data.");
        var data = TruthTable();
        int[] hidden = ctx.Get(_hidden).Values;
        var activation = Activations.Get(ctx.Get(_activation));
        var rows = new List<IReadOnlyList<string>>();
        var outputs = new Dictionary<string, float[]>();
        foreach (string variant in ctx.Variants)
        {
            using var m = new Model(ctx, data);
            var g = m.Graph;
            Tensor h = m.X;
            if (variant == "two-layer")
                for (int i = 0; i < hidden.Length; i++)
                    h = g.Dense(h, hidden[i], activation, name: $"hidden{i + 1}");
            m.SetOutput(g.Dense(h, 1, name: "output"));
            m.Minimize(new AdamOptimizer(ctx.LearningRate));
            m.Start();
            using var log = ctx.OpenLog(variant);
            var fit = Trainer.Fit(ctx, m, log, $"{Name}/{variant}", ctx.Epochs, ctx.Batch(4), ctx.Seed);
            Trainer.Report(ctx, fit, variant);
            outputs[variant] = m.Predict(train: true).Select(z => 1 / (1 + MathF.Exp(-z))).ToArray();
            rows.Add([variant, $"{fit.TrainLoss:F4}", $"{fit.Test["accuracy"]:F2}"]);
        }

        ctx.Line();
        var header = new List<string> { "a", "b", "XOR" };
        header.AddRange(outputs.Keys.Select(v => $"{v} p(1)"));
        ctx.Table(header, Enumerable.Range(0, 4).Select(i =>
        {
            var r = new List<string> { data.XTrain[2 * i].ToString(), data.XTrain[2 * i + 1].ToString(), data.LabelsTrain[i].ToString() };
            r.AddRange(outputs.Values.Select(p => $"{p[i]:F3}"));
            return (IReadOnlyList<string>)r;
        }));
        ctx.Line();
        ctx.Table(["model", "final loss", "accuracy"], rows);
        if (outputs.ContainsKey("single-layer"))
            ctx.Line("  A single layer separates the plane with one line, so at most 3 of the 4 XOR rows can be right.");
    }
}
