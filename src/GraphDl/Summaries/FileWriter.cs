using System.Collections.Concurrent;
using Google.Protobuf;
using GraphDl.Summaries.Proto;
using ProtoSummary = GraphDl.Summaries.Proto.Summary;

namespace GraphDl.Summaries;

/// <summary>TF1's <c>tf.summary.FileWriter</c>: writes summaries, the graph and run metadata of one run directory to a new
/// event file through a background thread.</summary>
/// <remarks>
/// Events are stamped when added and queued (the queue holds <c>maxQueue</c> events; adding to a full queue waits);
/// a background thread writes them in order and flushes the file every <c>flushInterval</c> (120 s by default, as in
/// TensorFlow), on <see cref="Flush"/> and on <see cref="Dispose"/>. The file is named and started by
/// <see cref="EventFileWriter"/> (TensorBoard's naming, the <c>brain.Event:2</c> record first, never shared by two writers).
/// An I/O error of the background thread is rethrown by the next call.
/// </remarks>
public sealed class FileWriter : IDisposable
{
    readonly EventFileWriter _file;
    readonly BlockingCollection<Item> _queue;
    readonly Thread _thread;
    readonly TimeSpan _flushInterval;
    readonly HashSet<string> _runMetadataTags = new(StringComparer.Ordinal);
    readonly HashSet<string> _pluginTags = new(StringComparer.Ordinal);
    readonly object _gate = new();
    volatile Exception? _error;
    bool _disposed;

    readonly record struct Item(Event? Event, ManualResetEventSlim? FlushDone);

    /// <summary>Starts a writer for <paramref name="logDir"/> (created if missing) and logs <paramref name="graph"/> if given.</summary>
    public FileWriter(string logDir, Graph? graph = null, int maxQueue = 10, TimeSpan? flushInterval = null, string? filenameSuffix = null)
    {
        if (maxQueue < 1) throw new ArgumentOutOfRangeException(nameof(maxQueue), maxQueue, "the queue must hold at least one event");
        _flushInterval = flushInterval ?? TimeSpan.FromSeconds(120);
        if (_flushInterval <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(flushInterval), "flush interval must be positive");
        _file = new EventFileWriter(logDir, filenameSuffix);
        LogDir = logDir;
        _queue = new BlockingCollection<Item>(maxQueue);
        _thread = new Thread(WriteLoop) { IsBackground = true, Name = "GraphDl FileWriter" };
        _thread.Start();
        if (graph is null) return;
        try { AddGraph(graph); }
        catch
        {
            Dispose();
            throw;
        }
    }

    /// <summary>The run directory.</summary>
    public string LogDir { get; }

    /// <summary>Full path of the event file.</summary>
    public string FilePath => _file.FilePath;

    /// <summary>Writes a serialized <c>Summary</c> (e.g. the value of a merged summary op) at <paramref name="step"/>.</summary>
    public void AddSummary(byte[] serializedSummary, long step)
    {
        ArgumentNullException.ThrowIfNull(serializedSummary);
        AddSummary(ProtoSummary.Parser.ParseFrom(serializedSummary), step);
    }

    /// <summary>Writes a summary op's output string (one char per byte, see <see cref="SummaryBytes"/>).</summary>
    public void AddSummary(string summaryOpOutput, long step) => AddSummary(SummaryBytes.ToBytes(summaryOpOutput), step);

    /// <summary>Writes the value of a summary op fetched from a session (a string scalar, or several to concatenate).</summary>
    public void AddSummary(NDArray summaryOpOutput, long step) => AddSummary(SummaryBytes.Parse(summaryOpOutput), step);

    /// <summary>Writes a summary message.</summary>
    public void AddSummary(ProtoSummary summary, long step)
    {
        ArgumentNullException.ThrowIfNull(summary);
        Enqueue(new Event { WallTime = Now(), Step = step, Summary = summary });
    }

    /// <summary>Writes summary values built with <see cref="SummaryValues"/>.</summary>
    public void AddSummary(long step, params ProtoSummary.Types.Value[] values)
    {
        var s = new ProtoSummary();
        s.Value.Add(values);
        AddSummary(s, step);
    }

    /// <summary>Logs a scalar as a legacy <c>simple_value</c> (float32); the first value of a tag names the scalars plugin.</summary>
    public void AddScalar(string tag, double value, long step) =>
        AddSummary(step, WithPluginOnce(SummaryValues.Scalar(tag, value), "scalars", DataClass.Scalar));

    /// <summary>Logs a legacy histogram of <paramref name="values"/> with TensorFlow's default buckets.</summary>
    public void AddHistogram(string tag, ReadOnlySpan<double> values, long step) =>
        AddSummary(step, SummaryValues.Histogram(tag, values));

    /// <summary>Logs a legacy histogram of the elements of a numeric array.</summary>
    public void AddHistogram(string tag, NDArray values, long step)
    {
        ArgumentNullException.ThrowIfNull(values);
        AddHistogram(tag, values.ToDoubleArray(), step);
    }

