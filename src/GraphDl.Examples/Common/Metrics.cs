namespace GraphDl.Examples;

/// <summary>Evaluation metrics, computed in double on the host.</summary>
public static class Metrics
{
    /// <summary>Fraction of predictions equal to the labels.</summary>
    public static double Accuracy(ReadOnlySpan<int> predicted, ReadOnlySpan<int> labels)
    {
        if (predicted.Length != labels.Length)
            throw new ArgumentException($"{predicted.Length} predictions for {labels.Length} labels.");
        int hits = 0;
        for (int i = 0; i < labels.Length; i++)
            if (predicted[i] == labels[i])
                hits++;
        return labels.Length == 0 ? double.NaN : (double)hits / labels.Length;
    }

    /// <summary>Mean squared error.</summary>
    public static double Mse(ReadOnlySpan<float> predicted, ReadOnlySpan<float> target)
    {
        double sum = 0;
        for (int i = 0; i < target.Length; i++)
        {
            double d = (double)predicted[i] - target[i];
            sum += d * d;
        }
        return sum / target.Length;
    }

    /// <summary>Coefficient of determination, <c>1 - SS_res / SS_tot</c>, with the mean of <paramref name="target"/>.</summary>
    public static double R2(ReadOnlySpan<float> predicted, ReadOnlySpan<float> target)
    {
        double mean = 0;
        foreach (float t in target)
            mean += t;
        mean /= target.Length;
        double res = 0, tot = 0;
        for (int i = 0; i < target.Length; i++)
        {
            double d = (double)predicted[i] - target[i], m = target[i] - mean;
            res += d * d;
            tot += m * m;
        }
        return 1 - res / tot;
    }

    /// <summary>Class of each row: <c>logit &gt; 0</c> for one output column, the arg-max otherwise.</summary>
    public static int[] Classes(ReadOnlySpan<float> outputs, int columns)
    {
        int rows = outputs.Length / columns;
        var result = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            var row = outputs.Slice(r * columns, columns);
            if (columns == 1)
            {
                result[r] = row[0] > 0 ? 1 : 0;
                continue;
            }
            int best = 0;
            for (int c = 1; c < columns; c++)
                if (row[c] > row[best])
                    best = c;
            result[r] = best;
        }
        return result;
    }

    /// <summary>
    /// Ordinary least squares with an intercept, solved in double from the normal equations by Cholesky
    /// factorisation (with a tiny ridge only if the matrix is not positive definite). Returns (intercept, weights).
    /// </summary>
    public static (double Intercept, double[] Weights) LeastSquares(float[] x, int rows, int cols, float[] y)
    {
        int n = cols + 1; // column 0 is the intercept
        var a = new double[n, n];
        var b = new double[n];
        var row = new double[n];
        for (int r = 0; r < rows; r++)
        {
            row[0] = 1;
            for (int c = 0; c < cols; c++)
                row[c + 1] = x[r * cols + c];
            for (int i = 0; i < n; i++)
            {
                b[i] += row[i] * y[r];
                for (int j = 0; j <= i; j++)
                    a[i, j] += row[i] * row[j];
            }
        }
        for (int i = 0; i < n; i++)
            for (int j = i + 1; j < n; j++)
                a[i, j] = a[j, i];

        double[] w = Cholesky(a, b, n) ?? Cholesky(Ridge(a, n, 1e-10), b, n)
            ?? throw new InvalidOperationException("The normal equations are singular.");
        return (w[0], w[1..]);
    }

    static double[,] Ridge(double[,] a, int n, double eps)
    {
        var c = (double[,])a.Clone();
        for (int i = 0; i < n; i++)
            c[i, i] += eps * Math.Max(1, a[i, i]);
        return c;
    }

    static double[]? Cholesky(double[,] a, double[] b, int n)
    {
        var l = new double[n, n];
        for (int j = 0; j < n; j++)
        {
            double d = a[j, j];
            for (int k = 0; k < j; k++)
                d -= l[j, k] * l[j, k];
            if (!(d > 0))
                return null;
            l[j, j] = Math.Sqrt(d);
            for (int i = j + 1; i < n; i++)
            {
                double s = a[i, j];
                for (int k = 0; k < j; k++)
                    s -= l[i, k] * l[j, k];
                l[i, j] = s / l[j, j];
            }
        }
        var z = new double[n];
        for (int i = 0; i < n; i++)
        {
            double s = b[i];
            for (int k = 0; k < i; k++)
                s -= l[i, k] * z[k];
            z[i] = s / l[i, i];
        }
        var w = new double[n];
        for (int i = n - 1; i >= 0; i--)
        {
            double s = z[i];
            for (int k = i + 1; k < n; k++)
                s -= l[k, i] * w[k];
            w[i] = s / l[i, i];
        }
        return w;
    }
}
