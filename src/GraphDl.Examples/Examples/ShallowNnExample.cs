using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>A one-hidden-layer network on the breast-cancer data, one run per hidden activation.</summary>
public sealed class ShallowNnExample : Example
{
    readonly TabularOptions _tabular = new("label");
    readonly Option<int> _hidden = Opt.Int("--hidden", "Hidden units", 16, min: 1);

    /// <inheritdoc/>
    public override string Name => "shallow-nn";

    /// <inheritdoc/>
    public override string Description => "Breast cancer: one hidden layer + sigmoid output, hidden activations tanh, sigmoid, relu, leaky-relu";

    /// <inheritdoc/>
    public override string Details => Description + ". Each activation is a variant with its own log sub-folder, so " +
        "TensorBoard overlays their curves. Adam on mini-batches; pass mark: test accuracy >= 0.95 for every variant.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 20;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.005;

    /// <inheritdoc/>
    public override string DefaultData => "data/breast_cancer.csv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["tanh", "sigmoid", "relu", "leaky-relu"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => _tabular.All.Append(_hidden);

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = _tabular.Load(ctx, "breast_cancer.csv", TaskKind.Binary);
        var rows = new List<IReadOnlyList<string>>();
        foreach (string activation in ctx.Variants)
        {
            using var m = new Model(ctx, data);
            var g = m.Graph;
            var h = g.Dense(m.X, ctx.Get(_hidden), Activations.Get(activation), name: "hidden");
            m.SetOutput(g.Dense(h, data.Task == TaskKind.Binary ? 1 : data.Classes, name: "output"));
            m.Minimize(new AdamOptimizer(ctx.LearningRate));
            m.Start();
            using var log = ctx.OpenLog(activation);
            var fit = Trainer.Fit(ctx, m, log, $"{Name}/{activation}", ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed);
            Trainer.Report(ctx, fit, activation);
            rows.Add([activation, $"{fit.TrainLoss:F4}", $"{fit.Train["accuracy"]:F4}", $"{fit.Test["accuracy"]:F4}", $"{fit.Elapsed.TotalSeconds:F1}s"]);
        }
        ctx.Line();
        ctx.Table(["activation", "train/loss", "train/accuracy", "test/accuracy", "time"], rows);
    }
}
