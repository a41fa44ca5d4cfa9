using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Why weights start random: a net started from zeros keeps all hidden units identical.</summary>
public sealed class InitializationExample : Example
{
    readonly TabularOptions _tabular = new("label");
    readonly Option<int> _hidden = Opt.Int("--hidden", "Hidden units", 8, min: 2);
    readonly Option<string> _activation = Opt.Choice("--activation", "Hidden activation", "sigmoid", "sigmoid", "tanh", "relu");

    /// <inheritdoc/>
    public override string Name => "initialization";

    /// <inheritdoc/>
    public override string Description => "Symmetry breaking: the shallow net from all-zero weights vs random (Glorot) weights";

    /// <inheritdoc/>
    public override string Details => Description + ". With every weight zero, all hidden units compute the same value and " +
        "receive the same gradient, so they stay identical for ever and the layer acts like a single unit. Random weights " +
        "break the symmetry. Measure: the largest difference between any two hidden units' incoming weight columns, " +
        "logged per epoch as hidden/max_pairwise_difference. Variants: zeros, random.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 20;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.5;

    /// <inheritdoc/>
    public override string DefaultData => "data/breast_cancer.csv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["zeros", "random"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => _tabular.All.Append(_hidden).Append(_activation);

    /// <summary>Largest absolute difference between two columns (hidden units) of a row-major <c>rows x cols</c> kernel.</summary>
    public static double MaxPairwiseColumnDifference(float[] kernel, int cols)
    {
        int rows = kernel.Length / cols;
        double max = 0;
        for (int i = 0; i < cols; i++)
            for (int j = i + 1; j < cols; j++)
                for (int r = 0; r < rows; r++)
                    max = Math.Max(max, Math.Abs((double)kernel[r * cols + i] - kernel[r * cols + j]));
        return max;
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = _tabular.Load(ctx, "breast_cancer.csv", TaskKind.Binary);
        int units = ctx.Get(_hidden);
        var rows = new List<IReadOnlyList<string>>();
        foreach (string variant in ctx.Variants)
        {
            using var m = new Model(ctx, data);
            var g = m.Graph;
            IInitializer init = variant == "zeros" ? Initializers.Zeros() : Initializers.GlorotUniform();
            var h = g.Dense(m.X, units, Activations.Get(ctx.Get(_activation)), kernelInitializer: init, name: "hidden");
            m.SetOutput(g.Dense(h, 1, kernelInitializer: init, name: "output"));
            m.Minimize(new GradientDescentOptimizer(ctx.LearningRate));
            m.Start();
            var kernel = g.TrainableVariables.First(v => v.Name == "hidden/kernel");
            double Spread() => MaxPairwiseColumnDifference(m.Value(kernel), units);

            using var log = ctx.OpenLog(variant);
            double before = Spread();
            log.Scalar("hidden/max_pairwise_difference", before, 0);
            var fit = Trainer.Fit(ctx, m, log, $"{Name}/{variant}", ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed,
                afterEpoch: epoch => log.Scalar("hidden/max_pairwise_difference", Spread(), epoch));
            double after = Spread();
            Trainer.Report(ctx, fit, variant);
            ctx.Metric("hidden/max_pairwise_difference", after, variant);
            float[] w = m.Value(kernel);
            double norm = Math.Sqrt(w.Sum(v => (double)v * v));
            rows.Add([variant, $"{before:G3}", $"{after:G3}", $"{norm:F3}", $"{fit.TrainLoss:F4}", $"{fit.Test["accuracy"]:F4}"]);
        }
        ctx.Line();
        ctx.Table(["init", "unit spread before", "unit spread after", "|W_hidden|", "train/loss", "test/accuracy"], rows);
        ctx.Line("  unit spread = largest difference between the incoming weights of any two hidden units.");
        ctx.Line("  From zeros every hidden unit gets the same gradient, so the spread stays 0: the units move, but together,");
        ctx.Line("  and the layer is no better than one unit. Random weights start (and stay) different, so each unit learns its own feature.");
    }
}
