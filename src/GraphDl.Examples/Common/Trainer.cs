using System.Globalization;
using GraphDl.Data;

namespace GraphDl.Examples;

/// <summary>Final numbers of a training loop.</summary>
public sealed record FitResult(
    double TrainLoss,
    IReadOnlyDictionary<string, double> Train,
    IReadOnlyDictionary<string, double> Test,
    long Updates,
    TimeSpan Elapsed);

/// <summary>The mini-batch training loop shared by the examples, with per-epoch TensorBoard scalars and progress.</summary>
public static class Trainer
{
    /// <summary>
    /// Trains <paramref name="m"/> for <paramref name="epochs"/> epochs of shuffled mini-batches (seeded with
    /// <paramref name="seed"/>). After every epoch logs, with the epoch as step: <c>train/loss</c> (mean data loss of
    /// the epoch's batches), <c>train/accuracy</c> (classification), <c>test/&lt;metric&gt;</c>, and the histograms
    /// <c>weights/&lt;variable&gt;</c> and <c>gradients/&lt;variable&gt;</c> (gradients of the loss on the whole training split);
    /// the graph is logged once before the first epoch, and the first update (step 1 of epoch 1) is traced
    /// (<see cref="RunLog.TracedRun"/>: run metadata <c>step_1</c>, <c>trace.json</c>).
    /// <paramref name="afterUpdate"/> is called after each optimizer step with the running update count,
    /// <paramref name="afterEpoch"/> after each epoch's logging with the epoch number.
    /// </summary>
    public static FitResult Fit(ExampleContext ctx, Model m, RunLog log, string label, int epochs, int batchSize, int seed,
        Action<long>? afterUpdate = null, Action<int>? afterEpoch = null)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var iterator = new MiniBatchIterator(m.Data.TrainRows, Math.Min(batchSize, m.Data.TrainRows), (ulong)seed);
        Tensor[] fetches = [m.DataLoss];
        Operation[] targets = [m.TrainOp];
        double trainLoss = double.NaN;
        IReadOnlyDictionary<string, double> train = new Dictionary<string, double>(), test = train;
        long updates = 0;
        log.Graph(m.Graph);
        ctx.Progress(label, epochs, progress =>
        {
            for (int epoch = 1; epoch <= epochs; epoch++)
            {
                double sum = 0;
                int seen = 0;
                foreach (var batch in iterator.Batches(epoch - 1))
                {
                    // The first update is traced: run metadata step_1 and trace.json in the log folder.
                    var loss = updates == 0
                        ? log.TracedRun(m.Session, fetches, m.TrainFeeds(batch.Span), targets, step: 1)[0]
                        : m.Session.Run(fetches, m.TrainFeeds(batch.Span), targets)[0];
                    sum += loss.ToDoubleArray()[0] * batch.Length;
                    seen += batch.Length;
                    updates++;
                    afterUpdate?.Invoke(updates);
                }
                trainLoss = sum / seen;
                if (!double.IsFinite(trainLoss))
                    throw new InvalidOperationException($"{label}: the training loss became {trainLoss} in epoch {epoch}; lower --learning-rate.");
                log.Scalar("train/loss", trainLoss, epoch);
                (train, test) = LogMetrics(m, log, epoch);
                log.Parameters(m.Session, m.Gradients, epoch, m.SplitFeeds(train: true));
                afterEpoch?.Invoke(epoch);
                progress.Epoch(epoch, trainLoss, Summary(test));
            }
        });
        log.Flush();
        return new FitResult(trainLoss, train, test, updates, clock.Elapsed);
    }

    /// <summary>Evaluates both splits and logs <c>train/accuracy</c> (classification) and every <c>test/&lt;metric&gt;</c>.</summary>
    public static (IReadOnlyDictionary<string, double> Train, IReadOnlyDictionary<string, double> Test) LogMetrics(Model m, RunLog log, long step)
    {
        var train = m.Evaluate(train: true);
        var test = m.Evaluate(train: false);
        if (m.Data.Task != TaskKind.Regression)
            log.Scalar("train/accuracy", train["accuracy"], step);
        foreach (var (k, v) in test)
            log.Scalar("test/" + k, v, step);
        return (train, test);
    }

    /// <summary>"test/accuracy 0.9500"-style text of a metric set.</summary>
    public static string Summary(IReadOnlyDictionary<string, double> test) =>
        string.Join("  ", test.Select(kv => string.Create(CultureInfo.InvariantCulture, $"test/{kv.Key} {kv.Value:F4}")));

    /// <summary>Records the final metrics of a fit as example metrics (train/loss, train/accuracy, test/*).</summary>
    public static void Report(ExampleContext ctx, FitResult r, string? variant = null)
    {
        ctx.Metric("train/loss", r.TrainLoss, variant);
        if (r.Train.TryGetValue("accuracy", out double acc))
            ctx.Metric("train/accuracy", acc, variant);
        foreach (var (k, v) in r.Test)
            ctx.Metric("test/" + k, v, variant);
    }
}
