using GraphDl.Ops;
using GraphDl.Runtime;
using static GraphDl.Ops.ArrayKernels;

namespace GraphDl.Ops
{
    /// <summary>Sequences: Range and ReverseSequence (SequenceMask is built from Range and Less).</summary>
    public static class SequenceOps
    {
        /// <summary><c>start, start + delta, ...</c> up to but excluding <c>limit</c> (TF's <c>tf.range</c>).</summary>
        public static readonly OpDef Range = new()
        {
            Name = "Range", Grad = null,
            Infer = c =>
            {
                var t = c.DType(0);
                if (c.DType(1) != t || c.DType(2) != t)
                    throw new ShapeError($"start, limit and delta must share a dtype, got {t.Name()}, {c.DType(1).Name()} and {c.DType(2).Name()}");
                if (t is not (DType.Float32 or DType.Float64 or DType.Int32 or DType.Int64)) throw new ShapeError($"needs float32, float64, int32 or int64, got {t.Name()}");
                for (int i = 0; i < 3; i++)
                    if (c.Shape(i).HasRank && c.Shape(i).Rank != 0) throw new ShapeError($"{(i == 0 ? "start" : i == 1 ? "limit" : "delta")} must be a scalar, got {c.Shape(i)}");
                var v = Enumerable.Range(0, 3).Select(c.Constant).ToArray();
                if (v.Any(a => a == null)) return InferContext.One(t, Shape.Of(-1));
                long n = t.IsFloating() ? Size(v[0]!.GetDouble(0), v[1]!.GetDouble(0), v[2]!.GetDouble(0), out var err)
                    : Size(LongAt(v[0]!), LongAt(v[1]!), LongAt(v[2]!), out err);
                if (err != null) throw new ShapeError(err);
                return InferContext.One(t, Shape.Of((int)n));
            },
            Cpu = c =>
            {
                var s = c.Input(0); var l = c.Input(1); var d = c.Input(2);
                string? err;
                if (s.DType.IsFloating())
                {
                    double start = s.GetDouble(0), delta = d.GetDouble(0);
                    long n = Size(start, l.GetDouble(0), delta, out err);
                    if (err != null) throw c.Error(err);
                    var y = c.Output(0, [(int)n]);
                    if (y.data is float[] f) for (int i = 0; i < n; i++) f[i] = (float)(start + i * delta);
                    else { var dd = (double[])y.data; for (int i = 0; i < n; i++) dd[i] = start + i * delta; }
                }
                else
                {
                    long start = LongAt(s), delta = LongAt(d);
                    long n = Size(start, LongAt(l), delta, out err);
                    if (err != null) throw c.Error(err);
                    var y = c.Output(0, [(int)n]);
                    if (y.data is int[] a) for (int i = 0; i < n; i++) a[i] = (int)(start + i * delta);
                    else { var b = (long[])y.data; for (int i = 0; i < n; i++) b[i] = start + i * delta; }
                }
            },
        };

        static long LongAt(NDArray a) => a.data is long[] l ? l[0] : IntAt(a, 0);

        static long Size(double start, double limit, double delta, out string? err)
        {
            err = Check(delta == 0, delta > 0 ? start > limit : start < limit, start, limit, delta);
            if (err != null) return 0;
            double n = Math.Ceiling(Math.Abs((limit - start) / delta));
            if (n > int.MaxValue) { err = $"range of {n} values is too large"; return 0; }
            return (long)n;
        }

        static long Size(long start, long limit, long delta, out string? err)
        {
            err = Check(delta == 0, delta > 0 ? start > limit : start < limit, start, limit, delta);
            if (err != null) return 0;
            long n = (Math.Abs(limit - start) + Math.Abs(delta) - 1) / Math.Abs(delta);
            if (n > int.MaxValue) { err = $"range of {n} values is too large"; return 0; }
            return n;
        }

        static string? Check(bool zero, bool wrongWay, object start, object limit, object delta) =>
            zero ? "delta must not be 0"
            : wrongWay ? $"start {start} must be {((double)Convert.ToDouble(delta) > 0 ? "<=" : ">=")} limit {limit} when delta is {delta}"
            : null;

