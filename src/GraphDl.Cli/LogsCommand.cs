using System.Globalization;
using Google.Protobuf;
using GraphDl.Summaries.Proto;

namespace GraphDl.Cli;

/// <summary><c>graphdl logs LOGDIR</c>: runs, tags by kind, step ranges, last scalar values, wall-clock span, file health.</summary>
public static class LogsCommand
{
    sealed class TagStats
    {
        public string? Legacy;
        public long Count, MinStep = long.MaxValue, MaxStep = long.MinValue;
        public ScalarValue? Last;
        public long LastStep;

        public void Add(long step)
        {
            Count++;
            MinStep = Math.Min(MinStep, step);
            MaxStep = Math.Max(MaxStep, step);
        }
    }

    sealed class RunReport(string name)
    {
        public string Name { get; } = name;
        public List<FileHealth> Files { get; } = [];
        public SortedDictionary<string, TagStats> Tags { get; } = new(StringComparer.Ordinal);
        public TagPlugins Plugins { get; } = new();
        public Dictionary<string, string> PluginOfTag { get; } = new(StringComparer.Ordinal);
        public double MinWall = double.PositiveInfinity, MaxWall = double.NegativeInfinity;
        public int Graphs, MetaGraphs, SessionLogs, LogMessages;
        public long GraphStep;
        public ByteString? LastGraph;
        public List<(string Tag, long Step)> RunMetadata { get; } = [];
    }

    /// <summary>Prints the report to <paramref name="output"/>; returns the exit code.</summary>
    public static int Run(string logDir, TextWriter output, TextWriter error)
    {
        var runs = LogScan.FindRuns(logDir);
        var reports = runs.Select(Read).ToList();
        int files = reports.Sum(r => r.Files.Count);
        output.WriteLine($"logdir: {logDir}");
        output.WriteLine($"{Plural(reports.Count, "run")}, {Plural(files, "event file")}");
        bool corrupt = false;
        foreach (var r in reports)
        {
            output.WriteLine();
            corrupt |= Print(r, output);
        }
        long good = reports.Sum(r => r.Files.Sum(f => f.GoodRecords));
        long bad = reports.Sum(r => r.Files.Sum(f => f.Damaged.Count));
        output.WriteLine();
        output.WriteLine($"health: {Plural(good, "record")} ok, {bad} corrupt");
        if (!corrupt) return ExitCodes.Ok;
        error.WriteLine($"graphdl: {Plural(bad, "corrupt record")} found (see the files sections); everything readable is shown");
        return ExitCodes.CorruptData;
    }

    static RunReport Read(RunFiles run)
    {
        var r = new RunReport(run.Name);
        foreach (string file in run.Files)
            r.Files.Add(LogScan.ScanFile(file, e => Add(r, e)));
        return r;
    }

    static void Add(RunReport r, Event e)
    {
        if (e.WallTime > 0)
        {
            r.MinWall = Math.Min(r.MinWall, e.WallTime);
            r.MaxWall = Math.Max(r.MaxWall, e.WallTime);
        }
        switch (e.WhatCase)
        {
            case Event.WhatOneofCase.Summary:
                foreach (var v in e.Summary.Value)
                {
                    string tag = Values.TagOf(v);
                    string? plugin = r.Plugins.See(v);
                    if (plugin is not null) r.PluginOfTag.TryAdd(tag, plugin);
                    if (!r.Tags.TryGetValue(tag, out var s)) r.Tags.Add(tag, s = new TagStats());
                    s.Legacy ??= Values.LegacyKind(v);
                    s.Add(e.Step);
                    if (Values.ScalarOf(v, plugin) is ScalarValue x) // the last one read, as TensorBoard's tooltip shows
                        (s.Last, s.LastStep) = (x, e.Step);
                }
                break;
            case Event.WhatOneofCase.GraphDef:
                r.Graphs++;
                r.LastGraph = e.GraphDef;
                r.GraphStep = e.Step;
                break;
            case Event.WhatOneofCase.MetaGraphDef: r.MetaGraphs++; break;
            case Event.WhatOneofCase.TaggedRunMetadata: r.RunMetadata.Add((e.TaggedRunMetadata.Tag, e.Step)); break;
            case Event.WhatOneofCase.SessionLog: r.SessionLogs++; break;
            case Event.WhatOneofCase.LogMessage: r.LogMessages++; break;
        }
    }

