using System.CommandLine;
using DeviceBase = GraphDl.Devices.Device;

namespace GraphDl.Examples;

/// <summary>The common options of one invocation, its run folder, and helpers for logging, metrics and output.</summary>
public sealed class ExampleContext
{
    readonly ParseResult _parse;
    readonly Dictionary<string, double> _metrics = new(StringComparer.Ordinal);
    readonly List<string> _variantsRun = [];
    readonly List<Graph> _graphs = [];
    readonly DeviceBase? _gpu;
    readonly object _outGate = new();

    internal ExampleContext(Example example, ParseResult parse, CommonOptions common, IReadOnlyList<Option> options,
        string runDir, string runName, TextWriter output, bool interactive, DeviceBase? gpu = null, string? deviceNote = null)
    {
        Example = example;
        _parse = parse;
        Epochs = parse.GetValue(common.Epochs);
        BatchSize = parse.GetValue(common.BatchSize);
        LearningRate = parse.GetValue(common.LearningRate);
        Seed = parse.GetValue(common.Seed);
        Data = parse.GetValue(common.Data);
        LogDir = Path.GetFullPath(parse.GetValue(common.LogDir) ?? RepoPaths.DefaultLogDir(example.Name));
        Smoke = parse.GetValue(common.Smoke);
        if (Smoke)
            Epochs = 1;
        Variants = common.Variant != null ? parse.GetValue(common.Variant)!.Items : [];
        RunName = runName;
        RunDir = runDir;
        Out = output;
        _gpu = gpu;
        Device = gpu?.Name ?? "/cpu:0";
        LogDevicePlacement = parse.GetValue(common.LogDevicePlacement);
        // Placement lines go to Out as plans are built; a live progress bar would draw over them.
        Interactive = interactive && !LogDevicePlacement;
        Hparams = options
            .Where(o => o.Name is not "--help" and not "--log-dir" and not "--run")
            .Select(o => (o.Name.TrimStart('-'), Opt.Format(parse.GetResult(o) is { } r ? r.GetValueOrDefault<object?>() : null)))
            .Prepend(("example", example.Name))
            .ToList();
        if (Smoke)
            Hparams = Hparams.Select(h => h.Item1 == "epochs" ? (h.Item1, "1") : h).ToList();
        // The device the sessions ran on, with the one asked for when it could not be opened.
        string device = deviceNote == null ? Device : $"{Device} ({deviceNote})";
        Hparams = Hparams.Select(h => h.Item1 == "device" ? (h.Item1, device) : h).ToList();
    }

    /// <summary>The example being run.</summary>
    public Example Example { get; }

    /// <summary><c>--epochs</c> (1 with <c>--smoke</c>).</summary>
    public int Epochs { get; }

    /// <summary><c>--batch-size</c>; 0 means the whole training set (use <see cref="Batch"/>).</summary>
    public int BatchSize { get; }

    /// <summary>Rows per batch for a training set of <paramref name="rows"/> rows: <see cref="BatchSize"/>, or all rows when it is 0 or larger.</summary>
    public int Batch(int rows) => BatchSize <= 0 ? rows : Math.Min(BatchSize, rows);

    /// <summary><c>--learning-rate</c>.</summary>
    public double LearningRate { get; }

    /// <summary><c>--seed</c>: graph seed and mini-batch shuffling seed.</summary>
    public int Seed { get; }

    /// <summary><c>--data</c>, or null for the example's default data.</summary>
    public string? Data { get; }

    /// <summary><c>--log-dir</c> as a full path.</summary>
    public string LogDir { get; }

    /// <summary>The run name (the folder name under <see cref="LogDir"/>).</summary>
    public string RunName { get; }

    /// <summary><c>&lt;log-dir&gt;/&lt;run&gt;</c>, created before the example starts.</summary>
    public string RunDir { get; }

    /// <summary><c>--smoke</c>: a small subset and one epoch.</summary>
    public bool Smoke { get; }

    /// <summary>Variants chosen with <c>--variant</c> (all by default); empty for an example without variants.</summary>
    public IReadOnlyList<string> Variants { get; }

    /// <summary>Where the example prints.</summary>
    public TextWriter Out { get; }

    /// <summary>Whether progress is drawn as a live bar.</summary>
    public bool Interactive { get; }

    /// <summary>The device every session of the run places its nodes on: <c>/cpu:0</c>, or <c>/gpu:N</c> when
    /// <c>--device /gpu:N</c> was given and that GPU could be opened (otherwise the run falls back to <c>/cpu:0</c>).</summary>
    public string Device { get; }

    /// <summary><c>--log-device-placement</c>: sessions print the device of every node (TF1's <c>log_device_placement</c>)
    /// to <see cref="Out"/> when they build a run plan.</summary>
    public bool LogDevicePlacement { get; }

    /// <summary>Opens a session on <paramref name="graph"/> on the run's <see cref="Device"/> (TF1: nodes without a device
    /// scope go to the default device; ops without a GPU kernel run on the CPU). Every session of an example is opened here,
    /// and the op types of its graph are reported in <see cref="ExampleResult.OpTypes"/>.</summary>
    public Session NewSession(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        if (!_graphs.Any(g => ReferenceEquals(g, graph)))
            _graphs.Add(graph);
        return new Session(graph, new SessionOptions
        {
            Devices = _gpu == null ? [] : [_gpu],
            DefaultDevice = _gpu?.Name,
            LogDevicePlacement = LogDevicePlacement,
            PlacementLog = LogDevicePlacement ? PlacementLine : null,
        });
    }

