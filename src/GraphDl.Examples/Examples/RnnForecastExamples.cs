using System.CommandLine;
using GraphDl.Data;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>A one-step-ahead forecaster: the previous <c>window</c> values (standardised) go through a recurrent layer whose
/// last output feeds a linear unit predicting the next value; repeat-last and linear AR(window) baselines on the same
/// test targets.</summary>
public static class Forecaster
{
    /// <summary>A series with missing cells filled by linear interpolation (ends by the nearest value); returns the count filled.</summary>
    public static (double[] Values, int Filled) Fill(double[] raw)
    {
        var v = (double[])raw.Clone();
        int filled = 0;
        int n = v.Length;
        int firstKnown = Array.FindIndex(v, d => !double.IsNaN(d));
        if (firstKnown < 0) throw new DataFormatException("the target column has no values");
        for (int i = 0; i < n; i++)
        {
            if (!double.IsNaN(v[i])) continue;
            filled++;
            int prev = i - 1;
            while (prev >= 0 && double.IsNaN(raw[prev])) prev--;
            int next = i + 1;
            while (next < n && double.IsNaN(raw[next])) next++;
            v[i] = prev < 0 ? raw[next] : next >= n ? raw[prev] : raw[prev] + (raw[next] - raw[prev]) * (i - prev) / (next - prev);
        }
        return (v, filled);
    }

    /// <summary>Root mean squared error.</summary>
    public static double Rmse(IReadOnlyList<double> pred, IReadOnlyList<double> truth) =>
        Math.Sqrt(pred.Select((p, i) => (p - truth[i]) * (p - truth[i])).Average());

    /// <summary>Least-squares AR(window) with intercept, fitted on targets in [window, testStart); predictions for every test target.</summary>
    public static double[] ArForecast(double[] y, int testStart, int window)
    {
        int p = window + 1;
        var ata = new double[p, p];
        var atb = new double[p];
        var row = new double[p];
        for (int t = window; t < testStart; t++)
        {
            row[0] = 1;
            for (int k = 0; k < window; k++) row[k + 1] = y[t - window + k];
            for (int a = 0; a < p; a++)
            {
                atb[a] += row[a] * y[t];
                for (int b = 0; b < p; b++) ata[a, b] += row[a] * row[b];
            }
        }
        var coef = Solve(ata, atb);
        var pred = new double[y.Length - testStart];
        for (int t = testStart; t < y.Length; t++)
        {
            double s = coef[0];
            for (int k = 0; k < window; k++) s += coef[k + 1] * y[t - window + k];
            pred[t - testStart] = s;
        }
        return pred;
    }

    /// <summary>Gaussian elimination with partial pivoting (a tiny ridge keeps a singular system solvable).</summary>
    static double[] Solve(double[,] a, double[] b)
    {
        int n = b.Length;
        var m = (double[,])a.Clone();
        var x = (double[])b.Clone();
        for (int i = 0; i < n; i++) m[i, i] += 1e-9;
        for (int c = 0; c < n; c++)
        {
            int piv = c;
            for (int r = c + 1; r < n; r++) if (Math.Abs(m[r, c]) > Math.Abs(m[piv, c])) piv = r;
            if (piv != c)
            {
                for (int k = 0; k < n; k++) (m[c, k], m[piv, k]) = (m[piv, k], m[c, k]);
                (x[c], x[piv]) = (x[piv], x[c]);
            }
            for (int r = c + 1; r < n; r++)
            {
                double f = m[r, c] / m[c, c];
                for (int k = c; k < n; k++) m[r, k] -= f * m[c, k];
                x[r] -= f * x[c];
            }
        }
        for (int r = n - 1; r >= 0; r--)
        {
            double s = x[r];
            for (int k = r + 1; k < n; k++) s -= m[r, k] * x[k];
            x[r] = s / m[r, r];
        }
        return x;
    }

    /// <summary>The recurrent cell for a <c>--cell</c> name.</summary>
    public static IRnnCell Cell(string kind, int units) => kind switch
    {
        "rnn" => new BasicRNNCell(units),
        "gru" => new GRUCell(units),
        "lstm" => new LSTMCell(units),
        _ => throw new ArgumentException($"unknown cell '{kind}'"),
    };

