namespace GraphDl.Data;

/// <summary>
/// Splits N rows into mini-batches, epoch by epoch. With shuffling on, each epoch visits the rows in a
/// fresh permutation: a Fisher-Yates shuffle driven by <see cref="SplitMix64"/> seeded with
/// <c>Mix(seed ^ Mix(epoch + 1))</c>, so a (seed, epoch) pair gives the same order everywhere and
/// epochs can be replayed independently. The last partial batch is included unless <c>dropLast</c> is set.
/// </summary>
public sealed class MiniBatchIterator
{
    /// <summary>Creates an iterator over <paramref name="rows"/> rows.</summary>
    public MiniBatchIterator(int rows, int batchSize, ulong seed, bool shuffle = true, bool dropLast = false)
    {
        if (rows < 0)
            throw new ArgumentOutOfRangeException(nameof(rows), rows, "The row count must not be negative.");
        if (batchSize <= 0)
            throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "--batch-size must be at least 1.");
        Rows = rows;
        BatchSize = batchSize;
        Seed = seed;
        Shuffle = shuffle;
        DropLast = dropLast;
    }

    /// <summary>Number of rows iterated over.</summary>
    public int Rows { get; }

    /// <summary>Rows per full batch.</summary>
    public int BatchSize { get; }

    /// <summary>Seed the per-epoch permutations derive from.</summary>
    public ulong Seed { get; }

    /// <summary>Whether rows are permuted each epoch (off: rows in order 0..N-1).</summary>
    public bool Shuffle { get; }

    /// <summary>Whether a last batch smaller than <see cref="BatchSize"/> is skipped.</summary>
    public bool DropLast { get; }

    /// <summary>Number of batches each epoch yields.</summary>
    public int BatchesPerEpoch => DropLast ? Rows / BatchSize : (Rows + BatchSize - 1) / BatchSize;

    /// <summary>The row order for an epoch (0-based epoch number); identical for identical (seed, epoch).</summary>
    public int[] Permutation(int epoch)
    {
        var order = new int[Rows];
        for (int i = 0; i < order.Length; i++)
            order[i] = i;
        if (!Shuffle)
            return order;
        var rng = new SplitMix64(SplitMix64.Mix(Seed ^ SplitMix64.Mix((ulong)(uint)epoch + 1)));
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = rng.NextInt(i + 1);
            (order[i], order[j]) = (order[j], order[i]);
        }
        return order;
    }

    /// <summary>The batches of an epoch, each a slice of that epoch's permutation holding row indices.</summary>
    public IEnumerable<ReadOnlyMemory<int>> Batches(int epoch)
    {
        int[] order = Permutation(epoch);
        int count = BatchesPerEpoch;
        for (int b = 0; b < count; b++)
        {
            int start = b * BatchSize;
            yield return new ReadOnlyMemory<int>(order, start, Math.Min(BatchSize, order.Length - start));
        }
    }

    /// <summary>Copies rows <paramref name="rows"/> of a row-major matrix with <paramref name="cols"/> columns into <paramref name="dst"/>, one after another.</summary>
    public static void Gather(float[] src, int cols, ReadOnlySpan<int> rows, Span<float> dst)
    {
        ArgumentNullException.ThrowIfNull(src);
        if (cols <= 0)
            throw new ArgumentOutOfRangeException(nameof(cols), cols, "Must be positive.");
        if (src.Length % cols != 0)
            throw new ArgumentException($"Gather: {src.Length} values are not a whole number of rows of {cols} columns.", nameof(src));
        if (dst.Length < (long)rows.Length * cols)
            throw new ArgumentException($"Gather: destination holds {dst.Length} values, {(long)rows.Length * cols} needed.", nameof(dst));
        int n = src.Length / cols;
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)n)
                throw new ArgumentOutOfRangeException(nameof(rows), r, $"Row index out of range 0..{n - 1}.");
            src.AsSpan(r * cols, cols).CopyTo(dst.Slice(i * cols, cols));
        }
    }

    /// <summary>Copies the labels of rows <paramref name="rows"/> into <paramref name="dst"/>.</summary>
    public static void Gather(int[] src, ReadOnlySpan<int> rows, Span<int> dst)
    {
        ArgumentNullException.ThrowIfNull(src);
        if (dst.Length < rows.Length)
            throw new ArgumentException($"Gather: destination holds {dst.Length} values, {rows.Length} needed.", nameof(dst));
        for (int i = 0; i < rows.Length; i++)
        {
            int r = rows[i];
            if ((uint)r >= (uint)src.Length)
                throw new ArgumentOutOfRangeException(nameof(rows), r, $"Row index out of range 0..{src.Length - 1}.");
            dst[i] = src[r];
        }
    }
}
