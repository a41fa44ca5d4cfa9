using System.CommandLine;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Why LSTMs: the gradient of the loss with respect to each time step's input, basic RNN versus LSTM, on a task
/// whose answer sits at the first step.</summary>
public sealed class VanishingGradientsExample : Example
{
    readonly Option<int> _steps = Opt.Int("--steps", "Sequence length T", 80, min: 2);
    readonly Option<int> _units = Opt.Int("--units", "Hidden units", 32, min: 1);
    readonly Option<double> _forgetBias = Opt.Double("--forget-bias", "LSTM forget-gate bias", 5.0, v => v >= 0 ? null : "--forget-bias must be >= 0.");

    /// <inheritdoc/>
    public override string Name => "vanishing-gradients";

    /// <inheritdoc/>
    public override string Description => "Gradient norm per time step for a basic RNN vs an LSTM on a long-dependency task (float64)";

    /// <inheritdoc/>
    public override string Details => Description + ". Each sequence is T values drawn uniformly from [-1, 1]; the target is " +
        "the first value, read from the last state through Dense(1) (mean squared error, Adam). After training, in float64, " +
        "the norm over a batch of dL/dx_t is logged per time step (tag gradient/norm, step = t) and " +
        "r = |dL/dx_1| / |dL/dx_T| is printed for each cell: the basic RNN's gradient vanishes going back in time, the LSTM's " +
        "does not: its forget-gate bias (--forget-bias, default 5, about ln T as in chrono initialisation) starts σ(f) near 0.993, " +
        "so the cell state carries x_1 across the 80 steps (0.993^80 ≈ 0.6) and the LSTM learns the recall (test loss ≈ 0.02 vs 0.33 " +
        "for predicting 0); with bias 3 (0.95^80 ≈ 0.02) it often did not within the 300 updates. Both cells get the same data, " +
        "optimizer and float64 gradient probe. Pass mark: r(LSTM) >= 10 r(RNN). An epoch is 20 updates on fresh batches.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 15;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 64;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.01;

    /// <inheritdoc/>
    public override IReadOnlyList<string> Variants => ["rnn", "lstm"];

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_steps, _units, _forgetBias];

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        int T = ctx.Get(_steps), H = ctx.Get(_units), B = Math.Max(ctx.BatchSize, 1);
        const int updatesPerEpoch = 20;
        var ratios = new Dictionary<string, double>();
        var rows = new List<IReadOnlyList<string>>();
        foreach (string v in ctx.Variants)
        {
            var g = new Graph { Seed = ctx.Seed };
            var x = g.Placeholder(DType.Float64, Shape.Of(-1, T, 1), "x");
            var target = g.Placeholder(DType.Float64, Shape.Of(-1, 1), "target");
            IRnnCell cell = v == "rnn" ? new BasicRNNCell(H) : new LSTMCell(H, forgetBias: ctx.Get(_forgetBias));
            var (_, state) = g.DynamicRnn(cell, x);
            var pred = g.Dense(state[^1], 1, name: "output");
            var loss = g.MeanSquaredError(target, pred);
            var train = new AdamOptimizer(ctx.LearningRate).Minimize(loss);
            var dx = g.Gradient(loss, x)!;
            using var s = ctx.NewSession(g);
            s.Run(g.GlobalVariablesInitializer());
            var rng = new Random(ctx.Seed * 7919 + 1);
            (NDArray, NDArray) Batch(int n)
            {
                var xs = new double[n * T];
                var ys = new double[n];
                for (int i = 0; i < xs.Length; i++) xs[i] = rng.NextDouble() * 2 - 1;
                for (int b = 0; b < n; b++) ys[b] = xs[b * T];
                return (NDArray.From(xs, n, T, 1), NDArray.From(ys, n, 1));
            }
            using var log = ctx.OpenLog(v);
            double last = double.NaN;
            ctx.Progress($"{Name} {v}", ctx.Epochs, progress =>
            {
                for (int epoch = 1; epoch <= ctx.Epochs; epoch++)
                {
                    double total = 0;
                    for (int u = 0; u < updatesPerEpoch; u++)
                    {
                        var (bx, by) = Batch(B);
                        total += s.Run([loss], [(x, bx), (target, by)], [train])[0].Item<double>();
                    }
                    last = total / updatesPerEpoch;
                    log.Scalar("train/loss", last, epoch);
                    progress.Epoch(epoch, last);
                }
            });
            var (ex, ey) = Batch(256);
            var r = s.Run([dx, loss], (x, ex), (target, ey));
            var grad = r[0].ToDoubleArray();
            var norms = new double[T];
            for (int t = 0; t < T; t++)
            {
                double sum = 0;
                for (int b = 0; b < 256; b++) sum += grad[b * T + t] * grad[b * T + t];
                norms[t] = Math.Sqrt(sum);
                log.Scalar("gradient/norm", norms[t], t + 1);
            }
            double ratio = norms[0] / norms[T - 1];
            ratios[v] = ratio;
            log.Scalar("gradient/ratio_first_to_last", ratio, 0);
            log.Scalar("test/loss", r[1].Item<double>(), ctx.Epochs);
            ctx.Metric("gradient/ratio_first_to_last", ratio, v);
            ctx.Metric("test/loss", r[1].Item<double>(), v);
            rows.Add([v, $"{r[1].Item<double>():F4}", $"{norms[0]:E2}", $"{norms[T / 2]:E2}", $"{norms[T - 1]:E2}", $"{ratio:E2}"]);
        }
        ctx.Line();
        ctx.Table(["cell", "test loss", "|dL/dx_1|", $"|dL/dx_{T / 2 + 1}|", $"|dL/dx_{T}|", "r = first/last"], rows);
        if (ratios.TryGetValue("rnn", out double rr) && ratios.TryGetValue("lstm", out double rl))
        {
            ctx.Metric("gradient/lstm_over_rnn", rl / rr);
            ctx.Line();
            ctx.Line($"  r(LSTM) / r(RNN) = {rl / rr:G3} (mark: >= 10)");
        }
    }
}
