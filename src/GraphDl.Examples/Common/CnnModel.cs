using System.Diagnostics;
using GraphDl.Data;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>An image classifier on <see cref="ImageData"/>: placeholders <c>x</c> [?, H, W, 1], <c>labels</c>, <c>training</c>
/// (false unless fed; switches dropout and batch statistics on), the network's logits, the mean cross-entropy, and a
/// train op that also runs the <see cref="GraphKeys.UpdateOps"/> (batch-norm moving averages).</summary>
public sealed class CnnModel : IDisposable
{
    readonly ExampleContext _ctx;
    Session? _session;

    /// <summary>Builds the graph (seeded with <see cref="ExampleContext.Seed"/>): the network from
    /// <paramref name="network"/>(graph, x, training); <see cref="Start"/> opens the session on the run's device.</summary>
    public CnnModel(ExampleContext ctx, ImageData data, Func<Graph, Tensor, Tensor, Tensor> network)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        _ctx = ctx;
        Data = data;
        Graph = new Graph { Seed = ctx.Seed };
        var g = Graph;
        X = g.Placeholder(DType.Float32, Shape.Of(-1, data.Height, data.Width, 1), "x");
        Labels = g.Placeholder(DType.Int32, Shape.Of(-1), "labels");
        Training = g.PlaceholderWithDefault(g.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
        Logits = network(g, X, Training);
        Loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(Labels, Logits), name: "loss");
        Predictions = g.ArgMax(Logits, 1, DType.Int32, "predictions");
    }

    /// <summary>The data.</summary>
    public ImageData Data { get; }
    /// <summary>The graph.</summary>
    public Graph Graph { get; }
    /// <summary>Images [?, H, W, 1].</summary>
    public Tensor X { get; }
    /// <summary>Class labels [?].</summary>
    public Tensor Labels { get; }
    /// <summary>Bool scalar, false unless fed.</summary>
    public Tensor Training { get; }
    /// <summary>Logits [?, classes].</summary>
    public Tensor Logits { get; }
    /// <summary>Mean cross-entropy of the batch.</summary>
    public Tensor Loss { get; }
    /// <summary>Arg-max class per image.</summary>
    public Tensor Predictions { get; }
    /// <summary>One optimizer step (with the update ops).</summary>
    public Operation TrainOp { get; private set; } = null!;
    /// <summary>The trained variables and their gradients (after <see cref="Minimize"/>), for histograms.</summary>
    public IReadOnlyList<(Tensor? Grad, Variable Var)> Gradients { get; private set; } = [];
    /// <summary>The session (after <see cref="Start"/>).</summary>
    public Session Session => _session ?? throw new InvalidOperationException("Call Start() first.");

    /// <summary>Adds the train op: the optimizer's step grouped with the update ops.</summary>
    public void Minimize(Optimizer optimizer)
    {
        Gradients = optimizer.ComputeGradients(Loss);
        var step = optimizer.ApplyGradients(Gradients);
        var updates = Graph.GetCollection<Operation>(GraphKeys.UpdateOps);
        TrainOp = updates.Count == 0 ? step : Graph.Group([step, .. updates], "train");
    }

    /// <summary>Opens the session (on the run's device) and initialises the variables.</summary>
    public void Start()
    {
        _session?.Dispose();
        _session = _ctx.NewSession(Graph);
        _session.Run(Graph.GlobalVariablesInitializer());
    }

    NDArray Images(float[] src, ReadOnlySpan<int> rows)
    {
        int px = Data.Pixels;
        var x = new float[rows.Length * px];
        MiniBatchIterator.Gather(src, px, rows, x);
        return NDArray.From(x, rows.Length, Data.Height, Data.Width, 1);
    }

    /// <summary>Test (or training) accuracy in inference mode, in batches of 500.</summary>
    public double Accuracy(bool train)
    {
        var (x, y) = train ? (Data.XTrain, Data.LabelsTrain) : (Data.XTest, Data.LabelsTest);
        int hits = 0;
        for (int start = 0; start < y.Length; start += 500)
        {
            int n = Math.Min(500, y.Length - start);
            var p = Session.Run(Predictions, (X, NDArray.From(x.AsSpan(start * Data.Pixels, n * Data.Pixels).ToArray(), n, Data.Height, Data.Width, 1)))
                .AsSpan<int>();
            for (int i = 0; i < n; i++) if (p[i] == y[start + i]) hits++;
        }
        return (double)hits / y.Length;
    }

    /// <summary>
    /// Trains for <paramref name="epochs"/> epochs of shuffled mini-batches. Logs per epoch: <c>train/loss</c> (mean of the
    /// epoch's batches), <c>train/accuracy</c> (of the epoch's batches as they were trained, dropout on) and
    /// <c>test/accuracy</c>; prints progress.
    /// </summary>
    public FitResult Fit(ExampleContext ctx, RunLog log, string label, int epochs, int batchSize, int seed)
    {
        var clock = Stopwatch.StartNew();
        var it = new MiniBatchIterator(Data.TrainRows, Math.Min(batchSize, Data.TrainRows), (ulong)seed);
        double trainLoss = double.NaN, trainAcc = double.NaN, testAcc = double.NaN;
        long updates = 0;
        Tensor[] fetches = [Loss, Predictions];
        Operation[] targets = [TrainOp];
        var yes = NDArray.Scalar(true);
        log.Graph(Graph);
        // Histograms of weights and gradients use a fixed slice of the training set, in inference mode.
        int probeRows = Math.Min(256, Data.TrainRows);
        var probe = Enumerable.Range(0, probeRows).ToArray();
        var probeImages = Images(Data.XTrain, probe);
        (Tensor, NDArray)[] probeFeeds = [(X, probeImages), (Labels, NDArray.From(Data.LabelsTrain[..probeRows], probeRows)), (Training, NDArray.Scalar(false))];
        log.Images("inputs", Images(Data.XTrain, probe.AsSpan(0, Math.Min(3, probeRows))), 0);
        ctx.Progress(label, epochs, progress =>
        {
            for (int epoch = 1; epoch <= epochs; epoch++)
            {
                double sum = 0;
                int seen = 0, hits = 0;
                foreach (var batch in it.Batches(epoch - 1))
                {
                    var rows = batch.Span;
                    var y = new int[rows.Length];
                    for (int i = 0; i < y.Length; i++) y[i] = Data.LabelsTrain[rows[i]];
                    (Tensor, NDArray)[] feeds = [(X, Images(Data.XTrain, rows)), (Labels, NDArray.From(y, y.Length)), (Training, yes)];
                    // The first update runs traced (run metadata step_1 and trace.json), as in Trainer.Fit.
                    var r = updates == 0 ? log.TracedRun(Session, fetches, feeds, targets, step: 1) : Session.Run(fetches, feeds, targets);
                    sum += r[0].ToDoubleArray()[0] * rows.Length;
                    var p = r[1].AsSpan<int>();
                    for (int i = 0; i < y.Length; i++) if (p[i] == y[i]) hits++;
                    seen += rows.Length;
                    updates++;
                }
                trainLoss = sum / seen;
                if (!double.IsFinite(trainLoss))
                    throw new InvalidOperationException($"{label}: the training loss became {trainLoss} in epoch {epoch}; lower --learning-rate.");
                trainAcc = (double)hits / seen;
                testAcc = Accuracy(train: false);
                log.Scalar("train/loss", trainLoss, epoch);
                log.Scalar("train/accuracy", trainAcc, epoch);
                log.Scalar("test/accuracy", testAcc, epoch);
                log.Parameters(Session, Gradients, epoch, probeFeeds);
                progress.Epoch(epoch, trainLoss, $"test/accuracy {testAcc:F4}");
            }
        });
        log.Flush();
        var train = new Dictionary<string, double> { ["accuracy"] = trainAcc };
        var test = new Dictionary<string, double> { ["accuracy"] = testAcc };
        return new FitResult(trainLoss, train, test, updates, clock.Elapsed);
    }

    /// <summary>Writes the first layer's filters [kh, kw, 1, n] as PNG files <c>filters/filter{i}.png</c> under the run folder (scaled up 8x).</summary>
    public void SaveFilters(string dir, Variable kernel, RunLog? log = null, long step = 0)
    {
        var k = Session.Run(kernel.Value).ToFloatArray();
        var s = kernel.Shape;
        int kh = s[0], kw = s[1], n = s[3];
        Directory.CreateDirectory(dir);
        for (int f = 0; f < n; f++)
        {
            var img = new float[kh * kw];
            for (int i = 0; i < kh * kw; i++) img[i] = k[i * s[2] * n + f];
            var bytes = Png.ToBytes(img);
            Png.WriteGray(Path.Combine(dir, $"filter{f}.png"), Upscale(bytes, kw, kh, 8), kw * 8, kh * 8);
        }
        if (log != null)
        {
            // The first layer's filters (input channel 0) as TensorBoard images, filters/image/0..n-1.
            var all = new float[n * kh * kw];
            for (int f = 0; f < n; f++)
                for (int i = 0; i < kh * kw; i++) all[f * kh * kw + i] = k[i * s[2] * n + f];
            log.Images("filters", NDArray.From(all, n, kh, kw, 1), step, n);
            log.Flush();
        }
    }

    /// <summary>Nearest-neighbour upscaling of a greyscale image.</summary>
    public static byte[] Upscale(byte[] px, int w, int h, int factor)
    {
        var r = new byte[w * h * factor * factor];
        for (int y = 0; y < h * factor; y++)
            for (int x = 0; x < w * factor; x++) r[y * w * factor + x] = px[(y / factor) * w + x / factor];
        return r;
    }

    /// <summary>The CNN examples' whole run: prints and logs the model summary, trains with Adam, saves the first conv
    /// layer's filters (PNG files and TensorBoard images) and prints the final metrics.</summary>
    public void TrainAndReport(ExampleContext ctx, string label)
    {
        string summary = ModelSummary.Describe(Graph);
        ctx.Line(Indent(summary));
        Minimize(new AdamOptimizer(ctx.LearningRate));
        Start();
        using var log = ctx.OpenLog();
        log.Text("model/summary", "```\n" + summary + "\n```");
        var fit = Fit(ctx, log, label, ctx.Epochs, ctx.Batch(Data.TrainRows), ctx.Seed);
        Trainer.Report(ctx, fit);
        SaveFilters(Path.Combine(ctx.RunDir, "filters"), Graph.FindVariable("conv2d/kernel")!, log, ctx.Epochs);
        ctx.Line();
        ctx.Table(["metric", "value"],
        [
            ["train/loss", $"{fit.TrainLoss:F4}"],
            ["train/accuracy", $"{fit.Train["accuracy"]:F4}"],
            ["test/accuracy", $"{fit.Test["accuracy"]:F4}  ({Math.Round(fit.Test["accuracy"] * Data.TestRows)}/{Data.TestRows})"],
            ["updates", $"{fit.Updates}"],
            ["training time", $"{fit.Elapsed.TotalSeconds:F1} s"],
        ]);
    }

    /// <summary>Indents every line of a block by two spaces.</summary>
    internal static string Indent(string text) => string.Join(Environment.NewLine, text.Split('\n').Select(l => "  " + l.TrimEnd('\r')));

    /// <summary>Closes the session.</summary>
    public void Dispose() => _session?.Dispose();
}
