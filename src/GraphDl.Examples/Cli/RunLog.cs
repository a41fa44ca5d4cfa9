using System.Text;
using GraphDl.Summaries;

namespace GraphDl.Examples;

/// <summary>The TensorBoard log of one run (or one variant of a run), with the examples' tag conventions: the graph once,
/// <c>train/*</c> and <c>test/*</c> scalars per epoch, histograms <c>weights/&lt;variable&gt;</c> and
/// <c>gradients/&lt;variable&gt;</c>, the hyper-parameters as the text <c>hparams</c>, a few input images, and the trace of one
/// training step (run metadata <c>step_1</c> for TensorBoard's "Session runs" view, and <c>trace.json</c> beside the event file).</summary>
public sealed class RunLog : IDisposable
{
    readonly FileWriter _writer;
    bool _graphLogged;

    internal RunLog(string dir, IEnumerable<(string Name, string Value)> hparams)
    {
        Dir = dir;
        _writer = new FileWriter(dir);
        var md = new StringBuilder("| option | value |\n| --- | --- |\n");
        foreach (var (name, value) in hparams)
            md.Append("| ").Append(name).Append(" | ").Append(value.Replace("|", "\\|")).Append(" |\n");
        _writer.AddText("hparams", md.ToString(), 0);
        _writer.Flush();
    }

    /// <summary>Folder holding the event file.</summary>
    public string Dir { get; }

    /// <summary>Full path of the event file.</summary>
    public string FilePath => _writer.FilePath;

    /// <summary>The underlying writer, for anything the conventions below do not cover.</summary>
    public FileWriter Writer => _writer;

    /// <summary>Logs the graph for TensorBoard's Graphs tab; only the first call of a log writes (the graph once per run).</summary>
    public void Graph(Graph graph)
    {
        if (_graphLogged) return;
        _graphLogged = true;
        _writer.AddGraph(graph);
    }

    /// <summary>Logs a scalar (the epoch is the step by convention).</summary>
    public void Scalar(string tag, double value, long step) => _writer.AddScalar(tag, value, step);

    /// <summary>Logs a Markdown text.</summary>
    public void Text(string tag, string markdown, long step = 0) => _writer.AddText(tag, markdown, step);

    /// <summary>Logs a histogram of the elements of <paramref name="values"/>; skipped if a value is not finite.</summary>
    public void Histogram(string tag, NDArray values, long step)
    {
        var xs = values.ToDoubleArray();
        if (Array.TrueForAll(xs, double.IsFinite)) _writer.AddHistogram(tag, xs, step);
    }

    /// <summary>Logs up to <paramref name="maxOutputs"/> images of a <c>[batch, h, w, c]</c> array as <c>tag/image/i</c>.</summary>
    public void Images(string tag, NDArray images, long step, int maxOutputs = 3) => _writer.AddImages(tag, images, step, maxOutputs);

    /// <summary>Name of the Chrome trace file <see cref="TracedRun"/> writes into <see cref="Dir"/>.</summary>
    public const string TraceFileName = "trace.json";

    /// <summary>Runs one step with a full trace (TF1's <c>RunOptions(trace_level=FULL_TRACE)</c>), logs it as run metadata tagged
    /// <c>step_&lt;step&gt;</c> at <paramref name="step"/>, and writes the same trace as Chrome trace JSON to
    /// <see cref="TraceFileName"/> in <see cref="Dir"/> (chrome://tracing, Perfetto). Returns the fetched values.</summary>
    public NDArray[] TracedRun(Session session, Tensor[] fetches, (Tensor, NDArray)[] feeds, Operation[] targets, long step)
    {
        var trace = new StepTrace();
        var values = session.Run(fetches, feeds, targets, new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
        _writer.AddRunMetadata(RunMetadataExport.ToRunMetadata(trace), $"step_{step}", step);
        File.WriteAllText(Path.Combine(Dir, TraceFileName), RunMetadataExport.ToChromeTrace(trace));
        return values;
    }

    /// <summary>Logs <c>weights/&lt;variable&gt;</c> for each variable and, where given, <c>gradients/&lt;variable&gt;</c> of the
    /// gradient tensor evaluated with <paramref name="feeds"/>, in one session run.</summary>
    public void Parameters(Session session, IReadOnlyList<(Tensor? Grad, Variable Var)> parameters, long step, params (Tensor, NDArray)[] feeds)
    {
        var fetches = new List<Tensor>();
        foreach (var (_, v) in parameters) fetches.Add(v.Value);
        var grads = parameters.Where(p => p.Grad != null).ToList();
        foreach (var (grad, _) in grads) fetches.Add(grad!);
        var values = session.Run(fetches.ToArray(), grads.Count > 0 ? feeds : []);
        for (int i = 0; i < parameters.Count; i++) Histogram("weights/" + parameters[i].Var.Name, values[i], step);
        for (int i = 0; i < grads.Count; i++) Histogram("gradients/" + grads[i].Var.Name, values[parameters.Count + i], step);
    }

    /// <summary>Pushes buffered events to disk.</summary>
    public void Flush() => _writer.Flush();

    /// <summary>Flushes and closes the event file.</summary>
    public void Dispose() => _writer.Dispose();
}
