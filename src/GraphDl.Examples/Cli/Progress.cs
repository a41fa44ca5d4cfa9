using System.Diagnostics;
using System.Globalization;
using Spectre.Console;

namespace GraphDl.Examples;

/// <summary>Receives per-epoch progress of one training loop.</summary>
public interface IEpochProgress
{
    /// <summary>Reports that <paramref name="epoch"/> (1-based) finished with this training loss; <paramref name="extra"/> is shown beside it.</summary>
    void Epoch(int epoch, double loss, string extra = "");
}

/// <summary>Shows training progress: a Spectre.Console bar on an interactive console, a plain line every few epochs otherwise.</summary>
internal static class ProgressDisplay
{
    /// <summary>Runs <paramref name="body"/> with a progress sink for a loop of <paramref name="epochs"/> epochs.</summary>
    public static void Run(TextWriter output, bool interactive, string label, int epochs, Action<IEpochProgress> body)
    {
        if (!interactive)
        {
            body(new Plain(output, label, epochs));
            return;
        }
        Bar? bar = null;
        AnsiConsole.Progress()
            .AutoClear(true)
            .HideCompleted(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(),
                     new ElapsedTimeColumn(), new RemainingTimeColumn())
            .Start(ctx =>
            {
                var task = ctx.AddTask(Markup.Escape(label), maxValue: epochs);
                bar = new Bar(task, label);
                body(bar);
            });
        output.WriteLine("  " + (bar?.Last ?? $"{label}: {epochs} epochs"));
    }

    sealed class Bar(ProgressTask task, string label) : IEpochProgress
    {
        public string? Last { get; private set; }

        public void Epoch(int epoch, double loss, string extra = "")
        {
            Last = string.Create(CultureInfo.InvariantCulture, $"{label} epoch {epoch} loss {loss:F4} {extra}").TrimEnd();
            task.Value = epoch;
            task.Description = Markup.Escape(Last);
        }
    }

    sealed class Plain(TextWriter output, string label, int epochs) : IEpochProgress
    {
        readonly Stopwatch _clock = Stopwatch.StartNew();
        readonly int _every = Math.Max(1, epochs / 5);

        public void Epoch(int epoch, double loss, string extra = "")
        {
            if (epoch % _every != 0 && epoch != epochs && epoch != 1)
                return;
            double elapsed = _clock.Elapsed.TotalSeconds;
            double eta = elapsed / epoch * (epochs - epoch);
            output.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {label} epoch {epoch,4}/{epochs}  loss {loss,9:F5}  {extra}{(extra.Length > 0 ? "  " : "")}{elapsed:F1}s elapsed, ETA {eta:F1}s"));
        }
    }
}
