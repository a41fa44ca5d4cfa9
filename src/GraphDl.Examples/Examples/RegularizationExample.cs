using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>The deep digits network without regularisation and with L2, L1 and dropout.</summary>
public sealed class RegularizationExample : Example
{
    readonly Option<Widths> _hidden = Opt.Layers("--hidden", "Hidden-layer widths", [128, 64]);
    readonly Option<double> _l2 = Opt.Positive("--l2", "L2 scale: adds scale * sum(w^2) / 2 per kernel to the loss", 0.001);
    readonly Option<double> _l1 = Opt.Positive("--l1", "L1 scale: adds scale * sum(|w|) per kernel to the loss", 0.0001);
    readonly Option<double> _dropout = Opt.Double("--dropout", "Dropout rate after each hidden layer (training only)", 0.3,
        v => v > 0 && v < 1 ? null : "must be between 0 and 1");

    /// <inheritdoc/>
    public override string Name => "regularization";

    /// <inheritdoc/>
    public override string Description => "The deep digits net with no regularization, L2, L1 and dropout; train vs test accuracy";

    /// <inheritdoc/>
    public override string Details => Description + ". Same network, data and optimizer as deep-nn; each variant writes a " +
        "log sub-folder. Prints train and test accuracy side by side (the gap is overfitting) and the final weight norm " +
        "sqrt(sum of squared kernel weights), which L2 keeps smaller. Variants: none, l2, l1, dropout.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 30;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.001;

    /// <inheritdoc/>
    public override string DefaultData => "data/ (digits IDX files)";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["none", "l2", "l1", "dropout"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_hidden, _l2, _l1, _dropout];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = TabularData.Digits(ctx.Data).ForSmoke(ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");
        var rows = new List<IReadOnlyList<string>>();
        foreach (string variant in ctx.Variants)
        {
            using var m = new Model(ctx, data);
            var g = m.Graph;
            Func<Tensor, Tensor>? reg = variant switch
            {
                "l2" => Regularizers.L2(ctx.Get(_l2)),
                "l1" => Regularizers.L1(ctx.Get(_l1)),
                _ => null,
            };
            double dropout = variant == "dropout" ? ctx.Get(_dropout) : 0;
            m.SetOutput(DeepNnExample.Mlp(g, m.X, ctx.Get(_hidden).Values, x => g.Relu(x), data.Classes, reg, dropout, m.Training));
            m.Minimize(new AdamOptimizer(ctx.LearningRate));
            m.Start();
            var kernels = g.TrainableVariables.Where(v => v.Name.EndsWith("kernel", StringComparison.Ordinal)).ToList();
            double WeightNorm() => Math.Sqrt(kernels.Sum(k => m.Value(k).Sum(v => (double)v * v)));

            using var log = ctx.OpenLog(variant);
            var fit = Trainer.Fit(ctx, m, log, $"{Name}/{variant}", ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed,
                afterEpoch: epoch => log.Scalar("weights/norm", WeightNorm(), epoch));
            Trainer.Report(ctx, fit, variant);
            double norm = WeightNorm();
            ctx.Metric("weights/norm", norm, variant);
            rows.Add([variant, $"{fit.TrainLoss:F4}", $"{fit.Train["accuracy"]:F4}", $"{fit.Test["accuracy"]:F4}",
                $"{fit.Train["accuracy"] - fit.Test["accuracy"]:F4}", $"{norm:F2}"]);
        }
        ctx.Line();
        ctx.Table(["variant", "train/loss", "train/accuracy", "test/accuracy", "gap", "weight norm"], rows);
        ctx.Line("  train/loss is the data loss (cross-entropy) without the penalty; weight norm = sqrt(sum of squared kernel weights).");
    }
}
