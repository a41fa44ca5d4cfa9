using System.CommandLine;
using GraphDl.Data;

namespace GraphDl.Examples;

/// <summary>The split options of the tabular examples: <c>--test-fraction</c>, <c>--split</c> and <c>--target</c>.</summary>
public sealed class TabularOptions(string defaultTarget)
{
    /// <summary><c>--test-fraction F</c>.</summary>
    public Option<double> TestFraction { get; } = Opt.Double("--test-fraction", "Fraction of rows held out for testing", GraphDl.Data.Split.DefaultTestFraction,
        v => v > 0 && v < 1 ? null : "must be between 0 and 1");

    /// <summary><c>--split interleaved|tail</c>.</summary>
    public Option<string> Split { get; } = Opt.Choice("--split",
        "Test rows: interleaved = row i when i % k == k-1 with k = 1/F; tail = the last rows", "interleaved", "interleaved", "tail");

    /// <summary><c>--target COLUMN</c>.</summary>
    public Option<string?> Target { get; } = Opt.Text("--target", "Column to predict", "COLUMN", defaultTarget);

    /// <summary>The three options.</summary>
    public IEnumerable<Option> All => [TestFraction, Split, Target];

    /// <summary>Loads <c>--data</c> (or <paramref name="defaultFile"/> from <c>data/</c>) with these options; <c>--smoke</c> keeps a few rows.</summary>
    public TabularData Load(ExampleContext ctx, string defaultFile, TaskKind task, IReadOnlyList<string>? drop = null)
    {
        string path = DataPaths.Resolve(ctx.Data, defaultFile);
        if (Directory.Exists(path))
            throw new UsageException($"--data {ctx.Data}: {ctx.Example.Name} reads a CSV file, not a folder.");
        var data = TabularData.LoadCsv(path, ctx.Get(Target)!, ctx.Get(TestFraction), ctx.Get(Split), task, drop: drop).ForSmoke(ctx.Smoke);
        ctx.Line($"  data: {data.Describe()}");
        return data;
    }
}
