using System.Globalization;

namespace GraphDl.Data;

/// <summary>How rows are assigned to the test set (the <c>--split</c> option).</summary>
public enum SplitKind
{
    /// <summary>Row i is a test row when <c>i % k == k - 1</c>, with <c>k = 1 / F</c> a whole number.</summary>
    Interleaved,

    /// <summary>The last <c>round(N * F)</c> rows are the test rows (time series always split this way).</summary>
    Tail,
}

/// <summary>Deterministic train/test splits of N rows; nothing is shuffled.</summary>
public static class Split
{
    /// <summary>Default test fraction (<c>--test-fraction</c>).</summary>
    public const double DefaultTestFraction = 0.2;

    /// <summary>Parses a <c>--split</c> value (<c>interleaved</c> or <c>tail</c>, case-insensitive).</summary>
    public static SplitKind ParseKind(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "interleaved" => SplitKind.Interleaved,
            "tail" => SplitKind.Tail,
            _ => throw new ArgumentException($"--split must be 'interleaved' or 'tail', not '{text}'.", nameof(text)),
        };
    }

    /// <summary>
    /// Sorted training and test row indices for <paramref name="n"/> rows.
    /// Interleaved: test rows are <c>i % k == k - 1</c> with <c>k = 1 / testFraction</c>, which must be a
    /// whole number (within 1e-9). Tail: the last <c>round(n * testFraction)</c> rows, midpoints rounded away from zero.
    /// Throws <see cref="ArgumentException"/> when the fraction is invalid or either set would be empty.
    /// </summary>
    public static (int[] train, int[] test) Indices(int n, double testFraction, SplitKind kind)
    {
        string f = testFraction.ToString("R", CultureInfo.InvariantCulture);
        if (n < 0)
            throw new ArgumentOutOfRangeException(nameof(n), n, "The row count must not be negative.");
        if (!(testFraction > 0 && testFraction < 1))
            throw new ArgumentException($"--test-fraction must be between 0 and 1 (exclusive), not {f}.", nameof(testFraction));

        var train = new List<int>(n);
        var test = new List<int>();
        switch (kind)
        {
            case SplitKind.Interleaved:
            {
                double k = 1.0 / testFraction;
                double kr = Math.Round(k);
                if (Math.Abs(k - kr) > 1e-9)
                    throw new ArgumentException(
                        $"--split interleaved needs 1 / --test-fraction to be a whole number, but 1 / {f} = " +
                        $"{k.ToString("G6", CultureInfo.InvariantCulture)}. Use a fraction such as 0.5, 0.25, 0.2 or 0.1, or --split tail.",
                        nameof(testFraction));
                long every = (long)kr;
                for (int i = 0; i < n; i++)
                    (i % every == every - 1 ? test : train).Add(i);
                break;
            }
            case SplitKind.Tail:
            {
                int testCount = (int)Math.Round(n * testFraction, MidpointRounding.AwayFromZero);
                for (int i = 0; i < n; i++)
                    (i >= n - testCount ? test : train).Add(i);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "Unknown split kind.");
        }

        if (train.Count == 0 || test.Count == 0)
            throw new ArgumentException(
                $"Splitting {n} rows with --split {kind.ToString().ToLowerInvariant()} --test-fraction {f} gives " +
                $"{train.Count} training and {test.Count} test rows; both sets need at least one row.", nameof(n));
        return (train.ToArray(), test.ToArray());
    }

    /// <summary>Copies the given rows of a row-major matrix with <paramref name="cols"/> columns into a new array.</summary>
    public static float[] Take(float[] src, int cols, ReadOnlySpan<int> rows)
    {
        var dst = new float[(long)rows.Length * cols];
        MiniBatchIterator.Gather(src, cols, rows, dst);
        return dst;
    }

    /// <summary>Copies the given elements of a label vector into a new array.</summary>
    public static int[] Take(int[] src, ReadOnlySpan<int> rows)
    {
        var dst = new int[rows.Length];
        MiniBatchIterator.Gather(src, rows, dst);
        return dst;
    }
}
