using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Logistic regression on the Wisconsin breast-cancer data.</summary>
public sealed class LogisticRegressionExample : Example
{
    readonly TabularOptions _tabular = new("label");

    /// <inheritdoc/>
    public override string Name => "logistic-regression";

    /// <inheritdoc/>
    public override string Description => "Breast cancer (benign vs malignant): logistic regression with sigmoid cross-entropy";

    /// <inheritdoc/>
    public override string Details => Description + ". p(benign) = sigmoid(xw + b) on the 30 standardised features, trained by " +
        "mini-batch gradient descent on the mean sigmoid cross-entropy. Pass mark: test accuracy >= 0.95 (published: 97.5%).";

    /// <inheritdoc/>
    public override int DefaultEpochs => 30;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.1;

    /// <inheritdoc/>
    public override string DefaultData => "data/breast_cancer.csv";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => _tabular.All;

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = _tabular.Load(ctx, "breast_cancer.csv", TaskKind.Binary);
        if (data.Task != TaskKind.Binary)
            throw new UsageException($"logistic-regression needs two classes; '{ctx.Get(_tabular.Target)}' has {data.Classes} (try csv-classifier).");
        using var m = new Model(ctx, data);
        // logits = xw + b; the loss applies the sigmoid itself, in a numerically stable form.
        m.SetOutput(m.Graph.Dense(m.X, 1, name: "logistic"));
        m.Minimize(new GradientDescentOptimizer(ctx.LearningRate));
        m.Start();
        using var log = ctx.OpenLog();
        var fit = Trainer.Fit(ctx, m, log, Name, ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed);
        Trainer.Report(ctx, fit);
        ctx.Line();
        ctx.Table(["metric", "value"],
        [
            ["train/loss", $"{fit.TrainLoss:F4}"],
            ["train/accuracy", $"{fit.Train["accuracy"]:F4}"],
            ["test/accuracy", $"{fit.Test["accuracy"]:F4}  ({Math.Round(fit.Test["accuracy"] * data.TestRows)}/{data.TestRows})"],
        ]);
    }
}
