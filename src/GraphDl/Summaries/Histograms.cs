using GraphDl.Summaries.Proto;

namespace GraphDl.Summaries;

/// <summary>TensorFlow's default histogram (<c>histogram.cc</c>): bucket limits growing by 10% from 1e-12 to 1e20,
/// mirrored for negatives, a zero limit between them, <c>DBL_MAX</c> at both ends.</summary>
public static class Histograms
{
    static readonly double[] s_limits = BuildDefaultLimits();

    /// <summary>The default bucket limits, strictly increasing (<c>-DBL_MAX</c> ... <c>-1e-12</c>, 0, <c>1e-12</c> ... <c>DBL_MAX</c>).</summary>
    public static ReadOnlySpan<double> DefaultLimits => s_limits;

    static double[] BuildDefaultLimits()
    {
        var pos = new List<double>();
        double v = 1.0e-12;
        while (v < 1.0e20)
        {
            pos.Add(v);
            v *= 1.1;
        }
        pos.Add(double.MaxValue);
        var all = new double[2 * pos.Count + 1];
        for (int i = 0; i < pos.Count; i++)
        {
            all[pos.Count - 1 - i] = -pos[i];
            all[pos.Count + 1 + i] = pos[i];
        }
        all[pos.Count] = 0.0;
        return all;
    }

    /// <summary>The legacy <c>HistogramProto</c> of <paramref name="values"/> as TensorFlow's <c>HistogramSummary</c> encodes it:
    /// exact min/max/num/sum/sum_squares, and each run of empty buckets collapsed into one zero bucket ending at the run's
    /// last limit (at least one bucket is always written).</summary>
    public static HistogramProto Build(ReadOnlySpan<double> values)
    {
        var limits = s_limits;
        var counts = new double[limits.Length];
        double min = double.MaxValue, max = -double.MaxValue, sum = 0, sumSq = 0;
        foreach (double x in values)
        {
            // upper_bound: the first limit greater than x.
            int b = UpperBound(limits, x);
            if (b >= counts.Length) b = counts.Length - 1;
            counts[b] += 1;
            if (x < min) min = x;
            if (x > max) max = x;
            sum += x;
            sumSq += x * x;
        }
        var p = new HistogramProto { Min = min, Max = max, Num = values.Length, Sum = sum, SumSquares = sumSq };
        for (int i = 0; i < counts.Length;)
        {
            double end = limits[i], count = counts[i];
            i++;
            if (count <= 0)
            {
                while (i < counts.Length && counts[i] <= 0)
                {
                    end = limits[i];
                    count = counts[i];
                    i++;
                }
            }
            p.BucketLimit.Add(end);
            p.Bucket.Add(count);
        }
        if (p.Bucket.Count == 0)
        {
            p.BucketLimit.Add(double.MaxValue);
            p.Bucket.Add(0);
        }
        return p;
    }

    static int UpperBound(double[] a, double x)
    {
        int lo = 0, hi = a.Length;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (a[mid] <= x) lo = mid + 1;
            else hi = mid;
        }
        return lo;
    }
}
