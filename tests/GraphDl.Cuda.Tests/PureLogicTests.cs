using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Native;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

public class GemmMappingTests
{
    /// <summary>What cuBLAS computes: column-major C(m×n) = op(A)·op(B), with leading dimensions, read from flat buffers.</summary>
    static float[] ColumnMajorGemm(CublasGemm g, float[] a, float[] b)
    {
        var c = new float[Math.Max(g.M * g.N, g.N * g.Ldc)];
        for (int i = 0; i < g.M; i++)
            for (int j = 0; j < g.N; j++)
            {
                float s = 0;
                for (int p = 0; p < g.K; p++)
                {
                    float av = g.OpA == CublasOp.N ? a[i + p * g.Lda] : a[p + i * g.Lda];
                    float bv = g.OpB == CublasOp.N ? b[p + j * g.Ldb] : b[j + p * g.Ldb];
                    s += av * bv;
                }
                c[i + j * g.Ldc] = s;
            }
        return c;
    }

    [Test]
    public void RowMajorProduct_ThroughTheColumnMajorCall_MatchesTheDefinition(
        [Values(1, 3, 7)] int m, [Values(1, 5)] int n, [Values(1, 4, 9)] int k, [Values] bool ta, [Values] bool tb)
    {
        var r = new Random(m * 100 + n * 10 + k);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)r.Next(-4, 5)).ToArray();   // stored m×k, or k×m when ta
        var b = Enumerable.Range(0, k * n).Select(_ => (float)r.Next(-4, 5)).ToArray();   // stored k×n, or n×k when tb
        var g = GemmMapping.RowMajor(m, n, k, ta, tb);
        Assert.That(g.SwapOperands);
        // cuBLAS gets GraphDl's B in its A slot and GraphDl's A in its B slot; its column-major n×m C is row-major m×n.
        var c = ColumnMajorGemm(g, b, a);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += (ta ? a[p * m + i] : a[i * k + p]) * (tb ? b[j * k + p] : b[p * n + j]);
                Assert.That(c[i * n + j], Is.EqualTo(s), $"C[{i},{j}]");
            }
    }

    /// <summary>Matrices inside larger row-major arrays (the fused RNN's column blocks and time-step slices): stored row
    /// lengths lda, ldb, ldc larger than the matrices' own.</summary>
    [Test]
    public void StridedRowMajorProduct_ThroughTheColumnMajorCall_MatchesTheDefinition(
        [Values(1, 3)] int m, [Values(2, 5)] int n, [Values(1, 4)] int k, [Values] bool ta, [Values] bool tb)
    {
        var r = new Random(m * 100 + n * 10 + k);
        int lda = (ta ? m : k) + 3, ldb = (tb ? k : n) + 2, ldc = n + 4;
        var a = Enumerable.Range(0, (ta ? k : m) * lda).Select(_ => (float)r.Next(-4, 5)).ToArray();
        var b = Enumerable.Range(0, (tb ? n : k) * ldb).Select(_ => (float)r.Next(-4, 5)).ToArray();
        var g = GemmMapping.RowMajor(m, n, k, ta, tb, lda, ldb, ldc);
        // cuBLAS's column-major n×m C with leading dim ldc is the row-major m×n C with row length ldc.
        var full = ColumnMajorGemm(g, b, a);
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++) s += (ta ? a[p * lda + i] : a[i * lda + p]) * (tb ? b[j * ldb + p] : b[p * ldb + j]);
                Assert.That(full[i * ldc + j], Is.EqualTo(s), $"C[{i},{j}]");
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmMapping.RowMajor(m, n, k, ta, tb, (ta ? m : k) - 1, ldb, ldc));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmMapping.RowMajor(m, n, k, ta, tb, lda, ldb, n - 1));
    }

    /// <summary>BatchMatMulV2 through one strided-batched call: each output matrix i computed as cuBLAS would, from the
    /// operands at i·stride (swapped with the mapping), equals the product of the broadcast batch matrices; batches that
    /// need per-matrix offsets (partial broadcasting) get no strided form.</summary>
    [TestCase(new[] { 3 }, new[] { 3 }, new[] { 3 })]
    [TestCase(new[] { 2, 3 }, new[] { 2, 3 }, new[] { 2, 3 })]
    [TestCase(new[] { 2, 3 }, new int[0], new[] { 2, 3 })]
    [TestCase(new[] { 1, 1 }, new[] { 4 }, new[] { 1, 4 })]
    [TestCase(new[] { 4 }, new[] { 1, 4 }, new[] { 1, 4 })]
    public void StridedBatchedProduct_ThroughTheColumnMajorCall_MatchesTheBroadcastDefinition(int[] batchA, int[] batchB, int[] batch)
    {
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            const int m = 3, n = 2, k = 4;
            var sb = GemmMapping.StridedBatch(batchA, batchB, batch, m, n, k);
            Assert.That(sb, Is.Not.Null);
            var (strideA, strideB, strideC, count) = sb!.Value;
            int countA = batchA.Aggregate(1, (x, y) => x * y), countB = batchB.Aggregate(1, (x, y) => x * y);
            var r = new Random(countA * 10 + countB);
            var a = Enumerable.Range(0, countA * m * k).Select(_ => (float)r.Next(-4, 5)).ToArray();
            var b = Enumerable.Range(0, countB * k * n).Select(_ => (float)r.Next(-4, 5)).ToArray();
            Assert.That(count, Is.EqualTo(batch.Aggregate(1, (x, y) => x * y)));
            Assert.That(strideC, Is.EqualTo(m * n));
            var g = GemmMapping.RowMajor(m, n, k, ta, tb);
            for (int i = 0; i < count; i++)
            {
                // cuBLAS: its A slot gets GraphDl's B at i·strideB, its B slot GraphDl's A at i·strideA.
                var c = ColumnMajorGemm(g, b[(int)(i * strideB)..], a[(int)(i * strideA)..]);
                int ia = countA == 1 ? 0 : i, ib = countB == 1 ? 0 : i;   // the broadcast: a single matrix serves every i
                for (int row = 0; row < m; row++)
                    for (int col = 0; col < n; col++)
                    {
                        float s = 0;
                        for (int p = 0; p < k; p++)
                            s += (ta ? a[ia * m * k + p * m + row] : a[ia * m * k + row * k + p]) * (tb ? b[ib * k * n + col * k + p] : b[ib * k * n + p * n + col]);
                        Assert.That(c[row * n + col], Is.EqualTo(s), $"batch {i} C[{row},{col}] (ta {ta}, tb {tb})");
                    }
            }
        }
    }

    [Test]
    public void StridedBatch_IsNull_WhenAnOperandIsBatchedOverSomeDimsOnly()
    {
        Assert.That(GemmMapping.StridedBatch([2, 1], [1, 3], [2, 3], 2, 2, 2), Is.Null);
        Assert.That(GemmMapping.StridedBatch([2, 3], [3], [2, 3], 2, 2, 2), Is.Null, "B batched over the last dim only");
        Assert.That(GemmMapping.StridedBatch([2, 3], [1, 1, 1], [1, 2, 3], 2, 2, 2), Is.EqualTo(((long)4, 0L, 4L, 6)));
    }

    [Test]
    public void Mapping_SwapsDims_AndKeepsEachOperandsFlag()
    {
        var g = GemmMapping.RowMajor(m: 128, n: 64, k: 32, transposeA: true, transposeB: false);
        Assert.That((g.M, g.N, g.K), Is.EqualTo((64, 128, 32)));
        Assert.That((g.OpA, g.OpB), Is.EqualTo((CublasOp.N, CublasOp.T)));
        Assert.That((g.Lda, g.Ldb, g.Ldc), Is.EqualTo((64, 128, 64)));
        Assert.Throws<ArgumentOutOfRangeException>(() => GemmMapping.RowMajor(-1, 2, 3, false, false));
    }
}

