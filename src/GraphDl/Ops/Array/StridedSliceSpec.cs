using System.Numerics;

namespace GraphDl.Ops;

/// <summary>Turns a StridedSlice spec (begin/end/strides plus the five masks) into one start, step and size per input
/// dim and the output dims, following TensorFlow's rules (an implicit trailing ellipsis, clamping, negative indices).</summary>
internal static class StridedSliceSpec
{
    /// <summary>The five mask attrs.</summary>
    public readonly record struct Masks(int Begin, int End, int Ellipsis, int NewAxis, int Shrink)
    {
        /// <summary>Reads the masks from a node's attrs.</summary>
        public static Masks From(Attrs a) => new(a.Int("begin_mask"), a.Int("end_mask"), a.Int("ellipsis_mask"), a.Int("new_axis_mask"), a.Int("shrink_axis_mask"));

        /// <summary>The masks as attrs.</summary>
        public void To(Attrs a)
        {
            a["begin_mask"] = Begin; a["end_mask"] = End; a["ellipsis_mask"] = Ellipsis; a["new_axis_mask"] = NewAxis; a["shrink_axis_mask"] = Shrink;
        }
    }

    /// <summary>Resolves the spec against <paramref name="dims"/> (-1 = unknown at build time). <paramref name="begin"/> or
    /// <paramref name="end"/> may be unknown (then sizes they decide are -1). Fills <paramref name="start"/>,
    /// <paramref name="step"/>, <paramref name="size"/> (one per input dim) and <paramref name="finalDims"/> (room for
    /// rank + spec length); returns an error message or null.</summary>
    public static string? Resolve(ReadOnlySpan<int> dims, ReadOnlySpan<int> begin, bool beginKnown, ReadOnlySpan<int> end, bool endKnown,
        ReadOnlySpan<int> strides, Masks m, Span<int> start, Span<int> step, Span<int> size, Span<int> finalDims, out int finalRank)
    {
        finalRank = 0;
        int n = strides.Length, rank = dims.Length;
        if ((beginKnown && begin.Length != n) || (endKnown && end.Length != n))
            return $"begin, end and strides must have the same length, got {(beginKnown ? begin.Length : n)}, {(endKnown ? end.Length : n)} and {n}";
        if (n > 30) return $"a slice spec may have at most 30 entries, got {n}";
        int ell = m.Ellipsis & ((1 << n) - 1);
        if ((ell & (ell - 1)) != 0) return "a slice spec may hold only one ellipsis";
        int ellIndex = ell != 0 ? BitOperations.TrailingZeroCount(ell) : n;
        int sparseN = ell != 0 ? n : n + 1;
        int newAfter = 0;
        for (int i = ellIndex + 1; i < n; i++) if ((m.NewAxis & (1 << i)) != 0) newAfter++;
        int full = 0;
        for (int i = 0; i < sparseN; i++)
        {
            if (i == ellIndex)
            {
                int next = Math.Min(rank - (sparseN - i) + 1 + newAfter, rank);
                for (; full < next; full++)
                {
                    start[full] = 0; step[full] = 1; size[full] = dims[full];
                    finalDims[finalRank++] = dims[full];
                }
                continue;
            }
            int bit = 1 << i;
            if ((m.NewAxis & bit) != 0) { finalDims[finalRank++] = 1; continue; }
            if (full >= rank) return $"the slice spec indexes more dims than the input's rank {rank}";
            int s = strides[i];
            if (s == 0) return $"strides[{i}] must be non-zero";
            int dim = dims[full];
            if ((m.Shrink & bit) != 0)
            {
                start[full] = 0; step[full] = 1; size[full] = 1;
                if (beginKnown && dim >= 0)
                {
                    long fwd = begin[i] < 0 ? (long)begin[i] + dim : begin[i];
                    if (fwd < 0 || fwd >= dim) return $"index {begin[i]} is out of bounds for dimension {full} of size {dim}";
                    start[full] = (int)fwd;
                }
                full++;
                continue;
            }
            step[full] = s;
            bool bm = (m.Begin & bit) != 0, em = (m.End & bit) != 0;
            if (dim < 0 || (!bm && !beginKnown) || (!em && !endKnown)) { start[full] = 0; size[full] = -1; }
            else
            {
                bool fwd = s > 0;
                int lo = fwd ? 0 : -1, hi = fwd ? dim : dim - 1;
                int b = bm ? (fwd ? 0 : dim - 1) : Canonical(begin[i], dim, lo, hi);
                int e = em ? (fwd ? dim : -1) : Canonical(end[i], dim, lo, hi);
                long len = fwd ? (e > b ? ((long)e - b + s - 1) / s : 0) : (b > e ? ((long)b - e - s - 1) / -(long)s : 0);
                start[full] = b; size[full] = (int)len;
            }
            finalDims[finalRank++] = size[full];
            full++;
        }
        return null;
    }

    static int Canonical(int x, int dim, int lo, int hi)
    {
        long f = x < 0 ? (long)x + dim : x;
        return (int)Math.Clamp(f, lo, hi);
    }
}
