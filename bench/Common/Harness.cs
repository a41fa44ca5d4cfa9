using System.Diagnostics;
using System.Globalization;

namespace Bench;

/// <summary>One measured row of a worker process: a step to repeat and how to turn seconds per step into the row's unit.</summary>
public sealed class BenchCase
{
    /// <summary>Row key shared by both engines, e.g. "SGEMM n=1024, 1 thread".</summary>
    public required string Key { get; init; }
    /// <summary>Engine-side variant ("session", "raw Gemm.Sgemm"); empty for the single way an engine does the row.</summary>
    public string Variant { get; init; } = "";
    /// <summary>"GFLOP/s" (higher is better), "ms", "us" or "us/op" (lower is better).</summary>
    public required string Unit { get; init; }
    /// <summary>One step (one GEMM, one training step, one chain).</summary>
    public required Action Step { get; init; }
    /// <summary>Called before the case's warm-up slice and before its measurement (set thread counts).</summary>
    public Action? Enter { get; init; }
    /// <summary>Converts seconds per step into the unit.</summary>
    public required Func<double, double> FromSeconds { get; init; }
    /// <summary>Re-initializes the model and optimizer state; the harness calls it outside the timed batches every
    /// <see cref="ResetEvery"/> steps (null: never).</summary>
    public Action? Reset { get; init; }
    /// <summary>Steps between resets (timed batches are cut to fit).</summary>
    public int ResetEvery { get; init; } = int.MaxValue;
}

/// <summary>Warm-up, measurement and the line protocol the driver reads (tab-separated lines on stdout).</summary>
/// <remarks>
/// Lines: <c>R key variant unit value batches stepsPerBatch allocBytesPerStep</c> per case and one
/// <c>M idleBytes peakBytes</c> at the end (peak = VmHWM, idle = VmRSS after engine start-up, before the benchmark is built).
/// </remarks>
public static class Harness
{
    static long idleRss = -1;

