using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>A general tool for a user's CSV file: an MLP (or a linear model) with the same options, logs and metrics as the examples.</summary>
public abstract class CsvToolExample(TaskKind task, string defaultFile, string defaultTarget) : Example
{
    readonly TabularOptions _tabular = new(defaultTarget);
    readonly Option<Widths> _hidden = Opt.Layers("--hidden", "Hidden-layer widths such as 64,32, or none for a linear/logistic model", [64, 32]);
    readonly Option<string> _activation = Opt.Choice("--activation", "Hidden activation", "relu", "relu", "tanh", "sigmoid", "leaky-relu");
    readonly Option<string?> _drop = Opt.Text("--drop", "Comma-separated columns that are not features (ids, row numbers)", "COLUMNS");
    readonly Option<string> _optimizer = Opt.Choice("--optimizer", "Optimizer", "adam", "adam", "sgd", "momentum", "rmsprop");

    /// <inheritdoc/>
    public override int DefaultEpochs => 30;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.001;

    /// <inheritdoc/>
    public override string DefaultData => $"data/{defaultFile} with --target {defaultTarget}";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => _tabular.All.Concat([_drop, _hidden, _activation, _optimizer]);

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        string[] drop = (ctx.Get(_drop) ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var data = _tabular.Load(ctx, defaultFile, task, drop);
        int[] hidden = ctx.Get(_hidden).Values;
        using var m = new Model(ctx, data);
        var g = m.Graph;
        Tensor h = m.X;
        for (int i = 0; i < hidden.Length; i++)
            h = g.Dense(h, hidden[i], Activations.Get(ctx.Get(_activation)), name: $"hidden{i + 1}");
        m.SetOutput(g.Dense(h, data.Task == TaskKind.MultiClass ? data.Classes : 1, name: "output"));
        double lr = ctx.LearningRate;
        m.Minimize(ctx.Get(_optimizer) switch
        {
            "sgd" => new GradientDescentOptimizer(lr),
            "momentum" => new MomentumOptimizer(lr, 0.9),
            "rmsprop" => new RMSPropOptimizer(lr),
            _ => new AdamOptimizer(lr),
        });
        m.Start();
        string model = hidden.Length == 0
            ? (task == TaskKind.Regression ? "linear regression" : data.Task == TaskKind.Binary ? "logistic regression" : "softmax regression")
            : $"MLP {string.Join("-", hidden)} ({ctx.Get(_activation)})";
        ctx.Line($"  model: {model}, {ctx.Get(_optimizer)} learning rate {lr}");
        using var log = ctx.OpenLog(extra: [("model", model), ("features", string.Join(",", data.FeatureNames))]);
        var fit = Trainer.Fit(ctx, m, log, Name, ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed);
        Trainer.Report(ctx, fit);
        ctx.Line();
        var rows = new List<IReadOnlyList<string>> { new[] { "train/loss", $"{fit.TrainLoss:F4}" } };
        if (fit.Train.TryGetValue("accuracy", out double trainAcc))
            rows.Add(["train/accuracy", $"{trainAcc:F4}"]);
        else
            rows.Add(["train/r2", $"{fit.Train["r2"]:F4}"]);
        rows.AddRange(fit.Test.Select(kv => (IReadOnlyList<string>)["test/" + kv.Key, $"{kv.Value:F4}"]));
        ctx.Table(["metric", "value"], rows);
    }
}

/// <summary>Classifier for a CSV file (default: breast cancer, column <c>label</c>).</summary>
public sealed class CsvClassifierExample() : CsvToolExample(TaskKind.Binary, "breast_cancer.csv", "label")
{
    /// <inheritdoc/>
    public override string Name => "csv-classifier";

    /// <inheritdoc/>
    public override string Description => "Any CSV: predict a class column (--data FILE --target COLUMN) with an MLP or logistic regression";

    /// <inheritdoc/>
    public override string Details => Description + ". All other columns are numeric features, standardised with the " +
        "training rows' statistics; the target holds class labels 0, 1, ... (two classes: sigmoid output; more: softmax). " +
        "--hidden none gives logistic (softmax) regression.";
}

/// <summary>Regressor for a CSV file (default: diabetes, column <c>target</c>).</summary>
public sealed class CsvRegressorExample() : CsvToolExample(TaskKind.Regression, "diabetes.csv", "target")
{
    /// <inheritdoc/>
    public override string Name => "csv-regressor";

    /// <inheritdoc/>
    public override string Description => "Any CSV: predict a numeric column (--data FILE --target COLUMN) with an MLP or linear regression";

    /// <inheritdoc/>
    public override string Details => Description + ". All other columns are numeric features, standardised with the " +
        "training rows' statistics; the target is standardised for training and reported in its own units " +
        "(test/mse, test/rmse, test/r2). --hidden none gives linear regression.";
}
