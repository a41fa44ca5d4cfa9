using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>One model trained with six optimizers, compared per epoch and per parameter update.</summary>
public sealed class OptimizersExample : Example
{
    readonly Option<Widths> _hidden = Opt.Layers("--hidden", "Hidden-layer widths", [32]);
    readonly Option<double> _momentum = Opt.Double("--momentum", "Momentum coefficient (momentum variant)", 0.9,
        v => v >= 0 && v < 1 ? null : "must be in [0, 1)");
    readonly Option<int> _updates = Opt.Int("--updates", "Also compare the training loss after this many parameter updates (batch-gd runs extra epochs to get there)", 100, min: 1);

    /// <inheritdoc/>
    public override string Name => "optimizers";

    /// <inheritdoc/>
    public override string Description => "Digits MLP trained with batch GD, SGD, mini-batch GD, momentum, RMSProp and Adam";

    /// <inheritdoc/>
    public override string Details => Description + ". All variants use the same network, initial weights and learning " +
        "rate. batch-gd takes one step per epoch on the whole training set, sgd one step per example, the others one step " +
        "per mini-batch of --batch-size (batch-gd runs more epochs when --epochs gives it fewer than --updates steps). Prints the training loss after the same number of epochs and after the same " +
        "number of parameter updates; logs the per-epoch tags plus updates/train_loss (step = update count). " +
        "Variants: batch-gd, sgd, minibatch-gd, momentum, rmsprop, adam.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 5;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.01;

    /// <inheritdoc/>
    public override string DefaultData => "data/ (digits IDX files)";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["batch-gd", "sgd", "minibatch-gd", "momentum", "rmsprop", "adam"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_hidden, _momentum, _updates];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = TabularData.Digits(ctx.Data).ForSmoke(ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");
        double lr = ctx.LearningRate;
        int BatchOf(string v) => v switch { "batch-gd" => data.TrainRows, "sgd" => 1, _ => ctx.Batch(data.TrainRows) };
        int UpdatesPerEpoch(string v) => (data.TrainRows + BatchOf(v) - 1) / BatchOf(v);
        int epochs = ctx.Epochs;
        long equal = ctx.Smoke ? 1 : ctx.Get(_updates);

        var rows = new List<IReadOnlyList<string>>();
        foreach (string variant in ctx.Variants)
        {
            using var m = new Model(ctx, data);
            var g = m.Graph;
            m.SetOutput(DeepNnExample.Mlp(g, m.X, ctx.Get(_hidden).Values, x => g.Relu(x), data.Classes));
            Optimizer optimizer = variant switch
            {
                "momentum" => new MomentumOptimizer(lr, ctx.Get(_momentum)),
                "rmsprop" => new RMSPropOptimizer(lr),
                "adam" => new AdamOptimizer(lr),
                _ => new GradientDescentOptimizer(lr),
            };
            m.Minimize(optimizer);
            m.Start();
            // A variant that makes fewer than --updates steps in --epochs epochs (batch-gd) keeps going until it has.
            int runEpochs = (int)Math.Max(epochs, (equal + UpdatesPerEpoch(variant) - 1) / UpdatesPerEpoch(variant));
            using var log = ctx.OpenLog(variant, [("batch rows", BatchOf(variant).ToString()), ("epochs run", runEpochs.ToString())]);

            double atUpdates = double.NaN, atEpochs = double.NaN, testAtEpochs = double.NaN;
            long every = Math.Max(1, equal / 20);
            log.Scalar("updates/train_loss", m.EvalLoss(train: true), 0);
            var fit = Trainer.Fit(ctx, m, log, $"{Name}/{variant}", runEpochs, BatchOf(variant), ctx.Seed,
                afterUpdate: n =>
                {
                    if (n > equal || (n % every != 0 && n != equal))
                        return;
                    double loss = m.EvalLoss(train: true);
                    log.Scalar("updates/train_loss", loss, n);
                    if (n == equal)
                        atUpdates = loss;
                },
                afterEpoch: e =>
                {
                    if (e != epochs)
                        return;
                    atEpochs = m.EvalLoss(train: true);
                    testAtEpochs = m.Evaluate(train: false)["accuracy"];
                });
            Trainer.Report(ctx, fit, variant);
            ctx.Metric("train/loss_after_epochs", atEpochs, variant);
            ctx.Metric("train/loss_after_updates", atUpdates, variant);
            rows.Add([variant, BatchOf(variant).ToString(), ((long)UpdatesPerEpoch(variant) * epochs).ToString(), $"{atEpochs:F4}",
                $"{testAtEpochs:F4}", $"{atUpdates:F4}", $"{fit.Elapsed.TotalSeconds:F1}s"]);
        }
        ctx.Line();
        ctx.Table(["optimizer", "batch", $"updates in {epochs} epochs", $"loss @ {epochs} epochs", "test/accuracy", $"loss @ {equal} updates", "time"], rows);
        ctx.Line($"  Losses are the mean cross-entropy over the whole training set; every variant uses learning rate {lr}.");
        ctx.Line("  Per epoch, small batches win because they take many more steps; per update, momentum and the adaptive");
        ctx.Line("  methods (RMSProp, Adam) get further than plain gradient descent.");
    }
}
