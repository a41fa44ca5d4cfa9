using System.Buffers.Binary;
using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;

namespace GraphDl.Cli;

/// <summary>One run: a directory (relative to the log directory, "." for itself) and its event files in read order.</summary>
public sealed record RunFiles(string Name, IReadOnlyList<string> Files);

/// <summary>A damaged record found while scanning a file.</summary>
/// <param name="Offset">Byte offset of the record's start.</param>
/// <param name="Damage">What is wrong with it.</param>
/// <param name="Detail">The reader's message.</param>
/// <param name="Skipped">True when reading went on after it (the length field was intact); false when the rest of the file was unreadable.</param>
public sealed record DamagedRecord(long Offset, RecordDamage Damage, string Detail, bool Skipped);

/// <summary>What scanning one event file found: good records, damaged ones, and a truncated tail.</summary>
public sealed class FileHealth(string path)
{
    /// <summary>The event file.</summary>
    public string Path { get; } = path;

    /// <summary>Records whose frame, CRCs and Event payload were all valid.</summary>
    public long GoodRecords { get; internal set; }

    /// <summary>Damaged records, in file order.</summary>
    public List<DamagedRecord> Damaged { get; } = [];

    /// <summary>Offset of a last record cut short by the end of the file (a writer still busy or killed), else null.</summary>
    public long? TruncatedTailOffset { get; internal set; }

    /// <summary>Bytes from <see cref="TruncatedTailOffset"/> to the end of the file.</summary>
    public long TruncatedTailBytes { get; internal set; }

    /// <summary>Bytes left unread after a record whose length could not be trusted.</summary>
    public long UnreadBytes { get; internal set; }

    /// <summary>Whether any record was damaged (a truncated tail does not count: TensorBoard reads such files quietly).</summary>
    public bool IsCorrupt => Damaged.Count > 0;
}

/// <summary>
/// Finds runs and reads their events without giving up at the first damaged record: a record with a bad
/// payload CRC or an undecodable payload is reported and skipped (its length field is CRC-checked, so the next
/// record's position is known); a bad length CRC ends the file, because nothing after it can be located.
/// </summary>
public static class LogScan
{
    /// <summary>The runs under <paramref name="logDir"/> (or the single event file it names), sorted by name.</summary>
    /// <exception cref="CliException">Exit code 3 when the path is missing or holds no event file.</exception>
    public static IReadOnlyList<RunFiles> FindRuns(string logDir)
    {
        if (File.Exists(logDir))
            return [new RunFiles(".", [logDir])];
        if (!Directory.Exists(logDir))
            throw new CliException(ExitCodes.NoLogs, $"log directory '{logDir}' does not exist");
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = 0 };
        var runs = Directory.EnumerateFiles(logDir, "*", options)
            .Where(IsEventFile)
            .GroupBy(f => Path.GetRelativePath(logDir, Path.GetDirectoryName(f)!).Replace('\\', '/'), StringComparer.Ordinal)
            .Select(g => new RunFiles(g.Key, g.Order(StringComparer.Ordinal).ToList()))
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .ToList();
        if (runs.Count == 0)
            throw new CliException(ExitCodes.NoLogs,
                $"no event files under '{logDir}' (TensorBoard reads files whose name contains 'tfevents')");
        return runs;
    }

    /// <summary>Keeps the run named <paramref name="run"/> (all runs when null).</summary>
    /// <exception cref="CliException">Exit code 2 when no run has that name.</exception>
    public static IReadOnlyList<RunFiles> Select(IReadOnlyList<RunFiles> runs, string? run)
    {
        if (run is null) return runs;
        string wanted = run.Replace('\\', '/').TrimEnd('/');
        if (wanted.Length == 0) wanted = ".";
        var hit = runs.Where(r => r.Name == wanted).ToList();
        if (hit.Count == 0)
            throw new CliException(ExitCodes.Usage,
                $"no run named '{run}'; runs: {string.Join(", ", runs.Select(r => r.Name))}");
        return hit;
    }

    /// <summary>Reads every event of <paramref name="path"/> in order, calling <paramref name="onEvent"/>; returns what was found.</summary>
    public static FileHealth ScanFile(string path, Action<Event> onEvent)
    {
        var health = new FileHealth(path);
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
        while (true)
        {
            // A fresh reader per resume point: RecordReader takes its offset from the stream position.
            using var reader = new RecordReader(stream, path, tolerateTruncatedTail: true, leaveOpen: true);
            try
            {
                while (true)
                {
                    long offset = reader.Offset;
                    if (!reader.TryRead(out var payload)) break;
                    Event e;
                    try { e = Event.Parser.ParseFrom(payload); }
                    catch (InvalidProtocolBufferException ex)
                    {
                        health.Damaged.Add(new DamagedRecord(offset, RecordDamage.InvalidPayload, ex.Message, Skipped: true));
                        continue;
                    }
                    health.GoodRecords++;
                    onEvent(e);
                }
                if (reader.Offset < stream.Length)
                {
                    health.TruncatedTailOffset = reader.Offset;
                    health.TruncatedTailBytes = stream.Length - reader.Offset;
                }
                return health;
            }
            catch (CorruptRecordException ex) when (ex.Damage == RecordDamage.PayloadCrcMismatch)
            {
                health.Damaged.Add(new DamagedRecord(ex.Offset, ex.Damage, Reason(ex), Skipped: true));
                stream.Position = ex.Offset + RecordWriter.FrameOverhead + (long)PayloadLength(stream, ex.Offset);
            }
            catch (CorruptRecordException ex)
            {
                health.Damaged.Add(new DamagedRecord(ex.Offset, ex.Damage, Reason(ex), Skipped: false));
                health.UnreadBytes = stream.Length - ex.Offset;
                return health;
            }
        }
    }

    /// <summary>The exception's detail without the "file: corrupt record at ..." prefix we print ourselves.</summary>
    static string Reason(CorruptRecordException ex)
    {
        int colon = ex.Message.LastIndexOf("): ", StringComparison.Ordinal);
        return colon >= 0 ? ex.Message[(colon + 3)..] : ex.Message;
    }

    static ulong PayloadLength(FileStream stream, long recordStart)
    {
        Span<byte> len = stackalloc byte[8];
        stream.Position = recordStart;
        stream.ReadExactly(len);
        return BinaryPrimitives.ReadUInt64LittleEndian(len);
    }

    static bool IsEventFile(string path) => Path.GetFileName(path).Contains("tfevents", StringComparison.Ordinal);

    /// <summary>One line per damaged record or truncated tail, for warnings.</summary>
    public static IEnumerable<string> Problems(FileHealth h)
    {
        foreach (var d in h.Damaged)
            yield return $"{h.Path}: corrupt record at byte offset {d.Offset} ({d.Damage}: {d.Detail}); "
                + (d.Skipped ? "record skipped" : $"the remaining {h.UnreadBytes} bytes cannot be read");
        if (h.TruncatedTailOffset is long t)
            yield return $"{h.Path}: last record cut short at byte offset {t} ({h.TruncatedTailBytes} bytes; a writer still running or killed); ignored as TensorBoard does";
    }
}