    /// <summary>Trains one forecaster and returns its test RMSE (original units); logs <c>train/loss</c> and <c>test/rmse</c>
    /// per epoch.</summary>
    public static double Train(ExampleContext ctx, RunLog log, string label, double[] y, int testStart, int window, string cell, int units)
    {
        int n = y.Length;
        double mean = 0, sd = 0;
        for (int t = 0; t < testStart; t++) mean += y[t];
        mean /= testStart;
        for (int t = 0; t < testStart; t++) sd += (y[t] - mean) * (y[t] - mean);
        sd = Math.Sqrt(sd / testStart);
        if (!(sd > 0)) sd = 1;
        var z = y.Select(v => (float)((v - mean) / sd)).ToArray();

        NDArray Windows(int from, int to)
        {
            var xs = new float[(to - from) * window];
            for (int t = from; t < to; t++)
                Array.Copy(z, t - window, xs, (t - from) * window, window);
            return NDArray.From(xs, to - from, window, 1);
        }

        var g = new Graph { Seed = ctx.Seed };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, window, 1), "x");
        var target = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "target");
        var (_, state) = g.DynamicRnn(Cell(cell, units), x);
        var pred = g.Dense(state[^1], 1, name: "output");
        var loss = g.MeanSquaredError(target, pred);
        var train = new AdamOptimizer(ctx.LearningRate).Minimize(loss);
        using var s = ctx.NewSession(g);
        s.Run(g.GlobalVariablesInitializer());

        int trainCount = testStart - window;
        var trainX = Windows(window, testStart);
        var testX = Windows(testStart, n);
        var truth = y[testStart..];
        int batch = ctx.Batch(trainCount);
        var rng = new Random(ctx.Seed);
        var order = Enumerable.Range(0, trainCount).ToArray();
        var bx = new float[batch * window];
        var by = new float[batch];
        double rmse = double.NaN;
        double Evaluate()
        {
            var p = s.Run(pred, (x, testX)).ToFloatArray();
            return Rmse(p.Select(v => v * sd + mean).ToArray(), truth);
        }
        ctx.Progress(label, ctx.Epochs, progress =>
        {
            for (int epoch = 1; epoch <= ctx.Epochs; epoch++)
            {
                rng.Shuffle(order);
                double total = 0;
                int batches = 0;
                for (int at = 0; at + batch <= trainCount; at += batch)
                {
                    for (int i = 0; i < batch; i++)
                    {
                        int t = window + order[at + i];
                        Array.Copy(z, t - window, bx, i * window, window);
                        by[i] = z[t];
                    }
                    var r = s.Run([loss], [(x, NDArray.From(bx, batch, window, 1)), (target, NDArray.From(by, batch, 1))], [train]);
                    total += r[0].Item<float>();
                    batches++;
                }
                double trainLoss = total / Math.Max(batches, 1);
                log.Scalar("train/loss", trainLoss, epoch);
                if (epoch % 10 == 0 || epoch == ctx.Epochs)
                {
                    rmse = Evaluate();
                    log.Scalar("test/rmse", rmse, epoch);
                }
                progress.Epoch(epoch, trainLoss, double.IsNaN(rmse) ? "" : $"test rmse {rmse:F2}");
            }
        });
        return rmse;
    }

    /// <summary>Prints the baselines and returns (repeat-last RMSE, AR RMSE).</summary>
    public static (double RepeatLast, double Ar) Baselines(double[] y, int testStart, int window)
    {
        var truth = y[testStart..];
        double repeat = Rmse(Enumerable.Range(testStart, truth.Length).Select(t => y[t - 1]).ToArray(), truth);
        double ar = Rmse(ArForecast(y, testStart, window), truth);
        return (repeat, ar);
    }
}

/// <summary>The general forecaster on any CSV time series.</summary>
public sealed class RnnForecastExample : Example
{
    readonly Option<string> _target = new("--target") { Description = "Column to forecast", DefaultValueFactory = _ => "sunactivity" };
    readonly Option<int> _window = Opt.Int("--window", "Past values per forecast (also the AR order of the linear baseline)", 9, min: 1);
    readonly Option<double> _testFraction = Opt.Double("--test-fraction", "Tail fraction of the rows whose values are forecast", 0.2,
        v => v is > 0 and < 1 ? null : "--test-fraction must be in (0, 1).");
    readonly Option<string> _cell = Opt.Choice("--cell", "Recurrent cell", "lstm", "rnn", "gru", "lstm");
    readonly Option<int> _units = Opt.Int("--units", "Hidden units of the recurrent layer", 32, min: 1);

    /// <inheritdoc/>
    public override string Name => "rnn-forecast";

    /// <inheritdoc/>
    public override string Description => "One-step-ahead forecaster for any CSV time series (RNN, GRU or LSTM) with repeat-last and AR baselines";

