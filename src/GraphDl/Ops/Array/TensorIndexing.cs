using GraphDl.Ops;

namespace GraphDl
{
    /// <summary>One item of a tensor index <c>x[...]</c>: an int or <c>^k</c> (picks one entry and drops the dim), a range
    /// (<c>1..</c>, <c>..^1</c>, <c>..</c>), <see cref="NewAxis"/> or <see cref="Ellipsis"/>.</summary>
    public readonly struct SliceIndex
    {
        internal enum Kinds { Int, Range, NewAxis, Ellipsis }

        internal Kinds Kind { get; init; }
        internal int Begin { get; init; }
        internal int End { get; init; }
        internal bool EndMasked { get; init; }

        /// <summary>Inserts a dim of size 1 (numpy's <c>np.newaxis</c>).</summary>
        public static readonly SliceIndex NewAxis = new() { Kind = Kinds.NewAxis };

        /// <summary>Stands for as many full dims as needed (numpy's <c>...</c>).</summary>
        public static readonly SliceIndex Ellipsis = new() { Kind = Kinds.Ellipsis };

        /// <summary>A single entry (negative counts from the end); the dim is dropped.</summary>
        public static implicit operator SliceIndex(int i) => new() { Kind = Kinds.Int, Begin = i, End = i + 1 };

        /// <summary>A single entry counted from the start or (<c>^k</c>) from the end; the dim is dropped.</summary>
        public static implicit operator SliceIndex(Index i) =>
            !i.IsFromEnd ? i.Value : i.Value == 0 ? new SliceIndex { Kind = Kinds.Int, Begin = int.MaxValue, End = int.MaxValue } : -i.Value;

        /// <summary>A range of entries; <c>^k</c> counts from the end and an open end means "to the end".</summary>
        public static implicit operator SliceIndex(Range r) => new()
        {
            Kind = Kinds.Range,
            Begin = !r.Start.IsFromEnd ? r.Start.Value : r.Start.Value == 0 ? int.MaxValue : -r.Start.Value,
            End = r.End.IsFromEnd ? -r.End.Value : r.End.Value,
            EndMasked = r.End.IsFromEnd && r.End.Value == 0,
        };
    }

    public sealed partial class Tensor
    {
        /// <summary>Numpy-style basic indexing, e.g. <c>x[0]</c>, <c>x[.., 1..^1]</c>, <c>x[SliceIndex.Ellipsis, 0]</c>,
        /// <c>x[.., SliceIndex.NewAxis]</c>; builds a StridedSlice. A start of <c>^0</c> selects nothing.</summary>
        public Tensor this[params SliceIndex[] index]
        {
            get
            {
                int n = index.Length;
                var begin = new int[n]; var end = new int[n];
                int em = 0, ell = 0, na = 0, shrink = 0;
                for (int i = 0; i < n; i++)
                {
                    var it = index[i];
                    switch (it.Kind)
                    {
                        case SliceIndex.Kinds.Int:
                            begin[i] = it.Begin; end[i] = it.End; shrink |= 1 << i;
                            break;
                        case SliceIndex.Kinds.Range:
                            begin[i] = it.Begin; end[i] = it.End;
                            if (it.EndMasked) em |= 1 << i;
                            break;
                        case SliceIndex.Kinds.NewAxis: na |= 1 << i; break;
                        case SliceIndex.Kinds.Ellipsis: ell |= 1 << i; break;
                    }
                }
                return Graph.StridedSlice(this, begin, end, null, 0, em, ell, na, shrink, "strided_slice");
            }
        }
    }
}
