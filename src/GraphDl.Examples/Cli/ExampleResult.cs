using System.Globalization;
using GraphDl.Ops;

namespace GraphDl.Examples;

/// <summary>What one example invocation produced: its run folder and final metrics.</summary>
public sealed class ExampleResult
{
    internal ExampleResult(string example, string runDir, IReadOnlyList<string> variants, IReadOnlyDictionary<string, double> metrics, TimeSpan elapsed,
        string device, IReadOnlyList<OpDef> opTypes)
    {
        Example = example;
        RunDir = runDir;
        Variants = variants;
        Metrics = metrics;
        Elapsed = elapsed;
        Device = device;
        OpTypes = opTypes;
    }

    /// <summary>Example name.</summary>
    public string Example { get; }

    /// <summary>Full path of <c>&lt;log-dir&gt;/&lt;run&gt;</c>.</summary>
    public string RunDir { get; }

    /// <summary>Variants that ran (empty for an example without variants).</summary>
    public IReadOnlyList<string> Variants { get; }

    /// <summary>Final metrics; keys are tags such as <c>test/accuracy</c>, prefixed with <c>&lt;variant&gt;/</c> for variant examples.</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; }

    /// <summary>Wall time of the whole invocation.</summary>
    public TimeSpan Elapsed { get; }

    /// <summary>The device the sessions ran on: <c>/cpu:0</c> or <c>/gpu:N</c> (<c>/cpu:0</c> after a fallback).</summary>
    public string Device { get; }

    /// <summary>The op types of every graph the example opened a session on (by name).</summary>
    public IReadOnlyList<OpDef> OpTypes { get; }

    /// <summary>Folder of one variant's event file (the run folder itself when <paramref name="variant"/> is null).</summary>
    public string LogDir(string? variant = null) => variant == null ? RunDir : Path.Combine(RunDir, variant);

    /// <summary>A final metric by tag, optionally of one variant; throws listing the known keys when missing.</summary>
    public double Metric(string tag, string? variant = null)
    {
        string key = variant == null ? tag : variant + "/" + tag;
        if (Metrics.TryGetValue(key, out double v))
            return v;
        throw new KeyNotFoundException($"{Example} reported no metric '{key}'; it has {string.Join(", ", Metrics.Keys)}.");
    }

    /// <inheritdoc/>
    public override string ToString() =>
        $"{Example} ({Elapsed.TotalSeconds:F1} s, {RunDir}): " +
        string.Join(", ", Metrics.Select(kv => $"{kv.Key}={kv.Value.ToString("G5", CultureInfo.InvariantCulture)}"));
}
