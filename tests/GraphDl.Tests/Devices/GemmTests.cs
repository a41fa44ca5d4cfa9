using System.Diagnostics;
using GraphDl.Devices.Cpu;
using NUnit.Framework;

namespace GraphDl.Tests.Devices;

public unsafe class GemmTests
{
    static readonly int[][] Shapes =
    {
        new[] { 1, 1, 1 }, new[] { 7, 13, 5 }, new[] { 33, 65, 17 }, new[] { 1, 1000, 1 },
        new[] { 1000, 1, 3 }, new[] { 257, 129, 300 }, new[] { 6, 16, 256 }, new[] { 12, 32, 513 },
        new[] { 5, 3, 1 }, new[] { 97, 31, 260 }, new[] { 2, 70, 9 },
        new[] { 32, 1, 64 }, new[] { 64, 1, 32 }, new[] { 37, 1, 50 }, new[] { 3, 1, 16 },
    };

    static IEnumerable<TestCaseData> Cases()
    {
        foreach (var s in Shapes)
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(ta, tb, s[0], s[1], s[2]);
    }

    /// <summary>Builds inputs with padded leading dimensions; returns lda/ldb/ldc.</summary>
    static (double[] a, int lda, double[] b, int ldb, double[] c, int ldc) MakeInputs(bool ta, bool tb, int m, int n, int k, int seed)
    {
        var rng = new Random(seed);
        int aRows = ta ? k : m, aCols = ta ? m : k;
        int bRows = tb ? n : k, bCols = tb ? k : n;
        int lda = aCols + 3, ldb = bCols + 5, ldc = n + 2;
        var a = new double[Math.Max(1, aRows * lda)];
        var b = new double[Math.Max(1, bRows * ldb)];
        var c = new double[Math.Max(1, m * ldc)];
        for (int i = 0; i < a.Length; i++) a[i] = rng.NextDouble() * 2 - 1;
        for (int i = 0; i < b.Length; i++) b[i] = rng.NextDouble() * 2 - 1;
        for (int i = 0; i < c.Length; i++) c[i] = rng.NextDouble() * 2 - 1;
        return (a, lda, b, ldb, c, ldc);
    }