    /// <summary>Logs up to <paramref name="maxOutputs"/> images of a <c>[batch, h, w, c]</c> array as legacy PNG image values
    /// (tags as the image summary op writes them).</summary>
    public void AddImages(string tag, NDArray images, long step, int maxOutputs = 3) =>
        AddSummary(step, SummaryValues.Images(tag, images, maxOutputs));

    /// <summary>Logs Markdown text for the text plugin (a rank-0 DT_STRING tensor).</summary>
    public void AddText(string tag, string markdown, long step) => AddSummary(step, SummaryValues.Text(tag, markdown));

    /// <summary>Logs the graph as a <c>graph_def</c> event (TensorBoard shows the last one of a run).</summary>
    public void AddGraph(Graph graph, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(graph);
        AddGraph(GraphDefExport.ToGraphDef(graph), step);
    }

    /// <summary>Logs a ready GraphDef.</summary>
    public void AddGraph(GraphDef graphDef, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(graphDef);
        Enqueue(new Event { WallTime = Now(), Step = step, GraphDef = graphDef.ToByteString() });
    }

    /// <summary>Logs the trace of one <c>Session.Run</c> for TensorBoard's "Session runs" view; each tag only once per writer.</summary>
    public void AddRunMetadata(RunMetadata runMetadata, string tag, long step = 0)
    {
        ArgumentNullException.ThrowIfNull(runMetadata);
        ArgumentException.ThrowIfNullOrEmpty(tag);
        lock (_gate)
            if (!_runMetadataTags.Add(tag)) throw new ArgumentException($"run metadata tag '{tag}' was already logged by this writer", nameof(tag));
        Enqueue(new Event
        {
            WallTime = Now(), Step = step,
            TaggedRunMetadata = new TaggedRunMetadata { Tag = tag, RunMetadata = runMetadata.ToByteString() },
        });
    }

    /// <summary>Writes an event as given.</summary>
    public void AddEvent(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        Enqueue(e);
    }

    /// <summary>Waits until every event added so far is written, then flushes the file to the operating system.</summary>
    public void Flush()
    {
        using var done = new ManualResetEventSlim();
        Enqueue(new Item(null, done));
        done.Wait();
        ThrowIfFailed();
    }

    /// <summary>Writes the queued events, flushes and closes the file. Safe to call twice.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
        }
        _queue.CompleteAdding();
        _thread.Join();
        _file.Dispose();
        _queue.Dispose();
    }

    ProtoSummary.Types.Value WithPluginOnce(ProtoSummary.Types.Value v, string plugin, DataClass dataClass)
    {
        bool first;
        lock (_gate) first = _pluginTags.Add(v.Tag);
        if (first) v.Metadata = SummaryValues.Metadata(plugin, dataClass);
        return v;
    }

    void Enqueue(Event e) => Enqueue(new Item(e, null));

    void Enqueue(Item item)
    {
        ThrowIfFailed();
        lock (_gate) ObjectDisposedException.ThrowIf(_disposed, this);
        try { _queue.Add(item); }
        catch (InvalidOperationException) { throw new ObjectDisposedException(nameof(FileWriter)); }
    }

    void ThrowIfFailed()
    {
        if (_error is { } e) throw new IOException($"writing {FilePath} failed: {e.Message}", e);
    }

    void WriteLoop()
    {
        var nextFlush = DateTime.UtcNow + _flushInterval;
        bool dirty = false;
        try
        {
            while (true)
            {
                var wait = nextFlush - DateTime.UtcNow;
                if (wait < TimeSpan.Zero) wait = TimeSpan.Zero;
                bool got;
                Item item;
                try { got = _queue.TryTake(out item, wait); }
                catch (ObjectDisposedException) { break; }
                if (!got)
                {
                    if (_queue.IsAddingCompleted) break;
                    if (dirty) { TryFlush(); dirty = false; }
                    nextFlush = DateTime.UtcNow + _flushInterval;
                    continue;
                }
                if (item.Event is { } e)
                {
                    if (_error is null)
                    {
                        try { _file.AddEvent(e); dirty = true; }
                        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException) { _error = ex; }
                    }
                }
                if (item.FlushDone is { } done)
                {
                    if (dirty) TryFlush();
                    dirty = false;
                    nextFlush = DateTime.UtcNow + _flushInterval;
                    done.Set();
                }
                else if (DateTime.UtcNow >= nextFlush)
                {
                    if (dirty) TryFlush();
                    dirty = false;
                    nextFlush = DateTime.UtcNow + _flushInterval;
                }
            }
        }
        finally
        {
            // Release anyone still waiting for a flush (the queue was completed).
            while (_queue.TryTake(out var rest)) { if (rest.Event is { } e && _error is null) { try { _file.AddEvent(e); } catch (IOException ex) { _error = ex; } } rest.FlushDone?.Set(); }
            TryFlush();
        }
    }

    void TryFlush()
    {
        try { _file.Flush(); }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ObjectDisposedException) { _error ??= ex; }
    }

    static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;
}
