using Google.Protobuf;
using GraphDl.Summaries.Proto;

namespace GraphDl.Cli;

/// <summary><c>graphdl graph LOGDIR [--run R]</c>: node count, op types, top-level scopes and devices of the logged GraphDef.</summary>
public static class GraphCommand
{
    /// <summary>Prints a summary of each selected run's graph (the last graph_def event, as TensorBoard shows); returns the exit code.</summary>
    public static int Run(string logDir, string? run, TextWriter output, TextWriter error)
    {
        var runs = LogScan.Select(LogScan.FindRuns(logDir), run);
        bool corrupt = false, first = true;
        int shown = 0;
        foreach (var r in runs)
        {
            (ByteString Bytes, long Step, int Count)? graph = null;
            foreach (string file in r.Files)
            {
                var health = LogScan.ScanFile(file, e =>
                {
                    if (e.WhatCase == Event.WhatOneofCase.GraphDef)
                        graph = (e.GraphDef, e.Step, (graph?.Count ?? 0) + 1);
                });
                foreach (string line in LogScan.Problems(health)) error.WriteLine($"graphdl: warning: {line}");
                corrupt |= health.IsCorrupt;
            }
            if (graph is not { } g) continue;
            GraphDef def;
            try { def = GraphDef.Parser.ParseFrom(g.Bytes); }
            catch (InvalidProtocolBufferException ex)
            {
                error.WriteLine($"graphdl: run {r.Name}: the graph_def at step {g.Step} is not a valid GraphDef: {ex.Message}");
                corrupt = true;
                continue;
            }
            if (!first) output.WriteLine();
            first = false;
            Print(r.Name, def, g.Step, g.Count, output);
            shown++;
        }
        if (shown == 0 && !corrupt)
            throw new CliException(ExitCodes.NoLogs, run is null
                ? $"no run under '{logDir}' logged a graph (a graph_def event)"
                : $"run '{run}' logged no graph (a graph_def event)");
        return corrupt ? ExitCodes.CorruptData : ExitCodes.Ok;
    }

    static void Print(string run, GraphDef g, long step, int events, TextWriter o)
    {
        var names = g.Node.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        int data = 0, control = 0, dangling = 0;
        foreach (var n in g.Node)
            foreach (string input in n.Input)
            {
                bool isControl = input.StartsWith('^');
                if (isControl) control++; else data++;
                if (!names.Contains(SourceNode(input))) dangling++;
            }
        string more = events > 1 ? $" (the last of {events} graph_def events)" : "";
        o.WriteLine($"run {run}: graph at step {step}{more}");
        o.WriteLine($"  nodes     {g.Node.Count}");
        o.WriteLine($"  inputs    {data} data, {control} control" + (dangling > 0 ? $", {dangling} naming no node (TensorBoard drops these edges)" : ""));
        if (g.Versions is { } v) o.WriteLine($"  producer  {v.Producer}");

        o.WriteLine("  op types");
        Table.Write(o, "    ", Histogram(g.Node.Select(n => n.Op)));
        o.WriteLine("  top-level scopes");
        Table.Write(o, "    ", Histogram(g.Node.Select(n => n.Name.IndexOf('/') is int slash and > 0 ? n.Name[..(slash + 1)] : "(no scope)")));
        o.WriteLine("  devices");
        Table.Write(o, "    ", Histogram(g.Node.Select(n => n.Device.Length > 0 ? n.Device : "(none)")));
    }

    /// <summary>The node an input string names: <c>^x</c> and <c>x:k</c> both name <c>x</c>.</summary>
    static string SourceNode(string input)
    {
        string s = input.TrimStart('^');
        int colon = s.LastIndexOf(':');
        return colon > 0 && s[(colon + 1)..].All(char.IsAsciiDigit) && colon < s.Length - 1 ? s[..colon] : s;
    }

    /// <summary>Rows of (key, count), most frequent first, ties by key.</summary>
    static IEnumerable<string[]> Histogram(IEnumerable<string> keys) =>
        keys.GroupBy(k => k, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new[] { g.Key, g.Count().ToString(System.Globalization.CultureInfo.InvariantCulture) });
}