    /// <summary>Prints one run; returns whether it holds corrupt data.</summary>
    static bool Print(RunReport r, TextWriter o)
    {
        bool corrupt = false;
        o.WriteLine($"run {r.Name}");
        if (r.MinWall <= r.MaxWall)
            o.WriteLine($"  wall clock  {Utc(r.MinWall)} .. {Utc(r.MaxWall)}  ({Duration(r.MaxWall - r.MinWall)})");

        string KindOf(string tag, TagStats s) => s.Legacy ?? r.PluginOfTag.GetValueOrDefault(tag) ?? Values.NoPlugin;
        var byKind = r.Tags.GroupBy(t => KindOf(t.Key, t.Value))
            .OrderBy(g => Array.IndexOf(Values.KindOrder, g.Key) is int i and >= 0 ? i : Values.KindOrder.Length)
            .ThenBy(g => g.Key, StringComparer.Ordinal);
        foreach (var kind in byKind)
        {
            o.WriteLine($"  {kind.Key} ({kind.Count()})");
            var rows = kind.Select(t => new[]
            {
                t.Key,
                Plural(t.Value.Count, "point"),
                t.Value.MinStep == t.Value.MaxStep ? $"step {t.Value.MinStep}" : $"steps {t.Value.MinStep}..{t.Value.MaxStep}",
                t.Value.Last is ScalarValue last ? $"last {last} (step {t.Value.LastStep})" : "",
            });
            Table.Write(o, "    ", rows);
        }

        if (r.Graphs > 0)
        {
            string nodes;
            try { nodes = Plural(GraphDef.Parser.ParseFrom(r.LastGraph!).Node.Count, "node"); }
            catch (InvalidProtocolBufferException ex) { nodes = $"unreadable GraphDef: {ex.Message}"; corrupt = true; }
            o.WriteLine($"  graph  {Plural(r.Graphs, "graph_def event")}, last at step {r.GraphStep}: {nodes}");
        }
        if (r.RunMetadata.Count > 0)
        {
            o.WriteLine($"  run metadata ({r.RunMetadata.Count})");
            Table.Write(o, "    ", r.RunMetadata.Select(m => new[] { m.Tag, $"step {m.Step}" }));
        }
        var other = new List<string>();
        if (r.MetaGraphs > 0) other.Add(Plural(r.MetaGraphs, "meta_graph_def event"));
        if (r.SessionLogs > 0) other.Add(Plural(r.SessionLogs, "session_log event"));
        if (r.LogMessages > 0) other.Add(Plural(r.LogMessages, "log_message event"));
        if (other.Count > 0) o.WriteLine($"  other  {string.Join(", ", other)}");

        o.WriteLine("  files");
        foreach (var f in r.Files)
        {
            string name = Path.GetFileName(f.Path);
            string state = f.Damaged.Count == 0 ? "ok" : $"ok, {Plural(f.Damaged.Count, "corrupt record")}";
            if (f.TruncatedTailOffset is not null) state += ", truncated tail";
            o.WriteLine($"    {name}  {Plural(f.GoodRecords, "record")} {state}");
            foreach (var d in f.Damaged)
                o.WriteLine($"      CORRUPT at byte offset {d.Offset}: {d.Damage} ({d.Detail}); "
                    + (d.Skipped ? "record skipped" : $"the remaining {f.UnreadBytes} bytes cannot be read"));
            if (f.TruncatedTailOffset is long t)
                o.WriteLine($"      truncated tail at byte offset {t} ({f.TruncatedTailBytes} bytes): a writer still running or killed; ignored, as TensorBoard does");
            corrupt |= f.IsCorrupt;
        }
        return corrupt;
    }

    internal static string Plural(long n, string noun) => n == 1 ? $"1 {noun}" : $"{n} {noun}s";

    internal static string Utc(double unixSeconds) =>
        DateTime.UnixEpoch.AddSeconds(unixSeconds).ToString("yyyy-MM-dd HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    static string Duration(double seconds) => seconds switch
    {
        < 60 => seconds.ToString("0.###", CultureInfo.InvariantCulture) + " s",
        < 3600 => $"{(int)(seconds / 60)} min {(seconds % 60).ToString("0", CultureInfo.InvariantCulture)} s",
        _ => $"{(int)(seconds / 3600)} h {(int)(seconds % 3600 / 60)} min",
    };
}

/// <summary>Left-aligned text columns separated by two spaces; empty trailing cells print nothing.</summary>
static class Table
{
    public static void Write(TextWriter o, string indent, IEnumerable<string[]> rows)
    {
        var list = rows.ToList();
        if (list.Count == 0) return;
        int columns = list.Max(r => r.Length);
        var widths = Enumerable.Range(0, columns).Select(c => list.Max(r => c < r.Length ? r[c].Length : 0)).ToArray();
        foreach (var row in list)
        {
            var cells = row.Select((cell, c) => c == row.Length - 1 ? cell : cell.PadRight(widths[c]));
            o.WriteLine((indent + string.Join("  ", cells)).TrimEnd());
        }
    }
}
