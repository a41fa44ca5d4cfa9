using System.Globalization;
using GraphDl.Summaries.Proto;

namespace GraphDl.Cli;

/// <summary>One point of a scalar series.</summary>
public readonly record struct ScalarPoint(long Step, double WallTime, ScalarValue Value);

/// <summary>The points of one tag in one run, in file order.</summary>
public sealed record ScalarSeries(string Run, IReadOnlyList<ScalarPoint> Points);

/// <summary>Reads one scalar tag from the selected runs, warning about damaged records on the way.</summary>
public static class ScalarReader
{
    /// <summary>The series of <paramref name="tag"/> in every selected run that has it, and whether corrupt records were met.</summary>
    /// <exception cref="CliException">Exit code 2 when no selected run has <paramref name="tag"/> as a scalar tag.</exception>
    public static (List<ScalarSeries> Series, bool Corrupt) Read(string logDir, string? run, string tag, TextWriter error)
    {
        var runs = LogScan.Select(LogScan.FindRuns(logDir), run);
        var series = new List<ScalarSeries>();
        var scalarTags = new SortedSet<string>(StringComparer.Ordinal);
        var otherKind = new Dictionary<string, string>(StringComparer.Ordinal); // run -> kind of `tag` when not scalar
        bool corrupt = false;
        foreach (var r in runs)
        {
            var points = new List<ScalarPoint>();
            var plugins = new TagPlugins();
            foreach (string file in r.Files)
            {
                var health = LogScan.ScanFile(file, e =>
                {
                    if (e.WhatCase != Event.WhatOneofCase.Summary) return;
                    foreach (var v in e.Summary.Value)
                    {
                        string? plugin = plugins.See(v);
                        string t = Values.TagOf(v);
                        var x = Values.ScalarOf(v, plugin);
                        if (x is not null) scalarTags.Add(t);
                        if (t != tag) continue;
                        if (x is ScalarValue value) points.Add(new ScalarPoint(e.Step, e.WallTime, value));
                        else otherKind.TryAdd(r.Name, Values.LegacyKind(v) ?? plugin ?? Values.NoPlugin);
                    }
                });
                foreach (string line in LogScan.Problems(health)) error.WriteLine($"graphdl: warning: {line}");
                corrupt |= health.IsCorrupt;
            }
            if (points.Count > 0) series.Add(new ScalarSeries(r.Name, points));
        }
        if (series.Count == 0)
        {
            string where = run is null ? "any run" : $"run '{run}'";
            if (otherKind.Count > 0)
                throw new CliException(ExitCodes.Usage,
                    $"tag '{tag}' is not a scalar tag in {where} (it holds {string.Join(", ", otherKind.Values.Distinct())})");
            throw new CliException(ExitCodes.Usage, $"no scalar tag '{tag}' in {where}; scalar tags: "
                + (scalarTags.Count == 0 ? "none" : string.Join(", ", scalarTags)));
        }
        return (series, corrupt);
    }
}

/// <summary><c>graphdl scalars LOGDIR --tag T [--run R] [--csv]</c>: the series as a table or as CSV.</summary>
public static class ScalarsCommand
{
    /// <summary>Prints the series; returns the exit code.</summary>
    public static int Run(string logDir, string tag, string? run, bool csv, TextWriter output, TextWriter error)
    {
        var (series, corrupt) = ScalarReader.Read(logDir, run, tag, error);
        if (csv)
        {
            output.WriteLine("run,step,wall_time,value");
            foreach (var s in series)
                foreach (var p in s.Points)
                    output.WriteLine(string.Join(',', Csv(s.Run), p.Step.ToString(CultureInfo.InvariantCulture),
                        p.WallTime.ToString("R", CultureInfo.InvariantCulture), p.Value.ToString()));
        }
        else
        {
            var rows = new List<string[]> { new[] { "run", "step", "wall_time (UTC)", "value" } };
            foreach (var s in series)
                foreach (var p in s.Points)
                    rows.Add([s.Run, p.Step.ToString(CultureInfo.InvariantCulture), LogsCommand.Utc(p.WallTime), p.Value.ToString()]);
            Table.Write(output, "", rows);
        }
        return corrupt ? ExitCodes.CorruptData : ExitCodes.Ok;
    }

    /// <summary>Quotes a CSV field (RFC 4180) when it holds a comma, quote or line break.</summary>
    public static string Csv(string field) =>
        field.AsSpan().IndexOfAny(",\"\r\n") < 0 ? field : "\"" + field.Replace("\"", "\"\"") + "\"";
}
