using GraphDl.Devices.Cpu;
using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Matrix products: <c>C = op(A)·op(B)</c>, and the batched form over leading dims.</summary>
    public static class MatMulOps
    {
        /// <summary>2-D matrix product with transpose flags.</summary>
        public static readonly OpDef MatMul = new()
        {
            Name = "MatMul",
            Grad = Grad,
            Infer = c =>
            {
                Families.SameDType(c);
                Families.RequireFloat(c, 0);
                var (a, b) = (c.Shape(0), c.Shape(1));
                if ((a.HasRank && a.Rank != 2) || (b.HasRank && b.Rank != 2))
                    throw new ShapeError($"needs rank-2 inputs, got {a} x {b}");
                bool ta = c.Attrs.Bool("transpose_a"), tb = c.Attrs.Bool("transpose_b");
                int m = a[ta ? 1 : 0], k = a[ta ? 0 : 1], k2 = b[tb ? 1 : 0], n = b[tb ? 0 : 1];
                if (k >= 0 && k2 >= 0 && k != k2) throw new ShapeError($"inner dimensions differ, {a} x {b}{Flags(ta, tb)}");
                return InferContext.One(c.DType(0), Shape.Of(m, n));
            },
            Cpu = c => Run(c, batched: false),
        };

        /// <summary>Batched matrix product over leading dims (broadcast), TF's <c>BatchMatMulV2</c>.</summary>
        public static readonly OpDef BatchMatMul = new()
        {
            Name = "BatchMatMulV2",
            Grad = Grad,
            Infer = c =>
            {
                Families.SameDType(c);
                Families.RequireFloat(c, 0);
                var (a, b) = (c.Shape(0), c.Shape(1));
                if (!a.HasRank || !b.HasRank) return InferContext.One(c.DType(0), Shape.Unknown);
                if (a.Rank < 2 || b.Rank < 2) throw new ShapeError($"needs rank >= 2, got {a} x {b}");
                bool ta = c.Attrs.Bool("adj_x"), tb = c.Attrs.Bool("adj_y");
                int m = a[ta ? -1 : -2], k = a[ta ? -2 : -1], k2 = b[tb ? -1 : -2], n = b[tb ? -2 : -1];
                if (k >= 0 && k2 >= 0 && k != k2) throw new ShapeError($"inner dimensions differ, {a} x {b}{Flags(ta, tb)}");
                var batch = Broadcast.Shapes(new Shape(a.Dims[..^2]), new Shape(b.Dims[..^2]));
                return InferContext.One(c.DType(0), new Shape([.. batch.Dims, m, n]));
            },
            Cpu = c => Run(c, batched: true),
        };

        static string Flags(bool ta, bool tb) => ta || tb ? $" (transpose_a={ta.ToString().ToLowerInvariant()}, transpose_b={tb.ToString().ToLowerInvariant()})" : "";

        static Tensor?[] Grad(GradContext c)
        {
            var g = c.G;
            bool batched = c.Op.Def == BatchMatMul;
            bool ta = c.Attrs.Bool(batched ? "adj_x" : "transpose_a"), tb = c.Attrs.Bool(batched ? "adj_y" : "transpose_b");
            var (a, b, dy) = (c.X(0), c.X(1), c.Dy);
            Tensor M(Tensor x, Tensor y, bool tx, bool ty) => batched ? g.BatchMatMul(x, y, tx, ty) : g.MatMul(x, y, tx, ty);
            Tensor da, db;
            // TF's _MatMulGrad, one case per transpose combination.
            if (!ta && !tb) { da = M(dy, b, false, true); db = M(a, dy, true, false); }
            else if (!ta && tb) { da = M(dy, b, false, false); db = M(dy, a, true, false); }
            else if (ta && !tb) { da = M(b, dy, false, true); db = M(a, dy, false, false); }
            else { da = M(b, dy, true, true); db = M(dy, a, true, true); }
            if (batched) { da = Families.ReduceTo(da, a); db = Families.ReduceTo(db, b); }
            return [da, db];
        }

        static unsafe void Run(KernelContext c, bool batched)
        {
            var a = c.Input(0); var b = c.Input(1);
            // The transpose flags, parsed from the attrs on the node's first run (no dictionary lookups per step).
            var node = c.Node;
            int flags = node.kernelFlags;
            if (flags < 0)
                node.kernelFlags = flags = (c.Attrs.Bool(batched ? "adj_x" : "transpose_a") ? 1 : 0) | (c.Attrs.Bool(batched ? "adj_y" : "transpose_b") ? 2 : 0);
            bool ta = (flags & 1) != 0, tb = (flags & 2) != 0;
            if (a.Rank < 2 || b.Rank < 2) throw c.Error($"needs rank >= 2, got {Shape.Format(a.Dims)} x {Shape.Format(b.Dims)}");
            var ad = a.Dims; var bd = b.Dims;
            int m = ad[ta ? ^1 : ^2], k = ad[ta ? ^2 : ^1], k2 = bd[tb ? ^1 : ^2], n = bd[tb ? ^2 : ^1];
            if (k != k2) throw c.Error($"inner dimensions differ, {Shape.Format(ad)} x {Shape.Format(bd)}");
            int br = Math.Max(a.Rank, b.Rank) - 2;
            Span<int> batch = stackalloc int[br];
            if (!Broadcast.Dims(ad[..^2], bd[..^2], batch))
                throw c.Error($"batch dims do not broadcast, {Shape.Format(ad)} x {Shape.Format(bd)}");
            Span<int> dims = stackalloc int[br + 2];
            batch.CopyTo(dims);
            dims[br] = m; dims[br + 1] = n;
            var y = c.Output(0, dims);
            int count = 1;
            foreach (var d in batch) count *= d;
            int sa = m * k, sb = k * n, sc = m * n;
            int lda = ta ? m : k, ldb = tb ? k : n;
            bool sameA = a.Size == sa * count, sameB = b.Size == sb * count;
            if (a.DType == DType.Float32)
            {
                fixed (float* pa = a.Raw<float>(), pb = b.Raw<float>(), py = y.Raw<float>())
                    for (int i = 0; i < count; i++)
                        Gemm.Sgemm(ta, tb, m, n, k, 1f, pa + BatchOffset(i, batch, ad, sameA, sa), lda, pb + BatchOffset(i, batch, bd, sameB, sb), ldb, 0f, py + (long)i * sc, n, c.Pool);
            }
            else
            {
                fixed (double* pa = a.Raw<double>(), pb = b.Raw<double>(), py = y.Raw<double>())
                    for (int i = 0; i < count; i++)
                        Gemm.Dgemm(ta, tb, m, n, k, 1.0, pa + BatchOffset(i, batch, ad, sameA, sa), lda, pb + BatchOffset(i, batch, bd, sameB, sb), ldb, 0.0, py + (long)i * sc, n, c.Pool);
            }
        }

        /// <summary>Element offset of matrix <paramref name="i"/> of the broadcast batch within an operand.</summary>
        static long BatchOffset(int i, ReadOnlySpan<int> batch, ReadOnlySpan<int> dims, bool full, int stride)
        {
            if (full) return (long)i * stride;
            var own = dims[..^2];
            long off = 0;
            int rem = i, shift = batch.Length - own.Length;
            Span<int> idx = stackalloc int[batch.Length];
            for (int d = batch.Length - 1; d >= 0; d--) { idx[d] = rem % batch[d]; rem /= batch[d]; }
            for (int d = 0; d < own.Length; d++) off = off * own[d] + (own[d] == 1 ? 0 : idx[d + shift]);
            return off * stride;
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for matrix products.</summary>
    public static class MatMulBuilders
    {
        /// <summary><c>op(a)·op(b)</c> for rank-2 inputs.</summary>
        public static Tensor MatMul(this Graph g, Tensor a, Tensor b, bool transposeA = false, bool transposeB = false, string? name = null) =>
            g.Add1(MatMulOps.MatMul, [a, b], new Attrs { ["transpose_a"] = transposeA, ["transpose_b"] = transposeB, ["T"] = a.DType }, name);

        /// <summary>Batched product over leading (broadcast) dims.</summary>
        public static Tensor BatchMatMul(this Graph g, Tensor a, Tensor b, bool adjX = false, bool adjY = false, string? name = null) =>
            g.Add1(MatMulOps.BatchMatMul, [a, b], new Attrs { ["adj_x"] = adjX, ["adj_y"] = adjY, ["T"] = a.DType }, name);
    }
}
