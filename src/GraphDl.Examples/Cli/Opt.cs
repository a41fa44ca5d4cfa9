using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GraphDl.Examples;

/// <summary>Builders for command-line options that parse with the invariant culture and reject bad values with a clear message.</summary>
public static class Opt
{
    static string Raw(ArgumentResult r) => r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";

    /// <summary>A whole-number option with an inclusive range.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min = int.MinValue, int max = int.MaxValue)
    {
        var o = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "N" };
        o.CustomParser = r =>
        {
            string s = Raw(r);
            if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v))
            {
                r.AddError($"{name} expects a whole number, not '{s}'.");
                return default;
            }
            if (v < min || v > max)
            {
                r.AddError(max == int.MaxValue ? $"{name} must be at least {min}, not {v}." : $"{name} must be between {min} and {max}, not {v}.");
                return default;
            }
            return v;
        };
        return o;
    }

    /// <summary>A floating-point option; <paramref name="check"/> returns an error message for a bad value, or null.</summary>
    public static Option<double> Double(string name, string description, double defaultValue, Func<double, string?>? check = null)
    {
        var o = new Option<double>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "X" };
        o.CustomParser = r =>
        {
            string s = Raw(r);
            if (!double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out double v) || !double.IsFinite(v))
            {
                r.AddError($"{name} expects a number such as 0.01, not '{s}'.");
                return default;
            }
            if (check?.Invoke(v) is string error)
            {
                r.AddError($"{name} {error}, not {v.ToString("R", CultureInfo.InvariantCulture)}.");
                return default;
            }
            return v;
        };
        return o;
    }

    /// <summary>A positive floating-point option.</summary>
    public static Option<double> Positive(string name, string description, double defaultValue) =>
        Double(name, description, defaultValue, v => v > 0 ? null : "must be greater than 0");

    /// <summary>An option whose value is one of <paramref name="choices"/> (case-insensitive; returned in lower case).</summary>
    public static Option<string> Choice(string name, string description, string defaultValue, params string[] choices)
    {
        var o = new Option<string>(name)
        {
            Description = $"{description} ({string.Join(", ", choices)})",
            DefaultValueFactory = _ => defaultValue,
            HelpName = string.Join("|", choices),
        };
        o.CustomParser = r =>
        {
            string s = Raw(r).Trim().ToLowerInvariant();
            if (Array.IndexOf(choices, s) < 0)
            {
                r.AddError($"{name} must be one of {string.Join(", ", choices)}, not '{Raw(r)}'.");
                return defaultValue;
            }
            return s;
        };
        return o;
    }

    /// <summary>A TF1 device name: <c>/cpu:0</c> or <c>/gpu:N</c> (case-insensitive; returned in lower case). Anything
    /// else, <c>/cpu:1</c> and <c>/tpu:0</c> included, is a usage error naming the value.</summary>
    public static Option<string> Device(string name, string description, string defaultValue = "/cpu:0")
    {
        var o = new Option<string>(name) { Description = description, DefaultValueFactory = _ => defaultValue, HelpName = "/cpu:0|/gpu:N" };
        o.CustomParser = r =>
        {
            string s = Raw(r).Trim().ToLowerInvariant();
            if (s != "/cpu:0" && GpuOrdinal(s) == null)
            {
                r.AddError($"{name} must be a TF1 device name, /cpu:0 or /gpu:N (N = 0, 1, ...), not '{Raw(r)}'.");
                return defaultValue;
            }
            return s;
        };
        return o;
    }

    /// <summary>N of a device name <c>/gpu:N</c> (lower case, N a whole number without sign), or null for any other name.</summary>
    public static int? GpuOrdinal(string device)
    {
        const string prefix = "/gpu:";
        if (!device.StartsWith(prefix, StringComparison.Ordinal))
            return null;
        string n = device[prefix.Length..];
        return n.Length > 0 && n.All(char.IsAsciiDigit) && int.TryParse(n, NumberStyles.None, CultureInfo.InvariantCulture, out int v)
            ? v : null;
    }

    /// <summary>A comma-separated subset of <paramref name="choices"/>; "all" (the default) means every choice.</summary>
    public static Option<Names> Subset(string name, string description, IReadOnlyList<string> choices)
    {
        var o = new Option<Names>(name)
        {
            Description = $"{description}: a comma-separated list of {string.Join(", ", choices)}, or all",
            DefaultValueFactory = _ => new Names(choices.ToArray(), "all"),
            HelpName = "LIST",
        };
        o.CustomParser = r =>
        {
            string s = Raw(r).Trim().ToLowerInvariant();
            if (s == "all")
                return new Names(choices.ToArray(), "all");
            var picked = new List<string>();
            foreach (string part in s.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (!choices.Contains(part))
                {
                    r.AddError($"{name}: unknown value '{part}'; choose from {string.Join(", ", choices)} (or all).");
                    return new Names([]);
                }
                if (!picked.Contains(part))
                    picked.Add(part);
            }
            if (picked.Count == 0)
                r.AddError($"{name} needs at least one of {string.Join(", ", choices)}.");
            // Keep the catalogue's order so logs and tables read the same way every time.
            return new Names(choices.Where(picked.Contains).ToArray());
        };
        return o;
    }

    /// <summary>Hidden-layer widths such as <c>64,32</c>; <c>none</c> gives no hidden layer (an empty array).</summary>
    public static Option<Widths> Layers(string name, string description, int[] defaultValue)
    {
        var o = new Option<Widths>(name)
        {
            Description = description,
            DefaultValueFactory = _ => new Widths(defaultValue),
            HelpName = "W1,W2,...|none",
        };
        o.CustomParser = r =>
        {
            string s = Raw(r).Trim();
            if (s.Equals("none", StringComparison.OrdinalIgnoreCase) || s == "0")
                return new Widths([]);
            var widths = new List<int>();
            foreach (string part in s.Split(',', StringSplitOptions.TrimEntries))
            {
                if (!int.TryParse(part, NumberStyles.Integer, CultureInfo.InvariantCulture, out int w) || w < 1)
                {
                    r.AddError($"{name} expects layer widths such as 64,32 (each at least 1) or none, not '{s}'.");
                    return new Widths([]);
                }
                widths.Add(w);
            }
            return new Widths(widths.ToArray());
        };
        return o;
    }

    /// <summary>A free-text option (null when not given and no default).</summary>
    public static Option<string?> Text(string name, string description, string helpName, string? defaultValue = null)
    {
        var o = new Option<string?>(name) { Description = description, HelpName = helpName };
        if (defaultValue != null)
            o.DefaultValueFactory = _ => defaultValue;
        return o;
    }

    /// <summary>A switch that is on when present.</summary>
    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    /// <summary>Formats an option value for the hparams summary.</summary>
    public static string Format(object? value) => value switch
    {
        null => "(none)",
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        int[] a => a.Length == 0 ? "none" : string.Join(",", a),
        string[] a => string.Join(",", a),
        Widths w => w.ToString(),
        Names n => string.Join(",", n.Items),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? "",
    };
}

/// <summary>Layer widths from the command line (<c>64,32</c>; empty for <c>none</c>).</summary>
public sealed class Widths(int[] values)
{
    /// <summary>The widths, first hidden layer first.</summary>
    public int[] Values { get; } = values;

    /// <inheritdoc/>
    public override string ToString() => Values.Length == 0 ? "none" : string.Join(",", Values);
}

/// <summary>A chosen list of names (e.g. variants), printed as given ("all" for the default).</summary>
public sealed class Names(string[] items, string? label = null)
{
    /// <summary>The names, in catalogue order.</summary>
    public string[] Items { get; } = items;

    /// <inheritdoc/>
    public override string ToString() => label ?? string.Join(",", Items);
}