    void PlacementLine(string line)
    {
        lock (_outGate)
            Out.WriteLine(line);
    }

    /// <summary>Every option with its value, as written to the <c>hparams</c> text summary.</summary>
    public IReadOnlyList<(string Name, string Value)> Hparams { get; }

    /// <summary>Value of one of the example's own options.</summary>
    public T Get<T>(Option<T> option) => _parse.GetValue(option)!;

    /// <summary>Opens the event file of the run (or of one variant, in <c>&lt;run&gt;/&lt;variant&gt;</c>) and writes <c>hparams</c>.</summary>
    public RunLog OpenLog(string? variant = null, IEnumerable<(string Name, string Value)>? extra = null)
    {
        if (variant != null && !_variantsRun.Contains(variant))
            _variantsRun.Add(variant);
        var h = Hparams.ToList();
        if (variant != null)
            h.Add(("variant", variant));
        if (extra != null)
            h.AddRange(extra);
        return new RunLog(variant == null ? RunDir : Path.Combine(RunDir, variant), h);
    }

    /// <summary>Records a final metric (returned in <see cref="ExampleResult.Metrics"/>).</summary>
    public void Metric(string tag, double value, string? variant = null) =>
        _metrics[variant == null ? tag : variant + "/" + tag] = value;

    /// <summary>Runs a training loop of <paramref name="epochs"/> epochs with a progress display.</summary>
    public void Progress(string label, int epochs, Action<IEpochProgress> body) =>
        ProgressDisplay.Run(Out, Interactive, label, epochs, body);

    /// <summary>Prints one line.</summary>
    public void Line(string text = "") => Out.WriteLine(text);

    /// <summary>Prints a left-aligned text table with a header row.</summary>
    public void Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var all = new List<IReadOnlyList<string>> { header };
        all.AddRange(rows);
        var widths = new int[header.Count];
        foreach (var row in all)
            for (int i = 0; i < row.Count && i < widths.Length; i++)
                widths[i] = Math.Max(widths[i], row[i].Length);
        for (int r = 0; r < all.Count; r++)
        {
            Out.WriteLine("  " + string.Join("  ", all[r].Select((c, i) => i == 0 ? c.PadRight(widths[i]) : c.PadLeft(widths[i]))).TrimEnd());
            if (r == 0)
                Out.WriteLine("  " + string.Join("  ", widths.Select(w => new string('-', w))));
        }
    }

    internal ExampleResult Result(TimeSpan elapsed) =>
        new(Example.Name, RunDir, _variantsRun.ToList(), new Dictionary<string, double>(_metrics), elapsed, Device,
            // Read at the end: ops added after a session opened (summaries, evaluation) count too.
            _graphs.SelectMany(g => g.Operations).Select(o => o.Def).Distinct().OrderBy(d => d.Name, StringComparer.Ordinal).ToList());
}

/// <summary>The options every example has.</summary>
internal sealed class CommonOptions
{
    public CommonOptions(Example e)
    {
        Epochs = Opt.Int("--epochs", "Training epochs (passes over the training set)", e.DefaultEpochs, min: 1);
        BatchSize = Opt.Int("--batch-size", "Rows per mini-batch; 0 = the whole training set (batch gradient descent)", e.DefaultBatchSize, min: 0);
        LearningRate = Opt.Positive("--learning-rate", "Optimizer learning rate", e.DefaultLearningRate);
        Seed = Opt.Int("--seed", "Random seed (weights, dropout, mini-batch order)", 0, min: 0);
        Data = Opt.Text("--data", $"Data file or folder (default: {e.DefaultData})", "PATH");
        LogDir = Opt.Text("--log-dir", $"TensorBoard log folder (default: logs/{e.Name} under the repository root)", "DIR");
        Run = Opt.Text("--run", "Run folder name under --log-dir (default: a timestamp such as 2026-11-26T18-40-05)", "NAME");
        Run.Validators.Add(r =>
        {
            string? v = r.GetValueOrDefault<string?>();
            if (v != null && (v.Length == 0 || v.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || v is "." or ".."))
                r.AddError($"--run must be a plain folder name, not '{v}'.");
        });
        Smoke = Opt.Flag("--smoke", "Quick check: a small subset of the data and one epoch");
        Device = Opt.Device("--device", "TF1 device for every node: /cpu:0, or /gpu:N (falls back to /cpu:0, with a note, when that GPU cannot be opened)");
        LogDevicePlacement = Opt.Flag("--log-device-placement", "Print the device of every node as sessions build their run plans (TF1's log_device_placement)");
        if (e.Variants.Count > 0)
            Variant = Opt.Subset("--variant", "Variants to run", e.Variants);
    }

    public Option<int> Epochs { get; }
    public Option<int> BatchSize { get; }
    public Option<double> LearningRate { get; }
    public Option<int> Seed { get; }
    public Option<string?> Data { get; }
    public Option<string?> LogDir { get; }
    public Option<string?> Run { get; }
    public Option<bool> Smoke { get; }
    public Option<string> Device { get; }
    public Option<bool> LogDevicePlacement { get; }
    public Option<Names>? Variant { get; }

    public IEnumerable<Option> All()
    {
        yield return Epochs;
        yield return BatchSize;
        yield return LearningRate;
        yield return Seed;
        yield return Data;
        yield return LogDir;
        yield return Run;
        yield return Smoke;
        yield return Device;
        yield return LogDevicePlacement;
        if (Variant != null)
            yield return Variant;
    }
}