    /// <summary>Naive reference; returns result and a per-element error scale sum(|alpha a b|) + |beta c|.</summary>
    static (double[] r, double[] scale) Reference(bool ta, bool tb, int m, int n, int k, double alpha, double[] a, int lda,
        double[] b, int ldb, double beta, double[] c, int ldc)
    {
        var r = (double[])c.Clone();
        var scale = new double[c.Length];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                double s = 0, sa = 0;
                for (int p = 0; p < k; p++)
                {
                    double av = ta ? a[p * lda + i] : a[i * lda + p];
                    double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
                    s += av * bv;
                    sa += Math.Abs(av * bv);
                }
                double old = beta == 0 ? 0 : beta * c[i * ldc + j];
                r[i * ldc + j] = alpha * s + old;
                scale[i * ldc + j] = Math.Abs(alpha) * sa + Math.Abs(old) + 1e-30;
            }
        return (r, scale);
    }

    static void RunSgemm(bool ta, bool tb, int m, int n, int k, float alpha, float[] a, int lda, float[] b, int ldb,
        float beta, float[] c, int ldc, WorkerPool? pool)
    {
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.Sgemm(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, pool);
    }

    static void RunDgemm(bool ta, bool tb, int m, int n, int k, double alpha, double[] a, int lda, double[] b, int ldb,
        double beta, double[] c, int ldc, WorkerPool? pool)
    {
        fixed (double* pa = a, pb = b, pc = c)
            Gemm.Dgemm(ta, tb, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc, pool);
    }

    static void CheckAgainstReference(bool ta, bool tb, int m, int n, int k, double alpha, double beta, WorkerPool? pool, bool scalar = false)
    {
        var (a, lda, b, ldb, c, ldc) = MakeInputs(ta, tb, m, n, k, m * 131 + n * 17 + k);
        var (r, scale) = Reference(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);

        var cd = (double[])c.Clone();
        var cf = Array.ConvertAll(c, v => (float)v);
        if (beta == 0)
        {
            // Old C must be ignored entirely when beta == 0, NaN included.
            for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) { cd[i * ldc + j] = double.NaN; cf[i * ldc + j] = float.NaN; }
        }
        GemmCore<float>.ForceScalar = scalar;
        GemmCore<double>.ForceScalar = scalar;
        try
        {
            RunDgemm(ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, cd, ldc, pool);
            RunSgemm(ta, tb, m, n, k, (float)alpha, Array.ConvertAll(a, v => (float)v), lda,
                Array.ConvertAll(b, v => (float)v), ldb, (float)beta, cf, ldc, pool);
        }
        finally
        {
            GemmCore<float>.ForceScalar = false;
            GemmCore<double>.ForceScalar = false;
        }
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++)
            {
                int idx = i * ldc + j;
                Assert.That(cd[idx], Is.EqualTo(r[idx]).Within(1e-13 * scale[idx] * (k + 2)), $"double [{i},{j}]");
                Assert.That(cf[idx], Is.EqualTo(r[idx]).Within(2e-7 * scale[idx] * (k + 2) + 1e-6 * scale[idx]), $"float [{i},{j}]");
            }
        // Padding columns (beyond n) of C must be untouched.
        for (int i = 0; i < m; i++)
            for (int j = n; j < ldc; j++)
                Assert.That(cd[i * ldc + j], Is.EqualTo(c[i * ldc + j]), "padding written");
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReference(bool ta, bool tb, int m, int n, int k)
    {
        CheckAgainstReference(ta, tb, m, n, k, 1.0, 0.0, null);
        CheckAgainstReference(ta, tb, m, n, k, -0.75, 0.5, null);
        CheckAgainstReference(ta, tb, m, n, k, 2.0, 1.0, null);
    }

    [TestCaseSource(nameof(Cases))]
    public void MatchesReferenceMultithreaded(bool ta, bool tb, int m, int n, int k)
    {
        using var pool = new WorkerPool(3);
        CheckAgainstReference(ta, tb, m, n, k, 1.5, -0.25, pool);
        CheckAgainstReference(ta, tb, m, n, k, 1.0, 0.0, pool);
    }

    [TestCase(false, false)]
    [TestCase(true, true)]
    [TestCase(true, false)]
    public void ScalarFallbackMatchesReference(bool ta, bool tb)
    {
        using var pool = new WorkerPool(2);
        CheckAgainstReference(ta, tb, 33, 65, 17, 1.0, 0.5, null, scalar: true);
        CheckAgainstReference(ta, tb, 130, 70, 300, -1.0, 0.0, pool, scalar: true);
    }

    [TestCase(0, 5, 7)]
    [TestCase(5, 0, 7)]
    [TestCase(5, 7, 0)]
    public void EmptyDimensions(int m, int n, int k)
    {
        // k == 0: C = beta*C; m or n == 0: nothing to do.
        CheckAgainstReference(false, false, m, n, k, 1.0, 0.5, null);
        CheckAgainstReference(true, true, m, n, k, 1.0, 0.0, null);
    }

    [Test]
    public void AlphaZeroScalesCOnly()
    {
        var a = new float[] { float.NaN, 1, 2, 3 };
        var b = new float[] { 1, 2, 3, float.PositiveInfinity };
        var c = new float[] { 1, 2, 3, 4 };
        RunSgemm(false, false, 2, 2, 2, 0f, a, 2, b, 2, 2f, c, 2, null);
        Assert.That(c, Is.EqualTo(new float[] { 2, 4, 6, 8 }));
    }

    static IEnumerable<TestCaseData> DeterminismCases()
    {
        foreach (var s in new[] { new[] { 200, 300, 270 }, new[] { 513, 97, 600 }, new[] { 3, 2000, 700 }, new[] { 1000, 40, 130 }, new[] { 128, 128, 128 } })
            foreach (bool ta in new[] { false, true })
                foreach (bool tb in new[] { false, true })
                    yield return new TestCaseData(ta, tb, s[0], s[1], s[2]);
    }

    /// <summary>A B packed once (<c>PackB</c>) and multiplied by column ranges (<c>RunPackedB</c>), as the fused LSTM does at
    /// every time step, gives bit for bit what the plain product gives on the same columns: same panels, same FMA order
    /// (shapes above the direct small-product path, which the plain product would take instead).</summary>
    [TestCase(false, false, 32, 128, 128, 0)]
    [TestCase(false, false, 32, 512, 128, 1)]
    [TestCase(false, true, 32, 45, 512, 1)]
    [TestCase(true, true, 33, 70, 300, 2)]
    [TestCase(true, false, 7, 40, 200, 3)]
    public void PackedB_MatchesPlainProduct(bool ta, bool tb, int m, int n, int k, int panelsBefore)
    {
        int nr = GemmCore<float>.NR, col0 = panelsBefore * nr, wide = col0 + n + 5;
        var (a, lda, bw, ldb, c, ldc) = MakeInputs(ta, tb, m, wide, k, 11);
        var af = Array.ConvertAll(a, v => (float)v);
        var bf = Array.ConvertAll(bw, v => (float)v);
        var cf = Array.ConvertAll(c, v => (float)v);
        var packed = new float[GemmCore<float>.PackedBSize(k, wide) + 64];
        var plain = (float[])cf.Clone();
        var viaPacked = (float[])cf.Clone();
        fixed (float* pa = af, pb = bf, pp = packed, pc1 = plain, pc2 = viaPacked)
        {
            GemmCore<float>.PackB(tb, k, wide, pb, ldb, pp);
            // The plain product on columns [col0, col0 + n) of op(B).
            float* bsub = tb ? pb + (long)col0 * ldb : pb + col0;
            Gemm.Sgemm(ta, tb, m, n, k, 0.7f, pa, lda, bsub, ldb, 0.4f, pc1, ldc, null);
            GemmCore<float>.RunPackedB(ta, m, n, k, 0.7f, pa, lda, pp, wide, col0, 0.4f, pc2, ldc);
        }
        Assert.That(viaPacked, Is.EqualTo(plain));
        var packedD = new double[GemmCore<double>.PackedBSize(k, wide) + 64];
        int nrD = GemmCore<double>.NR, col0D = panelsBefore * nrD;
        var plainD = (double[])c.Clone();
        var viaPackedD = (double[])c.Clone();
        fixed (double* pa = a, pb = bw, pp = packedD, pc1 = plainD, pc2 = viaPackedD)
        {
            GemmCore<double>.PackB(tb, k, wide, pb, ldb, pp);
            double* bsub = tb ? pb + (long)col0D * ldb : pb + col0D;
            Gemm.Dgemm(ta, tb, m, n, k, 0.7, pa, lda, bsub, ldb, 0.4, pc1, ldc, null);
            GemmCore<double>.RunPackedB(ta, m, n, k, 0.7, pa, lda, pp, wide, col0D, 0.4, pc2, ldc);
        }
        Assert.That(viaPackedD, Is.EqualTo(plainD));
        Assert.Throws<ArgumentOutOfRangeException>(() =>
        {
            fixed (float* pa = af, pp = packed, pc2 = viaPacked)
                GemmCore<float>.RunPackedB(ta, m, n, k, 1f, pa, lda, pp, wide, col0 + 1, 0f, pc2, ldc);
        });
    }

    /// <summary>Rows in an edge panel (fewer rows than a micro-tile, run by the half-height kernel or through the
    /// temporary tile) come out bit for bit as the same rows inside a product with more rows, where full tiles compute
    /// them: every element is the same FMA chain whichever kernel runs it (m ≥ 3 with k = 300: the blocked path, not the
    /// direct small-product one).</summary>
    [Test]
    public void EdgePanelRowsMatchFullTileRowsBitForBit([Values(false, true)] bool ta, [Values(3, 5, 6, 7, 11, 13, 17, 18, 19, 23)] int m)
    {
        const int M = 48, n = 70, k = 300;
        var (a, lda, b, ldb, c, ldc) = MakeInputs(ta, false, M, n, k, 11);
        var af = Array.ConvertAll(a, v => (float)v);
        var bf = Array.ConvertAll(b, v => (float)v);
        var cf = Array.ConvertAll(c, v => (float)v);
        var full = (float[])cf.Clone();
        var part = (float[])cf.Clone();
        RunSgemm(ta, false, M, n, k, 0.9f, af, lda, bf, ldb, 0.3f, full, ldc, null);
        RunSgemm(ta, false, m, n, k, 0.9f, af, lda, bf, ldb, 0.3f, part, ldc, null);
        for (int i = 0; i < m; i++)
            Assert.That(part.AsSpan(i * ldc, n).ToArray(), Is.EqualTo(full.AsSpan(i * ldc, n).ToArray()), $"row {i} of {m}");
        Assert.That(part.AsSpan(m * ldc).ToArray(), Is.EqualTo(cf.AsSpan(m * ldc).ToArray()), "rows past m untouched");
        var fullD = (double[])c.Clone();
        var partD = (double[])c.Clone();
        RunDgemm(ta, false, M, n, k, 0.9, a, lda, b, ldb, 0.3, fullD, ldc, null);
        RunDgemm(ta, false, m, n, k, 0.9, a, lda, b, ldb, 0.3, partD, ldc, null);
        for (int i = 0; i < m; i++)
            Assert.That(partD.AsSpan(i * ldc, n).ToArray(), Is.EqualTo(fullD.AsSpan(i * ldc, n).ToArray()), $"double row {i} of {m}");
    }

    /// <summary>Matrix-vector products with a compact column result (ldc = 1), as MatMul issues them for a linear model:
    /// X·w ([m,k]·[k,1]) and Xᵀ·dy ([k,m]ᵀ·[k,1]), against the reference, with the elements past m untouched.</summary>
    [Test]
    public void MatrixVectorProductsWithCompactColumn([Values(false, true)] bool ta, [Values(16, 20, 37, 64)] int m,
        [Values(1, 5, 32, 70)] int k, [Values(0.0, 0.5)] double beta)
    {
        var rng = new Random(m * 100 + k);
        int lda = (ta ? m : k) + 3;
        var a = new float[(ta ? k : m) * lda];
        var b = new float[k];
        var c = new float[m + 4];
        for (int i = 0; i < a.Length; i++) a[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < b.Length; i++) b[i] = (float)(rng.NextDouble() * 2 - 1);
        for (int i = 0; i < c.Length; i++) c[i] = (float)(rng.NextDouble() * 2 - 1);
        var outC = (float[])c.Clone();
        RunSgemm(ta, false, m, 1, k, 1f, a, lda, b, 1, (float)beta, outC, 1, null);
        for (int i = 0; i < m; i++)
        {
            double s = 0, scale = 0;
            for (int p = 0; p < k; p++)
            {
                double prod = (double)(ta ? a[p * lda + i] : a[i * lda + p]) * b[p];
                s += prod;
                scale += Math.Abs(prod);
            }
            double expect = s + beta * c[i];
            Assert.That(outC[i], Is.EqualTo(expect).Within(2e-7 * (scale + Math.Abs(beta * c[i])) * (k + 2) + 1e-7), $"c[{i}]");
        }
        for (int i = m; i < c.Length; i++) Assert.That(outC[i], Is.EqualTo(c[i]), $"c[{i}] past m written");
    }

    [TestCaseSource(nameof(DeterminismCases))]
    public void BitIdenticalAcrossThreadCounts(bool ta, bool tb, int m, int n, int k)
    {
        var (a, lda, b, ldb, c, ldc) = MakeInputs(ta, tb, m, n, k, 7);
        var af = Array.ConvertAll(a, v => (float)v);
        var bf = Array.ConvertAll(b, v => (float)v);
        var cf = Array.ConvertAll(c, v => (float)v);
        float[]? refF = null;
        double[]? refD = null;
        foreach (var threads in new[] { 1, 2, 3 })
        {
            using var pool = new WorkerPool(threads);
            var outF = (float[])cf.Clone();
            var outD = (double[])c.Clone();
            RunSgemm(ta, tb, m, n, k, 0.9f, af, lda, bf, ldb, 0.3f, outF, ldc, pool);
            RunDgemm(ta, tb, m, n, k, 0.9, a, lda, b, ldb, 0.3, outD, ldc, pool);
            if (refF == null) { refF = outF; refD = outD; continue; }
            Assert.That(outF, Is.EqualTo(refF), $"float differs with {threads} threads");
            Assert.That(outD, Is.EqualTo(refD), $"double differs with {threads} threads");
        }
    }

    [Test]
    public void BatchedMatchesPerMatrixCalls([Values(1, 3)] int threads, [Values(2, 20)] int k)
    {
        using var pool = new WorkerPool(threads);
        const int batch = 9, m = 19, n = 23;
        var rng = new Random(3);
        int lda = k + 1, ldb = n, ldc = n + 1;
        long sa = m * lda + 4, sb = k * ldb + 2, sc = m * ldc + 3;
        var a = new float[batch * sa];
        var b = new float[batch * sb];
        var c = new float[batch * sc];
        for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble();
        for (int i = 0; i < b.Length; i++) b[i] = (float)rng.NextDouble();
        for (int i = 0; i < c.Length; i++) c[i] = (float)rng.NextDouble();
        var expected = (float[])c.Clone();
        fixed (float* pa = a, pb = b, pe = expected)
            for (int i = 0; i < batch; i++)
                Gemm.Sgemm(false, false, m, n, k, 1.25f, pa + i * sa, lda, pb + i * sb, ldb, 0.5f, pe + i * sc, ldc, null);
        fixed (float* pa = a, pb = b, pc = c)
            Gemm.BatchedSgemm(false, false, m, n, k, 1.25f, pa, lda, sa, pb, ldb, sb, 0.5f, pc, ldc, sc, batch, pool);
        Assert.That(c, Is.EqualTo(expected));

        var ad = Array.ConvertAll(a, v => (double)v);
        var bd = Array.ConvertAll(b, v => (double)v);
        var cd = Array.ConvertAll(c, v => (double)v);
        var ed = (double[])cd.Clone();
        fixed (double* pa = ad, pb = bd, pe = ed)
            for (int i = 0; i < batch; i++)
                Gemm.Dgemm(true, true, m, n, k, 1.25, pa + i * sa, m + 1, pb + i * sb, k, 0.0, pe + i * sc, ldc, null);
        fixed (double* pa = ad, pb = bd, pc = cd)
            Gemm.BatchedDgemm(true, true, m, n, k, 1.25, pa, m + 1, sa, pb, k, sb, 0.0, pc, ldc, sc, batch, pool);
        Assert.That(cd, Is.EqualTo(ed));
    }

    [Test]
    public void ConcurrentCallersOnOneSharedPoolAgreeWithSerial()
    {
        using var pool = new WorkerPool(2);
        const int m = 150, n = 170, k = 190;
        var (a, lda, b, ldb, c, ldc) = MakeInputs(false, true, m, n, k, 11);
        var af = Array.ConvertAll(a, v => (float)v);
        var bf = Array.ConvertAll(b, v => (float)v);
        var expected = Array.ConvertAll(c, v => (float)v);
        RunSgemm(false, true, m, n, k, 1f, af, lda, bf, ldb, 0.5f, expected, ldc, null);
        var results = new float[4][];
        Exception? failure = null;
        var threads = Enumerable.Range(0, 4).Select(t => new Thread(() =>
        {
            try
            {
                for (int rep = 0; rep < 10; rep++)
                {
                    var outC = Array.ConvertAll(c, v => (float)v);
                    RunSgemm(false, true, m, n, k, 1f, af, lda, bf, ldb, 0.5f, outC, ldc, pool);
                    results[t] = outC;
                    if (!outC.AsSpan().SequenceEqual(expected)) throw new InvalidOperationException($"thread {t} rep {rep} differs");
                }
            }
            catch (Exception e) { failure = e; }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) Assert.That(t.Join(TimeSpan.FromSeconds(120)), Is.True, "deadlock");
        Assert.That(failure, Is.Null);
    }

    struct GemmInBody : IParallelBody
    {
        public float* A, B, C;
        public int M, N, K;
        public nint Pool;

        public void Run(int i)
        {
            var pool = (WorkerPool)System.Runtime.InteropServices.GCHandle.FromIntPtr(Pool).Target!;
            Gemm.Sgemm(false, false, M, N, K, 1f, A, K, B, N, 0f, C + (long)i * M * N, N, pool);
        }
    }

    [Test]
    public void GemmInsideParallelBodyRunsInline()
    {
        using var pool = new WorkerPool(3);
        const int m = 120, n = 110, k = 100, jobs = 5;
        var rng = new Random(5);
        var a = Enumerable.Range(0, m * k).Select(_ => (float)rng.NextDouble()).ToArray();
        var b = Enumerable.Range(0, k * n).Select(_ => (float)rng.NextDouble()).ToArray();
        var expected = new float[m * n];
        RunSgemm(false, false, m, n, k, 1f, a, k, b, n, 0f, expected, n, null);
        var c = new float[jobs * m * n];
        var handle = System.Runtime.InteropServices.GCHandle.Alloc(pool);
        try
        {
            fixed (float* pa = a, pb = b, pc = c)
            {
                var body = new GemmInBody { A = pa, B = pb, C = pc, M = m, N = n, K = k, Pool = System.Runtime.InteropServices.GCHandle.ToIntPtr(handle) };
                pool.For(jobs, ref body);
            }
        }
        finally { handle.Free(); }
        for (int j = 0; j < jobs; j++)
            Assert.That(c.AsSpan(j * m * n, m * n).SequenceEqual(expected), Is.True, $"job {j}");
    }

    [Test, Explicit("Throughput measurement; prints GFLOP/s")]
    public void Throughput()
    {
        // Best-of timing after warm-up so tiered JIT and machine noise do not dominate.
        static double Measure(Action run, double flops)
        {
            var sw = Stopwatch.StartNew();
            while (sw.Elapsed.TotalSeconds < 0.3) run();
            double best = double.MaxValue;
            for (int trial = 0; trial < 5; trial++)
            {
                int reps = Math.Max(1, (int)(1e9 / flops));
                sw.Restart();
                for (int r = 0; r < reps; r++) run();
                best = Math.Min(best, sw.Elapsed.TotalSeconds / reps);
            }
            return flops / best / 1e9;
        }

        foreach (int size in new[] { 256, 512, 1024 })
        {
            var a = new float[size * size];
            var b = new float[size * size];
            var c = new float[size * size];
            var ad = new double[size * size];
            var bd = new double[size * size];
            var cd = new double[size * size];
            var rng = new Random(1);
            for (int i = 0; i < a.Length; i++) { a[i] = (float)rng.NextDouble(); b[i] = (float)rng.NextDouble(); ad[i] = a[i]; bd[i] = b[i]; }
            double flops = 2.0 * size * size * size;
            foreach (int threads in new[] { 1, 2 })
            {
                using var pool = new WorkerPool(threads);
                foreach (var (ta, tb) in new[] { (false, false), (true, true) })
                {
                    double sg = Measure(() =>
                    {
                        fixed (float* pa = a, pb = b, pc = c)
                            Gemm.Sgemm(ta, tb, size, size, size, 1f, pa, size, pb, size, 0f, pc, size, pool);
                    }, flops);
                    double dg = Measure(() =>
                    {
                        fixed (double* pa = ad, pb = bd, pc = cd)
                            Gemm.Dgemm(ta, tb, size, size, size, 1, pa, size, pb, size, 0, pc, size, pool);
                    }, flops);
                    TestContext.Out.WriteLine($"{size}^3 threads={threads} tA={ta} tB={tb}: sgemm {sg:F1} GFLOP/s, dgemm {dg:F1} GFLOP/s");
                }
            }
        }
    }
}
