using System.CommandLine;
using GraphDl.Data;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Linear regression on the diabetes data by batch gradient descent, checked against the least-squares solution.</summary>
public sealed class LinearRegressionExample : Example
{
    readonly Option<double> _testFraction = Opt.Double("--test-fraction", "Fraction of rows held out for testing", Split.DefaultTestFraction);
    readonly Option<string> _split = Opt.Choice("--split", "How test rows are chosen", "interleaved", "interleaved", "tail");
    readonly Option<string?> _target = Opt.Text("--target", "Column to predict", "COLUMN", "target");

    /// <inheritdoc/>
    public override string Name => "linear-regression";

    /// <inheritdoc/>
    public override string Description => "Diabetes progression: linear model, batch gradient descent vs the closed-form least-squares fit";

    /// <inheritdoc/>
    public override string Details => Description + ". Features are standardised with the training rows' mean and standard " +
        "deviation; the model y = xW + b minimises the mean squared error by full-batch gradient descent. The normal equations " +
        "are also solved exactly (float64, Cholesky) and both fits are scored on the held-out rows (test R^2 and MSE).";

    /// <inheritdoc/>
    public override int DefaultEpochs => 1000;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 0;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.1;

    /// <inheritdoc/>
    public override string DefaultData => "data/diabetes.csv";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_testFraction, _split, _target];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var data = TabularData.LoadCsv(DataPaths.Resolve(ctx.Data, "diabetes.csv"), ctx.Get(_target)!, ctx.Get(_testFraction),
            ctx.Get(_split), TaskKind.Regression).ForSmoke(ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");

        using var m = new Model(ctx, data);
        var g = m.Graph;
        // One dense unit without activation is the linear model y = xW + b.
        m.SetOutput(g.Dense(m.X, 1, kernelInitializer: Initializers.Zeros(), name: "linear"));
        m.Minimize(new GradientDescentOptimizer(ctx.LearningRate));
        m.Start();

        using var log = ctx.OpenLog();
        var fit = Trainer.Fit(ctx, m, log, Name, ctx.Epochs, ctx.Batch(data.TrainRows), ctx.Seed);
        Trainer.Report(ctx, fit);

        // The exact answer: ordinary least squares from the normal equations, in double.
        var (b0, w) = Metrics.LeastSquares(data.XTrain, data.TrainRows, data.Features, data.TargetTrain);
        float[] Ols(float[] x)
        {
            int rows = x.Length / data.Features;
            var p = new float[rows];
            for (int r = 0; r < rows; r++)
            {
                double s = b0;
                for (int c = 0; c < data.Features; c++)
                    s += w[c] * x[r * data.Features + c];
                p[r] = (float)s;
            }
            return p;
        }
        float[] olsTest = Ols(data.XTest), olsTrain = Ols(data.XTrain);
        double olsR2 = Metrics.R2(olsTest, data.TargetTest), olsMse = Metrics.Mse(olsTest, data.TargetTest);
        var gdTrain = m.Evaluate(train: true);
        ctx.Metric("test/r2_least_squares", olsR2);
        ctx.Metric("test/mse_least_squares", olsMse);

        ctx.Line();
        ctx.Table(["fit", "train MSE", "test MSE", "test RMSE", "test R^2"],
        [
            [$"gradient descent ({ctx.Epochs} epochs)", F(gdTrain["mse"]), F(fit.Test["mse"]), F(fit.Test["rmse"]), F(fit.Test["r2"], 4)],
            ["least squares (normal equations)", F(Metrics.Mse(olsTrain, data.TargetTrain)), F(olsMse), F(Math.Sqrt(olsMse)), F(olsR2, 4)],
        ]);
        ctx.Line($"  test R^2 difference (least squares - gradient descent): {olsR2 - fit.Test["r2"]:F4}");
        log.Text("results", $"gradient descent: test R^2 {fit.Test["r2"]:F4}, MSE {fit.Test["mse"]:F1}; " +
            $"least squares: test R^2 {olsR2:F4}, MSE {olsMse:F1}", ctx.Epochs);
    }

    static string F(double v, int digits = 1) => v.ToString("F" + digits, System.Globalization.CultureInfo.InvariantCulture);
}
