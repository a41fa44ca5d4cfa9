using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>
/// A feed-forward model on a <see cref="TabularData"/>: the graph with its input placeholders, the network output
/// (logits, or a standardised prediction for regression), the loss for the task, a train op, and a session.
/// Build the network on <see cref="X"/>, then call <see cref="SetOutput"/>, <see cref="Minimize"/> and <see cref="Start"/>.
/// </summary>
public sealed class Model : IDisposable
{
    readonly ExampleContext _ctx;
    Session? _session;

    /// <summary>Creates the graph (seeded with <see cref="ExampleContext.Seed"/>) and the input placeholders for
    /// <paramref name="data"/>; <see cref="Start"/> opens the session on the run's device.</summary>
    public Model(ExampleContext ctx, TabularData data)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        _ctx = ctx;
        Data = data;
        Graph = new Graph { Seed = ctx.Seed };
        X = Graph.Placeholder(DType.Float32, Shape.Of(-1, data.Features), "x");
        Y = data.Task == TaskKind.MultiClass
            ? Graph.Placeholder(DType.Int32, Shape.Of(-1), "labels")
            : Graph.Placeholder(DType.Float32, Shape.Of(-1, 1), data.Task == TaskKind.Binary ? "labels" : "target");
        Training = Graph.PlaceholderWithDefault(Graph.Const(NDArray.Scalar(false)), Shape.Scalar, "training");
        if (data.Task == TaskKind.Regression)
        {
            TargetMean = data.TargetTrain.Average(v => (double)v);
            TargetStd = Math.Sqrt(data.TargetTrain.Average(v => ((double)v - TargetMean) * ((double)v - TargetMean)));
            if (!(TargetStd > 0))
                TargetStd = 1;
        }
    }

    /// <summary>The data the model is trained on.</summary>
    public TabularData Data { get; }

    /// <summary>The graph.</summary>
    public Graph Graph { get; }

    /// <summary>Features, <c>[?, features]</c>.</summary>
    public Tensor X { get; }

    /// <summary>Labels (int32 <c>[?]</c> for several classes, float <c>[?,1]</c> for two) or the standardised target (<c>[?,1]</c>).</summary>
    public Tensor Y { get; }

    /// <summary>Boolean scalar, false unless fed: switches dropout on during training steps.</summary>
    public Tensor Training { get; }

    /// <summary>Logits (classification) or the standardised prediction (regression).</summary>
    public Tensor Output { get; private set; } = null!;

    /// <summary>Mean data loss of the batch: cross-entropy, or the mean squared error of the standardised target.</summary>
    public Tensor DataLoss { get; private set; } = null!;

    /// <summary>What the optimizer minimises: <see cref="DataLoss"/> plus the regularisation losses.</summary>
    public Tensor Loss { get; private set; } = null!;

    /// <summary>One optimizer step.</summary>
    public Operation TrainOp { get; private set; } = null!;

    /// <summary>Mean of the training targets (regression), used to standardise them.</summary>
    public double TargetMean { get; }

    /// <summary>Standard deviation of the training targets (regression).</summary>
    public double TargetStd { get; } = 1;

    /// <summary>The session (after <see cref="Start"/>).</summary>
    public Session Session => _session ?? throw new InvalidOperationException("Call Start() first.");

    /// <summary>Sets the network output and builds the loss for the task.</summary>
    public void SetOutput(Tensor output)
    {
        var g = Graph;
        Output = output;
        DataLoss = Data.Task switch
        {
            TaskKind.Binary => g.Mean(g.SigmoidCrossEntropyWithLogits(Y, output), name: "loss"),
            TaskKind.MultiClass => g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(Y, output), name: "loss"),
            _ => g.MeanSquaredError(Y, output),
        };
        var regularization = g.GetCollection<Tensor>(GraphKeys.RegularizationLosses);
        Loss = regularization.Count == 0 ? DataLoss : DataLoss + Losses.RegularizationLoss(g);
    }

    /// <summary>The gradient of <see cref="Loss"/> for each trainable variable (after <see cref="Minimize"/>), for the
    /// <c>weights/*</c> and <c>gradients/*</c> histograms.</summary>
    public IReadOnlyList<(Tensor? Grad, Variable Var)> Gradients { get; private set; } = [];

    /// <summary>Adds the optimizer's train op for <see cref="Loss"/> (compute then apply gradients, TF1's <c>minimize</c>).</summary>
    public Operation Minimize(Optimizer optimizer)
    {
        Gradients = optimizer.ComputeGradients(Loss);
        return TrainOp = optimizer.ApplyGradients(Gradients);
    }

    /// <summary>Opens the session (on the run's device) and initialises the variables.</summary>
    public Session Start()
    {
        _session?.Dispose();
        _session = _ctx.NewSession(Graph);
        _session.Run(Graph.GlobalVariablesInitializer());
        return _session;
    }

    /// <summary>Feeds for a batch of rows given by index into the training set.</summary>
    public (Tensor, NDArray)[] TrainFeeds(ReadOnlySpan<int> rows, bool training = true)
    {
        int f = Data.Features;
        var x = new float[rows.Length * f];
        MiniBatchGather(Data.XTrain, f, rows, x);
        var feeds = new List<(Tensor, NDArray)> { (X, NDArray.From(x, rows.Length, f)), TargetFeed(rows, true) };
        if (training)
            feeds.Add((Training, NDArray.Scalar(true)));
        return feeds.ToArray();
    }

    static void MiniBatchGather(float[] src, int cols, ReadOnlySpan<int> rows, Span<float> dst) =>
        GraphDl.Data.MiniBatchIterator.Gather(src, cols, rows, dst);

    (Tensor, NDArray) TargetFeed(ReadOnlySpan<int> rows, bool train)
    {
        switch (Data.Task)
        {
            case TaskKind.MultiClass:
            {
                var src = train ? Data.LabelsTrain : Data.LabelsTest;
                var y = new int[rows.Length];
                for (int i = 0; i < y.Length; i++) y[i] = src[rows[i]];
                return (Y, NDArray.From(y, y.Length));
            }
            case TaskKind.Binary:
            {
                var src = train ? Data.LabelsTrain : Data.LabelsTest;
                var y = new float[rows.Length];
                for (int i = 0; i < y.Length; i++) y[i] = src[rows[i]];
                return (Y, NDArray.From(y, y.Length, 1));
            }
            default:
            {
                var src = train ? Data.TargetTrain : Data.TargetTest;
                var y = new float[rows.Length];
                for (int i = 0; i < y.Length; i++) y[i] = (float)((src[rows[i]] - TargetMean) / TargetStd);
                return (Y, NDArray.From(y, y.Length, 1));
            }
        }
    }

    /// <summary>Feeds of a whole split (training or test rows), inference mode.</summary>
    public (Tensor, NDArray)[] SplitFeeds(bool train)
    {
        float[] x = train ? Data.XTrain : Data.XTest;
        int rows = x.Length / Data.Features;
        int[] all = Enumerable.Range(0, rows).ToArray();
        return [(X, NDArray.From(x, rows, Data.Features)), TargetFeed(all, train)];
    }

    /// <summary>Network outputs for every row of a split: logits, or predictions in the target's original units.</summary>
    public float[] Predict(bool train)
    {
        float[] x = train ? Data.XTrain : Data.XTest;
        int rows = x.Length / Data.Features;
        float[] output = Session.Run(Output, (X, NDArray.From(x, rows, Data.Features))).ToFloatArray();
        if (Data.Task == TaskKind.Regression)
            for (int i = 0; i < output.Length; i++)
                output[i] = (float)(output[i] * TargetStd + TargetMean);
        return output;
    }

    /// <summary>Mean data loss over a whole split (no optimizer step, dropout off).</summary>
    public double EvalLoss(bool train) => Session.Run(DataLoss, SplitFeeds(train)).ToDoubleArray()[0];

    /// <summary>Metrics of one split: accuracy for classification; mse, rmse and r2 (original units) for regression.</summary>
    public IReadOnlyDictionary<string, double> Evaluate(bool train)
    {
        float[] output = Predict(train);
        if (Data.Task == TaskKind.Regression)
        {
            float[] y = train ? Data.TargetTrain : Data.TargetTest;
            double mse = Metrics.Mse(output, y);
            return new Dictionary<string, double> { ["r2"] = Metrics.R2(output, y), ["mse"] = mse, ["rmse"] = Math.Sqrt(mse) };
        }
        int cols = Data.Task == TaskKind.Binary ? 1 : Data.Classes;
        return new Dictionary<string, double>
        {
            ["accuracy"] = Metrics.Accuracy(Metrics.Classes(output, cols), train ? Data.LabelsTrain : Data.LabelsTest),
        };
    }

    /// <summary>Current value of a variable as floats.</summary>
    public float[] Value(Variable v) => Session.Run(v.Value).ToFloatArray();

    /// <summary>Closes the session.</summary>
    public void Dispose() => _session?.Dispose();
}