    /// <summary>Records the idle working set; call once the engine is loaded (one trivial op run) and before any benchmark state exists.</summary>
    public static void MarkIdle()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        idleRss = ReadStatusKb("VmRSS:") * 1024;
    }

    /// <summary>Parses <c>--warmup S --measure S</c> from the worker's arguments.</summary>
    public static (double Warmup, double Measure) Options(string[] args)
    {
        double warm = 2, measure = 1;
        for (int i = 0; i < args.Length - 1; i++)
        {
            if (args[i] == "--warmup") warm = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
            if (args[i] == "--measure") measure = double.Parse(args[i + 1], CultureInfo.InvariantCulture);
        }
        return (warm, measure);
    }

    /// <summary>Warms every case up (cycling through them until at least <paramref name="warmupSeconds"/> have passed), then
    /// measures each for about <paramref name="measureSeconds"/> and prints the result lines and the memory line.</summary>
    public static void Run(IReadOnlyList<BenchCase> cases, double warmupSeconds, double measureSeconds)
    {
        if (idleRss < 0) throw new InvalidOperationException("MarkIdle was not called");
        // Warm-up: the JIT's tiers need about a second of steady calls; every case gets a slice, in turn, until the total is reached.
        var total = Stopwatch.StartNew();
        double slice = Math.Max(0.25, warmupSeconds / cases.Count);
        var sinceReset = new int[cases.Count];
        while (total.Elapsed.TotalSeconds < warmupSeconds)
            for (int k = 0; k < cases.Count; k++)
            {
                var c = cases[k];
                c.Enter?.Invoke();
                var sw = Stopwatch.StartNew();
                do
                {
                    if (++sinceReset[k] > c.ResetEvery) { c.Reset?.Invoke(); sinceReset[k] = 1; }
                    c.Step();
                } while (sw.Elapsed.TotalSeconds < slice);
            }

        foreach (var c in cases)
        {
            c.Enter?.Invoke();
            c.Reset?.Invoke();
            GC.Collect();
            // Calibrate a batch so that one batch takes about a tenth of the window (a single step if that is longer).
            var sw = Stopwatch.StartNew();
            c.Step();
            double one = Math.Max(sw.Elapsed.TotalSeconds, 1e-9);
            int perBatch = (int)Math.Clamp(measureSeconds / 10 / one, 1, Math.Min(1_000_000, c.ResetEvery - 1));
            int stepsSinceReset = 1;
            var times = new List<double>();
            long alloc = 0, steps = 0;
            var window = Stopwatch.StartNew();
            while (window.Elapsed.TotalSeconds < measureSeconds || times.Count < 3)
            {
                if (stepsSinceReset + perBatch > c.ResetEvery)
                {
                    c.Reset?.Invoke(); // outside the timed batch
                    stepsSinceReset = 0;
                }
                stepsSinceReset += perBatch;
                long a0 = GC.GetAllocatedBytesForCurrentThread();
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < perBatch; i++) c.Step();
                long t1 = Stopwatch.GetTimestamp();
                alloc += GC.GetAllocatedBytesForCurrentThread() - a0;
                times.Add((t1 - t0) / (double)Stopwatch.Frequency / perBatch);
                steps += perBatch;
            }
            times.Sort();
            double median = times.Count % 2 == 1 ? times[times.Count / 2] : 0.5 * (times[times.Count / 2 - 1] + times[times.Count / 2]);
            Console.WriteLine(string.Join('\t', "R", c.Key, c.Variant, c.Unit,
                c.FromSeconds(median).ToString("R", CultureInfo.InvariantCulture),
                times.Count.ToString(CultureInfo.InvariantCulture), perBatch.ToString(CultureInfo.InvariantCulture),
                (alloc / (double)steps).ToString("F1", CultureInfo.InvariantCulture)));
        }
        long peak = ReadStatusKb("VmHWM:") * 1024;
        Console.WriteLine(string.Join('\t', "M", idleRss.ToString(CultureInfo.InvariantCulture), peak.ToString(CultureInfo.InvariantCulture)));
    }

    static long ReadStatusKb(string field)
    {
        foreach (var line in File.ReadLines("/proc/self/status"))
            if (line.StartsWith(field, StringComparison.Ordinal))
                return long.Parse(line[field.Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
        return 0;
    }

    /// <summary>Deterministic uniform floats in [lo, hi) (xorshift), the same on both engines.</summary>
    public static float[] Uniform(int n, ulong seed, float lo = -1, float hi = 1)
    {
        var r = new float[n];
        ulong s = seed * 0x9E3779B97F4A7C15UL + 1;
        for (int i = 0; i < n; i++)
        {
            s ^= s << 13; s ^= s >> 7; s ^= s << 17;
            r[i] = lo + (hi - lo) * (float)((s >> 40) / (double)(1UL << 24));
        }
        return r;
    }

    /// <summary>The row keys, so both sides name rows identically.</summary>
    public static class Keys
    {
        /// <summary>SGEMM row.</summary>
        public static string Sgemm(int n, int threads) => $"SGEMM n={n}, {threads} thread{(threads > 1 ? "s" : "")}";
        /// <summary>MLP row.</summary>
        public static string Mlp(int batch) => $"MLP 784-256-128-10 Adam step, batch {batch}";
        /// <summary>Logistic-regression row.</summary>
        public const string LogReg = "Logistic regression step (64 features, batch 32)";
        /// <summary>Elementwise chain row.</summary>
        public const string Chain = "100 elementwise ops on 16 floats, per op";
        /// <summary>LSTM training-step row.</summary>
        public const string Lstm = "LSTM Adam step (seq 32, batch 32, input 64, hidden 128, last state -> dense 10)";
    }

    /// <summary>MLP rows re-initialize model and optimizer every this many steps (outside the timed batches): after about
    /// 500–750 steps Adam's first moments of weights whose gradient is exactly zero decay into the subnormal range, and from
    /// then on a step measures microcode assists on subnormal floats more than the engine (see bench/README.md).</summary>
    public const int MlpResetEvery = 250;

    /// <summary>The groups a worker accepts; each runs as its own process per engine and round.</summary>
    public static readonly string[] Groups = ["sgemm256", "sgemm512", "sgemm1024", "sgemm2048", "mlp64", "mlp256", "logreg", "chain", "lstm", "lenet", "conv"];

    /// <summary>LSTM row: time steps.</summary>
    public const int LstmSteps = 32;
    /// <summary>LSTM row: batch.</summary>
    public const int LstmBatch = 32;
    /// <summary>LSTM row: input features.</summary>
    public const int LstmInput = 64;
    /// <summary>LSTM row: hidden units.</summary>
    public const int LstmHidden = 128;

    /// <summary>Shape of the elementwise chain: op i of 100 is Mul(t, y), Add(t, y), Tanh(t), Sub(t, y) by i mod 4.</summary>
    public const int ChainLength = 100;
}