public class BroadcastPlanTests
{
    static int[] Offsets(Broadcast6 s, int n, bool ofA)
    {
        var r = new int[n];
        for (int i = 0; i < n; i++) { s.Offsets(i, out int a, out int b); r[i] = ofA ? a : b; }
        return r;
    }

    [Test]
    public void Offsets_FollowNumpyBroadcasting()
    {
        // [3,1,5] with [4,1] -> [3,4,5]
        var s = Broadcast6.Make([3, 1, 5], [4, 1]);
        var a = Offsets(s, 60, true); var b = Offsets(s, 60, false);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                for (int k = 0; k < 5; k++)
                {
                    int o = (i * 4 + j) * 5 + k;
                    Assert.That(a[o], Is.EqualTo(i * 5 + k));
                    Assert.That(b[o], Is.EqualTo(j));
                }
    }

    [Test]
    public void NeighbouringDims_Merge_SoHighRanksFit()
    {
        // 8 dims, but a steps everywhere and b only in the last two: two merged blocks.
        var s = Broadcast6.Make([2, 2, 2, 2, 2, 2, 3, 4], [3, 4]);
        Assert.That((s.D4, s.D5), Is.EqualTo((64, 12)));
        Assert.That((s.A4, s.A5, s.B4, s.B5), Is.EqualTo((12, 1, 0, 1)));
        Assert.That((s.D0, s.D1, s.D2, s.D3), Is.EqualTo((1, 1, 1, 1)));
    }

    [Test]
    public void TooManyAlternatingDims_AndIncompatibleShapes_Throw()
    {
        Assert.Throws<ArgumentException>(() => Broadcast6.Make([2, 1, 2, 1, 2, 1, 2], [1, 2, 1, 2, 1, 2, 1]));
        Assert.Throws<ArgumentException>(() => Broadcast6.Make([3, 4], [5]));
    }
}

public class NativeLibraryTests
{
    [Test]
    public void Probes_TryExtraDirectoriesFirst_ThenTheLoaderSearch()
    {
        var p = NativeLibraries.Probes(["libcublas.so.13", "libcublas.so.12"], $"/opt/a{Path.PathSeparator}/opt/b").ToList();
        Assert.That(p, Is.EqualTo(new[]
        {
            Path.Combine("/opt/a", "libcublas.so.13"), Path.Combine("/opt/b", "libcublas.so.13"), "libcublas.so.13",
            Path.Combine("/opt/a", "libcublas.so.12"), Path.Combine("/opt/b", "libcublas.so.12"), "libcublas.so.12",
        }));
        Assert.That(NativeLibraries.Probes(["x"], null), Is.EqualTo(new[] { "x" }));
    }
}