    /// <inheritdoc/>
    public override string Details => Description + ". The previous --window values, standardised with the training rows' " +
        "mean and deviation, run through a recurrent layer (DynamicRnn); its last state feeds Dense(1). Tail split: the last " +
        "round(rows x --test-fraction) rows are forecast, each from the true values before it (windows may reach back into the " +
        "training rows). Missing cells are filled by linear interpolation and reported. Printed beside test/rmse: repeating the " +
        "last value, and a least-squares linear AR(window) with intercept fitted on the training rows.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 100;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 16;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.005;

    /// <inheritdoc/>
    public override string DefaultData => "data/sunspots_yearly.csv with --target sunactivity";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_target, _window, _testFraction, _cell, _units];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        string path = DataPaths.Resolve(ctx.Data, "sunspots_yearly.csv");
        var table = CsvTable.Load(path);
        var (y, filled) = Forecaster.Fill(table.Column(ctx.Get(_target)));
        int window = ctx.Get(_window);
        int testRows = (int)Math.Round(y.Length * ctx.Get(_testFraction));
        int testStart = y.Length - testRows;
        if (testRows < 1 || testStart - window < 2)
            throw new UsageException($"{y.Length} rows leave {testRows} test rows and {testStart - window} training windows of {window}: adjust --window or --test-fraction.");
        if (ctx.Smoke) ctx.Line("  smoke: one epoch");
        ctx.Line($"  data: {Path.GetFileName(path)}, column {ctx.Get(_target)}: {y.Length} rows, {filled} missing cells filled by interpolation; " +
                 $"train targets {testStart - window}, test targets {testRows} (rows {testStart}..{y.Length - 1})");
        string cell = ctx.Get(_cell);
        using var log = ctx.OpenLog();
        double rmse = Forecaster.Train(ctx, log, $"{Name} ({cell})", y, testStart, window, cell, ctx.Get(_units));
        var (repeat, ar) = Forecaster.Baselines(y, testStart, window);
        ctx.Metric("test/rmse", rmse);
        ctx.Line();
        ctx.Table(["forecast", "test/rmse"],
        [
            [$"{cell} ({ctx.Get(_units)} units, window {window})", $"{rmse:F2}"],
            ["repeat last value", $"{repeat:F2}"],
            [$"linear AR({window})", $"{ar:F2}"],
        ]);
    }
}

/// <summary>The forecaster on the yearly sunspot numbers, one variant per cell.</summary>
public sealed class RnnSunspotsExample : Example
{
    readonly Option<int> _window = Opt.Int("--window", "Past years per forecast (also the AR order of the linear baseline)", 9, min: 1);
    readonly Option<int> _units = Opt.Int("--units", "Hidden units of the recurrent layer", 32, min: 1);

    /// <inheritdoc/>
    public override string Name => "rnn-sunspots";

    /// <inheritdoc/>
    public override string Description => "Yearly sunspots 1700-2008: RNN, GRU and LSTM forecasters vs repeat-last-year and AR(9)";

    /// <inheritdoc/>
    public override string Details => Description + ". Each variant forecasts every test year 1950-2008 (59 years) from the " +
        "nine true years before it (rnn-forecast's model on data/sunspots_yearly.csv). Baselines computed here: repeating the " +
        "last year (33.18) and a least-squares AR(9) on the training years (18.75). Pass mark: GRU and LSTM test/rmse <= 25.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 100;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 16;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.005;

    /// <inheritdoc/>
    public override string DefaultData => "data/sunspots_yearly.csv";

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["rnn", "gru", "lstm"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_window, _units];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var table = CsvTable.Load(DataPaths.Resolve(ctx.Data, "sunspots_yearly.csv"));
        var years = table.Column("year");
        var (y, _) = Forecaster.Fill(table.Column("sunactivity"));
        int testStart = Array.FindIndex(years, v => v >= 1950);
        int window = ctx.Get(_window);
        ctx.Line($"  data: {y.Length} years {years[0]}-{years[^1]}; test years {years[testStart]}-{years[^1]} ({y.Length - testStart}), window {window}");
        var (repeat, ar) = Forecaster.Baselines(y, testStart, window);
        var rows = new List<IReadOnlyList<string>>();
        foreach (string v in ctx.Variants)
        {
            using var log = ctx.OpenLog(v);
            double rmse = Forecaster.Train(ctx, log, $"{Name} {v}", y, testStart, window, v, ctx.Get(_units));
            ctx.Metric("test/rmse", rmse, v);
            rows.Add([v, $"{rmse:F2}"]);
        }
        rows.Add(["repeat last year", $"{repeat:F2}"]);
        rows.Add([$"linear AR({window})", $"{ar:F2}"]);
        ctx.Metric("baseline/repeat_last_rmse", repeat);
        ctx.Metric("baseline/ar_rmse", ar);
        ctx.Line();
        ctx.Table(["forecast", "test/rmse"], rows);
    }
}
