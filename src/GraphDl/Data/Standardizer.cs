namespace GraphDl.Data;

/// <summary>
/// Per-column standardisation <c>z = (x - mean) / std</c> with the population standard deviation.
/// Fit it on the training rows only, then transform both training and test rows. A constant
/// column gets <c>std = 1</c>, so it becomes all zeros instead of dividing by zero.
/// </summary>
public sealed class Standardizer
{
    private double[] _mean = [];
    private double[] _std = [];

    /// <summary>Whether <see cref="Fit"/> has been called.</summary>
    public bool IsFitted { get; private set; }

    /// <summary>Number of columns it was fitted on.</summary>
    public int Columns => _mean.Length;

    /// <summary>Fitted column means.</summary>
    public IReadOnlyList<double> Mean => _mean;

    /// <summary>Fitted column standard deviations (population; 1 for a constant column).</summary>
    public IReadOnlyList<double> Std => _std;

    /// <summary>Creates and fits a standardizer in one call.</summary>
    public static Standardizer FitNew(float[] x, int rows, int cols)
    {
        var s = new Standardizer();
        s.Fit(x, rows, cols);
        return s;
    }

    /// <summary>Computes column means and standard deviations of a row-major <c>rows x cols</c> matrix (two passes, in double).</summary>
    public void Fit(float[] x, int rows, int cols)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (rows <= 0 || cols <= 0)
            throw new ArgumentException($"Standardizer.Fit needs at least one row and one column, got {rows} x {cols}.");
        if ((long)rows * cols != x.Length)
            throw new ArgumentException($"Standardizer.Fit: {rows} x {cols} = {(long)rows * cols} values expected, the array has {x.Length}.");

        var mean = new double[cols];
        var std = new double[cols];
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
                mean[c] += x[(long)r * cols + c];
        for (int c = 0; c < cols; c++)
        {
            mean[c] /= rows;
            if (!double.IsFinite(mean[c]))
                throw new ArgumentException($"Standardizer.Fit: column {c} contains NaN or infinite values; fill missing values first.");
        }
        for (int r = 0; r < rows; r++)
            for (int c = 0; c < cols; c++)
            {
                double d = x[(long)r * cols + c] - mean[c];
                std[c] += d * d;
            }
        for (int c = 0; c < cols; c++)
        {
            double s = Math.Sqrt(std[c] / rows);
            std[c] = s > 0 && double.IsFinite(s) ? s : 1.0;
        }
        _mean = mean;
        _std = std;
        IsFitted = true;
    }

    /// <summary>Returns a new standardised copy of a row-major matrix with <paramref name="cols"/> columns.</summary>
    public float[] Transform(float[] x, int cols)
    {
        ArgumentNullException.ThrowIfNull(x);
        var copy = (float[])x.Clone();
        TransformInPlace(copy, cols);
        return copy;
    }

    /// <summary>Standardises a row-major matrix with <paramref name="cols"/> columns in place.</summary>
    public void TransformInPlace(Span<float> x, int cols)
    {
        Check(x.Length, cols);
        for (int i = 0; i < x.Length; i++)
        {
            int c = i % cols;
            x[i] = (float)((x[i] - _mean[c]) / _std[c]);
        }
    }

    /// <summary>Maps standardised values back to the original scale, in place (<c>x = z * std + mean</c>).</summary>
    public void InverseTransformInPlace(Span<float> z, int cols)
    {
        Check(z.Length, cols);
        for (int i = 0; i < z.Length; i++)
        {
            int c = i % cols;
            z[i] = (float)(z[i] * _std[c] + _mean[c]);
        }
    }

    private void Check(int length, int cols)
    {
        if (!IsFitted)
            throw new InvalidOperationException("Standardizer: call Fit on the training rows before transforming.");
        if (cols != _mean.Length)
            throw new ArgumentException($"Standardizer was fitted on {_mean.Length} columns, not {cols}.", nameof(cols));
        if (length % cols != 0)
            throw new ArgumentException($"Standardizer: {length} values are not a whole number of rows of {cols} columns.");
    }
}
