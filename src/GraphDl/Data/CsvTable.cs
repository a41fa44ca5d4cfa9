using System.Globalization;

namespace GraphDl.Data;

/// <summary>
/// A numeric CSV file held in memory: one header line of column names, then rows of numbers.
/// Comma-separated, no quoting, <c>.</c> as the decimal point (parsed with the invariant culture).
/// An empty cell is a missing value and reads as NaN. CRLF line endings and blank lines at the
/// end of the file are tolerated.
/// </summary>
public sealed class CsvTable
{
    private readonly string[] _columns;
    private readonly double[] _cells;      // row-major, RowCount x ColumnCount
    private readonly int[] _lineNumbers;   // 1-based file line of each data row

    private CsvTable(string path, string[] columns, double[] cells, int[] lineNumbers)
    {
        Path = path;
        _columns = columns;
        _cells = cells;
        _lineNumbers = lineNumbers;
    }

    /// <summary>Full path of the file this table was read from.</summary>
    public string Path { get; }

    /// <summary>Number of data rows (the header is not counted).</summary>
    public int RowCount => _lineNumbers.Length;

    /// <summary>Number of columns.</summary>
    public int ColumnCount => _columns.Length;

    /// <summary>Column names, in file order.</summary>
    public IReadOnlyList<string> Columns => _columns;

    /// <summary>Reads and parses a CSV file; throws <see cref="DataFormatException"/> naming the file on any problem.</summary>
    public static CsvTable Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        string full = System.IO.Path.GetFullPath(path);
        string[] lines;
        try
        {
            lines = File.ReadAllLines(full);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new DataFormatException($"CSV file not found: {full}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new DataFormatException($"CSV file {full} could not be read: {e.Message}", e);
        }

        int end = lines.Length;
        while (end > 0 && lines[end - 1].TrimEnd('\r').Trim().Length == 0)
            end--;
        if (end == 0)
            throw new DataFormatException($"CSV file {full} is empty: expected a header line of column names.");

        string[] columns = lines[0].TrimEnd('\r').Split(',');
        for (int c = 0; c < columns.Length; c++)
        {
            columns[c] = columns[c].Trim();
            if (columns[c].Length == 0)
                throw new DataFormatException($"CSV file {full}, line 1: header column {c + 1} has an empty name.");
        }
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string name in columns)
            if (!seen.Add(name))
                throw new DataFormatException($"CSV file {full}, line 1: column name '{name}' appears twice.");

        int rows = end - 1;
        if (rows == 0)
            throw new DataFormatException($"CSV file {full} has a header but no data rows.");

        int cols = columns.Length;
        var cells = new double[(long)rows * cols];
        var lineNumbers = new int[rows];
        for (int r = 0; r < rows; r++)
        {
            int lineNo = r + 2;
            lineNumbers[r] = lineNo;
            string line = lines[r + 1].TrimEnd('\r');
            string[] parts = line.Split(',');
            if (parts.Length != cols)
                throw new DataFormatException(
                    $"CSV file {full}, line {lineNo} (data row {r}): {parts.Length} cells, but the header has {cols} columns.");
            for (int c = 0; c < cols; c++)
            {
                string cell = parts[c].Trim();
                double v;
                if (cell.Length == 0)
                    v = double.NaN;
                else if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out v))
                    throw new DataFormatException(
                        $"CSV file {full}, line {lineNo} (data row {r}), column '{columns[c]}': '{cell}' is not a number.");
                cells[(long)r * cols + c] = v;
            }
        }
        return new CsvTable(full, columns, cells, lineNumbers);
    }

    /// <summary>0-based index of a column; an unknown name throws, listing the available columns.</summary>
    public int ColumnIndex(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        int i = Array.IndexOf(_columns, name);
        if (i < 0)
            throw new DataFormatException(
                $"CSV file {Path} has no column '{name}'. Available columns: {string.Join(", ", _columns)}.");
        return i;
    }

    /// <summary>Value of one cell (NaN where the cell was empty).</summary>
    public double this[int row, int column]
    {
        get
        {
            if ((uint)row >= (uint)RowCount) throw new ArgumentOutOfRangeException(nameof(row));
            if ((uint)column >= (uint)ColumnCount) throw new ArgumentOutOfRangeException(nameof(column));
            return _cells[(long)row * ColumnCount + column];
        }
    }

    /// <summary>1-based line of the file that holds data row <paramref name="row"/>.</summary>
    public int LineNumber(int row) => _lineNumbers[row];

    /// <summary>A copy of one column as doubles.</summary>
    public double[] Column(string name)
    {
        int c = ColumnIndex(name);
        var result = new double[RowCount];
        for (int r = 0; r < result.Length; r++)
            result[r] = _cells[(long)r * ColumnCount + c];
        return result;
    }

    /// <summary>All columns except <paramref name="exclude"/>, as a row-major float32 matrix, with its shape and column names.</summary>
    public (float[] X, int rows, int cols, string[] names) Features(params string[] exclude)
    {
        ArgumentNullException.ThrowIfNull(exclude);
        var skip = new bool[ColumnCount];
        foreach (string name in exclude)
            skip[ColumnIndex(name)] = true;
        int[] keep = Enumerable.Range(0, ColumnCount).Where(c => !skip[c]).ToArray();
        if (keep.Length == 0)
            throw new DataFormatException($"CSV file {Path}: excluding {string.Join(", ", exclude)} leaves no feature columns.");
        int rows = RowCount, cols = keep.Length;
        var x = new float[(long)rows * cols];
        for (int r = 0; r < rows; r++)
            for (int j = 0; j < cols; j++)
                x[(long)r * cols + j] = (float)_cells[(long)r * ColumnCount + keep[j]];
        return (x, rows, cols, keep.Select(c => _columns[c]).ToArray());
    }

    /// <summary>One column as float32, for a regression target.</summary>
    public float[] Target(string column)
    {
        int c = ColumnIndex(column);
        var y = new float[RowCount];
        for (int r = 0; r < y.Length; r++)
            y[r] = (float)_cells[(long)r * ColumnCount + c];
        return y;
    }

    /// <summary>One column as class labels; every value must be a whole non-negative number.</summary>
    public int[] Labels(string column)
    {
        int c = ColumnIndex(column);
        var y = new int[RowCount];
        for (int r = 0; r < y.Length; r++)
        {
            double v = _cells[(long)r * ColumnCount + c];
            if (!(v >= 0 && v <= int.MaxValue && Math.Floor(v) == v))
                throw new DataFormatException(
                    $"CSV file {Path}, line {_lineNumbers[r]} (data row {r}), column '{column}': " +
                    $"{(double.IsNaN(v) ? "missing value" : v.ToString(CultureInfo.InvariantCulture))} is not a class label (a whole number >= 0).");
            y[r] = (int)v;
        }
        return y;
    }
}