        /// <summary>Reverses the first <c>seq_lengths[b]</c> entries along <c>seq_dim</c> of each batch entry b along
        /// <c>batch_dim</c>; the rest is copied as is.</summary>
        public static readonly OpDef ReverseSequence = new()
        {
            Name = "ReverseSequence",
            Grad = c => [c.G.ReverseSequence(c.Dy, c.X(1), c.Attrs.Int("seq_dim"), c.Attrs.Int("batch_dim")), null],
            Infer = c =>
            {
                RequireIndex(c, 1, "seq_lengths");
                var s = c.Shape(0); var ls = c.Shape(1);
                if (ls.HasRank && ls.Rank != 1) throw new ShapeError($"seq_lengths must be a vector, got {ls}");
                if (!s.HasRank) return InferContext.One(c.DType(0), s);
                int sd = NormAxis(c.Attrs.Int("seq_dim"), s), bd = NormAxis(c.Attrs.Int("batch_dim"), s);
                if (sd == bd) throw new ShapeError($"seq_dim and batch_dim must differ, both are {sd}");
                if (ls.HasRank && ls[0] >= 0 && s[bd] >= 0 && ls[0] != s[bd])
                    throw new ShapeError($"seq_lengths {ls} must have one entry per batch entry, dimension {bd} of {s}");
                return InferContext.One(c.DType(0), s);
            },
            Cpu = c =>
            {
                var x = c.Input(0); var lens = c.Input(1);
                int sd = NormAxis(c, c.Attrs.Int("seq_dim"), x.Dims), bd = NormAxis(c, c.Attrs.Int("batch_dim"), x.Dims);
                int nb = x.Dims[bd], len = x.Dims[sd];
                if (lens.Rank != 1 || lens.Size != nb) throw c.Error($"seq_lengths has shape {Shape.Format(lens.Dims)}, needs [{nb}] for input {Shape.Format(x.Dims)}");
                var y = c.Output(0, x.Dims);
                int r = x.Rank;
                Span<int> xs = stackalloc int[r];
                ContiguousStrides(x.Dims, xs);
                Span<int> sub = stackalloc int[r];
                x.Dims.CopyTo(sub);
                sub[sd] = 1; sub[bd] = 1;
                for (int b = 0; b < nb; b++)
                {
                    long l = lens.data is long[] la ? la[b] : IntAt(lens, b);
                    if (l < 0 || l > len) throw c.Error($"seq_lengths[{b}] = {l} is not in [0, {len}] (dimension {sd} of {Shape.Format(x.Dims)})");
                    for (int t = 0; t < len; t++)
                    {
                        int from = t < l ? (int)l - 1 - t : t;
                        StridedCopy(x, b * xs[bd] + from * xs[sd], xs, y, b * xs[bd] + t * xs[sd], xs, sub);
                    }
                }
            },
        };
    }
}

namespace GraphDl
{
    /// <summary>Builders for ranges, masks and sequence reversal.</summary>
    public static class SequenceBuilders
    {
        /// <summary><c>[start, limit)</c> in steps of <paramref name="delta"/>, as int32 (TF's <c>tf.range</c>).</summary>
        public static Tensor Range(this Graph g, int start, int limit, int delta = 1, string? name = null) =>
            g.Range(g.Scalar(start, DType.Int32, "start"), g.Scalar(limit, DType.Int32, "limit"), g.Scalar(delta, DType.Int32, "delta"), name);

        /// <summary>A range from scalar tensors of one dtype (float32, float64, int32, int64).</summary>
        public static Tensor Range(this Graph g, Tensor start, Tensor limit, Tensor delta, string? name = null) =>
            g.Add1(SequenceOps.Range, [start, limit, delta], new Attrs { ["Tidx"] = start.DType }, name ?? "range");

        /// <summary><c>mask[i, j] = j &lt; lengths[i]</c> for j in [0, maxlen) (TF's <c>tf.sequence_mask</c>); no
        /// <paramref name="maxlen"/> means the largest length.</summary>
        public static Tensor SequenceMask(this Graph g, Tensor lengths, Tensor? maxlen = null, DType dtype = DType.Bool, string? name = null)
        {
            using var _ = g.NameScope(name ?? "SequenceMask");
            if (!lengths.DType.IsInteger()) throw new GraphBuildException($"SequenceMask: lengths must be integers, got {lengths.DType.Name()}{CallSite.Describe()}");
            maxlen ??= g.ReduceMax(lengths);
            if (maxlen.DType != lengths.DType) maxlen = g.Cast(maxlen, lengths.DType);
            var row = g.Range(g.Scalar(0, lengths.DType), maxlen, g.Scalar(1, lengths.DType));
            var mask = g.Less(row, g.ExpandDims(lengths, -1));
            return dtype == DType.Bool ? mask : g.Cast(mask, dtype);
        }

        /// <summary>Sequence mask with a constant <paramref name="maxlen"/>.</summary>
        public static Tensor SequenceMask(this Graph g, Tensor lengths, int maxlen, DType dtype = DType.Bool, string? name = null) =>
            g.SequenceMask(lengths, g.Scalar(maxlen, lengths.DType, "maxlen"), dtype, name);

        /// <summary>Reverses the first <paramref name="seqLengths"/>[b] steps along <paramref name="seqAxis"/> for each b along
        /// <paramref name="batchAxis"/> (TF's <c>tf.reverse_sequence</c>).</summary>
        public static Tensor ReverseSequence(this Graph g, Tensor x, Tensor seqLengths, int seqAxis, int batchAxis = 0, string? name = null) =>
            g.Add1(SequenceOps.ReverseSequence, [x, seqLengths], new Attrs { ["seq_dim"] = seqAxis, ["batch_dim"] = batchAxis, ["T"] = x.DType, ["Tlen"] = seqLengths.DType }, name);
    }
}
