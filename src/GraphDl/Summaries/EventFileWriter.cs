using System.Globalization;
using Google.Protobuf;
using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>Appends TensorBoard events to a new event file in a run directory.</summary>
/// <remarks>
/// The file is named <c>events.out.tfevents.&lt;10-digit seconds&gt;.&lt;host&gt;.&lt;pid&gt;.&lt;counter&gt;&lt;suffix&gt;</c>,
/// created with <see cref="FileMode.CreateNew"/> and given a name greater than every events file of the
/// same second already in the directory (TensorBoard only follows the lexicographically newest file).
/// The first record is the <c>brain.Event:2</c> file-version event, flushed at once. All methods are thread-safe.
/// </remarks>
public sealed class EventFileWriter : IDisposable
{
    /// <summary>The file_version string of the first event.</summary>
    public const string FileVersion = "brain.Event:2";

    /// <summary>The source_metadata.writer string of the first event.</summary>
    public const string WriterName = "graphdl";

    const string Prefix = "events.out.tfevents.";
    static int s_counter = -1;

    readonly object _lock = new();
    readonly FileStream _stream;
    readonly RecordWriter _records;
    readonly HashSet<string> _taggedWithMetadata = new(StringComparer.Ordinal);
    bool _disposed;

    /// <summary>Full path of the event file being written.</summary>
    public string FilePath { get; }

    /// <summary>Creates <paramref name="logDir"/> if needed and starts a new event file in it.</summary>
    public EventFileWriter(string logDir, string? filenameSuffix = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(logDir);
        if (filenameSuffix is not null && filenameSuffix.IndexOfAny(['/', '\\']) >= 0)
            throw new ArgumentException("Suffix must not contain path separators.", nameof(filenameSuffix));
        Directory.CreateDirectory(logDir);
        (FilePath, _stream) = CreateFile(Path.GetFullPath(logDir), filenameSuffix ?? "");
        _records = new RecordWriter(_stream);
        WriteLocked(new Event
        {
            WallTime = Now(),
            FileVersion = FileVersion,
            SourceMetadata = new SourceMetadata { Writer = WriterName },
        });
        _stream.Flush();
    }

    /// <summary>Logs a scalar as a legacy <c>simple_value</c> (stored as float32).</summary>
    public void AddScalar(string tag, double value, long step, double? wallTime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        var v = new Summary.Types.Value { Tag = tag, SimpleValue = (float)value };
        lock (_lock)
        {
            if (_taggedWithMetadata.Add(tag)) v.Metadata = PluginMetadata("scalars", DataClass.Scalar);
            WriteLocked(new Event { WallTime = wallTime ?? Now(), Step = step, Summary = new Summary { Value = { v } } });
        }
    }

    /// <summary>Logs a Markdown string as a rank-0 DT_STRING tensor for the text plugin.</summary>
    public void AddText(string tag, string markdown, long step, double? wallTime = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        ArgumentNullException.ThrowIfNull(markdown);
        var v = new Summary.Types.Value
        {
            Tag = tag,
            Tensor = new TensorProto
            {
                Dtype = DataType.DtString,
                TensorShape = new TensorShapeProto(),
                StringVal = { ByteString.CopyFromUtf8(markdown) },
            },
        };
        lock (_lock)
        {
            if (_taggedWithMetadata.Add(tag)) v.Metadata = PluginMetadata("text", DataClass.Tensor);
            WriteLocked(new Event { WallTime = wallTime ?? Now(), Step = step, Summary = new Summary { Value = { v } } });
        }
    }

    /// <summary>Writes a summary exactly as given, stamped with <paramref name="step"/> and the current time.</summary>
    public void AddSummary(Summary summary, long step)
    {
        ArgumentNullException.ThrowIfNull(summary);
        AddEvent(new Event { WallTime = Now(), Step = step, Summary = summary });
    }

    /// <summary>Writes an event exactly as given.</summary>
    public void AddEvent(Event e)
    {
        ArgumentNullException.ThrowIfNull(e);
        lock (_lock) WriteLocked(e);
    }

    /// <summary>Pushes buffered records to the file so readers see them.</summary>
    public void Flush()
    {
        lock (_lock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _stream.Flush();
        }
    }

    /// <summary>Flushes and closes the file.</summary>
    public void Dispose()
    {
        lock (_lock)
        {
            if (_disposed) return;
            _disposed = true;
            _records.Dispose();
        }
    }

    void WriteLocked(Event e)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _records.Write(e.ToByteArray());
    }

    static SummaryMetadata PluginMetadata(string plugin, DataClass dataClass) => new()
    {
        PluginData = new SummaryMetadata.Types.PluginData { PluginName = plugin },
        DataClass = dataClass,
    };

    static double Now() => (DateTime.UtcNow - DateTime.UnixEpoch).TotalSeconds;

    static (string, FileStream) CreateFile(string dir, string suffix)
    {
        string host = SafeHostName();
        int pid = Environment.ProcessId;
        while (true)
        {
            long seconds = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            string stamp = Prefix + seconds.ToString("D10", CultureInfo.InvariantCulture) + ".";
            string name = $"{stamp}{host}.{pid}.{Interlocked.Increment(ref s_counter)}{suffix}";
            // Same-second names must keep increasing (e.g. counter 9 -> 10, or another pid);
            // if no name of this second can be greater, wait for the next second.
            string? newest = Directory.EnumerateFiles(dir, stamp + "*")
                .Select(Path.GetFileName).Max(StringComparer.Ordinal);
            if (newest is not null && string.CompareOrdinal(name, newest) <= 0)
            {
                Thread.Sleep(1001 - DateTimeOffset.UtcNow.Millisecond);
                continue;
            }
            string path = Path.Combine(dir, name);
            try
            {
                return (path, new FileStream(path, FileMode.CreateNew, FileAccess.Write, FileShare.Read | FileShare.Delete));
            }
            catch (IOException) when (File.Exists(path)) { /* lost a race; try the next name */ }
        }
    }

    static string SafeHostName()
    {
        string host;
        try { host = System.Net.Dns.GetHostName(); }
        catch (System.Net.Sockets.SocketException) { host = Environment.MachineName; }
        if (host.Length == 0) host = "localhost";
        return string.Concat(host.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_'));
    }
}
