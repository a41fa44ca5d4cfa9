using ScottPlot;

namespace GraphDl.Cli;

/// <summary><c>graphdl plot LOGDIR --tag T -o out.png [--smooth 0.6]</c>: a PNG line chart, one line per run.</summary>
public static class PlotCommand
{
    /// <summary>Line colours, one per run in name order (cycled); TensorBoard-like, distinct on white.</summary>
    public static readonly string[] RunColors =
        ["#FF7043", "#0077BB", "#009988", "#EE3377", "#33BBEE", "#CC3311", "#AA3377", "#777777"];

    /// <summary>Draws the chart and writes the PNG; returns the exit code.</summary>
    public static int Run(string logDir, string tag, string? run, string outPath, double smoothing, int width, int height,
        TextWriter output, TextWriter error)
    {
        var (series, corrupt) = ScalarReader.Read(logDir, run, tag, error);
        using var plot = Build(tag, series, smoothing, error);
        byte[] png = plot.GetImage(width, height).GetImageBytes(ImageFormat.Png);
        try
        {
            string? dir = Path.GetDirectoryName(Path.GetFullPath(outPath));
            if (dir is not null) Directory.CreateDirectory(dir);
            File.WriteAllBytes(outPath, png);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new CliException(ExitCodes.Usage, $"cannot write '{outPath}': {ex.Message}");
        }
        output.WriteLine($"wrote {outPath} ({width}x{height}, {LogsCommand.Plural(series.Count, "run")}: "
            + string.Join(", ", series.Select(s => $"{s.Run} {LogsCommand.Plural(s.Points.Count, "point")}")) + ")");
        return corrupt ? ExitCodes.CorruptData : ExitCodes.Ok;
    }

    /// <summary>The chart: per run a faint raw line and a bold smoothed one (only the raw line when smoothing is 0).</summary>
    public static Plot Build(string tag, IReadOnlyList<ScalarSeries> series, double smoothing, TextWriter error)
    {
        EmbeddedFont.Register();
        var plot = new Plot();
        plot.Font.Set(EmbeddedFont.Family);
        plot.Title(tag);
        plot.XLabel("step");
        plot.YLabel(smoothing > 0 ? $"value (smoothing {smoothing:0.###})" : "value");
        for (int i = 0; i < series.Count; i++)
        {
            var points = series[i].Points.Where(p => double.IsFinite(p.Value.Value)).ToList();
            if (points.Count < series[i].Points.Count)
                error.WriteLine($"graphdl: note: run {series[i].Run}: {series[i].Points.Count - points.Count} non-finite values not drawn");
            if (points.Count == 0) continue;
            double[] xs = points.Select(p => (double)p.Step).ToArray();
            double[] ys = points.Select(p => p.Value.Value).ToArray();
            var color = Color.FromHex(RunColors[i % RunColors.Length]);
            if (smoothing > 0)
            {
                var raw = plot.Add.ScatterLine(xs, ys, color.WithAlpha(0.35));
                raw.LineWidth = 1.5f;
            }
            var line = plot.Add.ScatterLine(xs, smoothing > 0 ? Smoothing.Ema(ys, smoothing) : ys, color);
            line.LineWidth = 2;
            line.MarkerSize = points.Count == 1 ? 7 : 0; // a lone point would draw nothing
            line.LegendText = series[i].Run;
        }
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericAutomatic { IntegerTicksOnly = true }; // steps
        plot.ShowLegend(Edge.Right);
        return plot;
    }
}

/// <summary>TensorBoard's scalar smoothing.</summary>
public static class Smoothing
{
    /// <summary>
    /// The debiased exponential moving average of TensorBoard's scalar dashboard: <c>last = last·w + (1−w)·y</c>
    /// from <c>last = 0</c>, divided by <c>1 − w^n</c> after n finite points; non-finite points pass through and do
    /// not count, and a constant series is returned unchanged.
    /// </summary>
    public static double[] Ema(IReadOnlyList<double> ys, double weight)
    {
        var smoothed = new double[ys.Count];
        if (ys.All(y => y == ys[0])) // as TensorBoard compares: a NaN makes a series non-constant
        {
            for (int i = 0; i < ys.Count; i++) smoothed[i] = ys[i];
            return smoothed;
        }
        double last = 0;
        int n = 0;
        for (int i = 0; i < ys.Count; i++)
        {
            double y = ys[i];
            if (!double.IsFinite(y)) { smoothed[i] = y; continue; }
            last = last * weight + (1 - weight) * y;
            n++;
            smoothed[i] = weight == 1 ? last : last / (1 - Math.Pow(weight, n));
        }
        return smoothed;
    }
}
