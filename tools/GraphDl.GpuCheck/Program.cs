using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GraphDl;
using GraphDl.Cuda;
using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Native;
using GraphDl.Cuda.Parity;
using GraphDl.Ops;
using GraphDl.Train;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.Cuda;
using CudaDevice = GraphDl.Cuda.CudaDevice;
using CuBlas = GraphDl.Cuda.Native.CuBlas;

namespace GraphDl.GpuCheck;

/// <summary>The check on a real GPU (issue 7): environment, op parity GPU vs CPU on fresh random inputs, MLP training
/// steps vs CPU, copy and elementwise bandwidth, cuBLAS SGEMM/TF32 throughput, MLP step time. Prints a short table
/// last and "N passed, N failed". <c>--simulate</c> runs the same on ILGPU's CPU accelerator (no benchmarks).</summary>
public static class Program
{
    sealed record Row(string Name, string Value, string Note);

    public static int Main(string[] args)
    {
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        bool simulate = args.Contains("--simulate");
        string? json = Value(args, "--json");
        string? only = Value(args, "--only");
        int seed = int.TryParse(Value(args, "--seed"), out var s0) ? s0 : Environment.TickCount & 0x7FFFFFFF;
        var rows = new List<Row>();
        var total = Stopwatch.StartNew();

        Console.WriteLine($"== GraphDl GPU check ({DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC), seed {seed}");
        var report = GpuReport.Collect();
        report.Write(Console.Out);
        CudaDevice? gpu;
        if (simulate) gpu = CudaDevice.CreateSimulated();
        else
        {
            gpu = CudaDevice.TryCreate(0, out var why);
            if (gpu == null)
            {
                Console.WriteLine($"no GPU: {why}");
                Console.WriteLine("0 passed, 1 failed");
                return 2;
            }
        }
        using var device = gpu;
        Console.WriteLine($"device: {gpu.Name} on {gpu.AcceleratorName}, {gpu.TotalMemoryBytes / (double)(1L << 30):0.0} GiB{(gpu.IsSimulated ? " (simulated)" : "")}");
        rows.Add(new("device", gpu.AcceleratorName, report.Driver.Gpus.FirstOrDefault() is { } g0 ? $"cc {g0.Major}.{g0.Minor}, driver CUDA {report.Driver.VersionText}" : ""));

        // 1. Op parity on fresh random inputs.
        int passed = 0, failed = 0;
        ParityCases.Reseed(seed);
        var sw = Stopwatch.StartNew();
        var byFamily = new SortedDictionary<string, (int ok, int bad)>();
        foreach (var pc in ParityCases.All())
        {
            if (only != null && !pc.Name.Contains(only, StringComparison.OrdinalIgnoreCase)) continue;
            List<string> f;
            try { f = ParityRunner.Run(pc, gpu); }
            catch (Exception e) { f = [$"{e.GetType().Name}: {e.Message}"]; }
            var key = pc.Family.ToString();
            var (ok, bad) = byFamily.GetValueOrDefault(key);
            if (f.Count == 0) { passed++; byFamily[key] = (ok + 1, bad); }
            else
            {
                failed++;
                byFamily[key] = (ok, bad + 1);
                Console.WriteLine($"FAIL parity {pc.Name}: {string.Join("; ", f)}");
            }
        }
        foreach (var (fam, (ok, bad)) in byFamily)
            rows.Add(new($"parity {fam}", $"{ok}/{ok + bad}", $"rtol {ParityCases.Tolerance(Enum.Parse<Family>(fam)).rtol}"));
        Console.WriteLine($"parity: {passed} passed, {failed} failed in {sw.Elapsed.TotalSeconds:F1} s");

        // 2. MLP training steps, GPU vs CPU.
        try
        {
            var (cpuLoss, _) = Mlp.Train(null, 64, 32, 5, seed, out _);
            var (gpuLoss, _) = Mlp.Train(gpu, 64, 32, 5, seed, out _);
            double worst = cpuLoss.Zip(gpuLoss, (a, b) => Math.Abs(a - b) / Math.Max(1e-12, Math.Abs(a))).Max();
            bool ok = worst <= 1e-4;
            if (ok) passed++; else { failed++; Console.WriteLine($"FAIL mlp steps: CPU {string.Join(", ", cpuLoss)} GPU {string.Join(", ", gpuLoss)}"); }
            rows.Add(new("mlp 5 steps vs cpu", $"max rel diff {worst:G3}", ok ? "ok (<= 1e-4)" : "FAIL"));
        }
        catch (Exception e) { failed++; Console.WriteLine($"FAIL mlp steps: {e}"); rows.Add(new("mlp 5 steps vs cpu", "error", e.GetType().Name)); }

        // 3. Benchmarks (real GPU only).
        if (!gpu.IsSimulated && only == null)
        {
            Bench(rows, "d2d copy", () => Bandwidth.Copy(gpu), "GB/s (read+write)");
            Bench(rows, "elementwise add", () => Bandwidth.Add(gpu), "GB/s (2 reads + 1 write)");
            Bench(rows, "sgemm 8192 fp32", () => Gemm.Run(gpu, 8192, CuBlas.PedanticMath), "TFLOP/s (cuBLAS, pedantic)");
            Bench(rows, "sgemm 8192 tf32", () => Gemm.Run(gpu, 8192, CuBlas.Tf32TensorOpMath), "TFLOP/s (cuBLAS, TF32)");
            Bench(rows, "ilgpu matmul 2048", () => Gemm.Ilgpu(gpu, 2048), "TFLOP/s (tiled fallback)");
            Bench(rows, "mlp step 784-512-512-10 b256", () => { Mlp.Train(gpu, 256, 512, 25, seed, out var ms); return ms; }, "ms/step (median of 20)");
        }
        rows.Add(new("allocator", $"in use {gpu.Allocator.Stats.InUseBytes >> 20} MiB, reserved {gpu.Allocator.Stats.ReservedBytes >> 20} MiB",
            $"{gpu.Allocator.Stats.DeviceAllocations} device allocs"));

        Console.WriteLine();
        Console.WriteLine($"== summary ({total.Elapsed.TotalSeconds:F0} s)");
        int w = rows.Max(r => r.Name.Length);
        foreach (var r in rows) Console.WriteLine($"{r.Name.PadRight(w)}  {r.Value,-28} {r.Note}");
        Console.WriteLine($"{passed} passed, {failed} failed");
        if (json != null)
            File.WriteAllText(json, JsonSerializer.Serialize(new { seed, passed, failed, rows = rows.Select(r => new { r.Name, r.Value, r.Note }) },
                new JsonSerializerOptions { WriteIndented = true }));
        return failed == 0 ? 0 : 1;
    }

    static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    static void Bench(List<Row> rows, string name, Func<double> run, string unit)
    {
        try
        {
            double v = run();
            rows.Add(new(name, v.ToString("F2"), unit));
            Console.WriteLine($"{name}: {v:F2} {unit}");
        }
        catch (Exception e)
        {
            rows.Add(new(name, "error", $"{e.GetType().Name}: {e.Message}"));
            Console.WriteLine($"{name}: {e}");
        }
    }
}

/// <summary>An MLP trained with SGD on synthetic data; returns the losses and the median step time.</summary>
static class Mlp
{
    public static (float[] losses, double msPerStep) Train(CudaDevice? gpu, int batch, int hidden, int steps, int seed, out double msPerStep)
    {
        int features = hidden >= 512 ? 784 : 20, classes = 10;
        var g = new Graph { Seed = seed };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, features), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
        var r = new Random(seed);
        NDArray W(int a, int b) => NDArray.From(Enumerable.Range(0, a * b).Select(_ => (float)((r.NextDouble() - 0.5) * 2 / Math.Sqrt(a))).ToArray(), a, b);
        Tensor h = x;
        int width = features;
        foreach (int units in new[] { hidden, hidden })
        {
            var w = g.Variable(W(width, units)); var b = g.Variable(NDArray.Zeros(DType.Float32, units));
            h = g.Relu(g.MatMul(h, w) + b);
            width = units;
        }
        var wo = g.Variable(W(width, classes)); var bo = g.Variable(NDArray.Zeros(DType.Float32, classes));
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, g.MatMul(h, wo) + bo);
        var train = new GradientDescentOptimizer(0.1).Minimize(loss);
        using var s = new Session(g, gpu == null ? null : new SessionOptions { Devices = [gpu], DefaultDevice = gpu.Name });
        s.Run(g.GlobalVariablesInitializer());
        var xs = NDArray.From(Enumerable.Range(0, batch * features).Select(i => (float)Math.Sin(i * 0.37)).ToArray(), batch, features);
        var ys = NDArray.From(Enumerable.Range(0, batch).Select(i => i % classes).ToArray(), batch);
        var losses = new float[steps];
        var times = new List<double>();
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            losses[i] = s.Run([loss], [(x, xs), (y, ys)], [train])[0].Item<float>();
            times.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
        }
        times = times.Skip(Math.Min(5, steps / 2)).OrderBy(t => t).ToList();
        msPerStep = times.Count > 0 ? times[times.Count / 2] : 0;
        return (losses, msPerStep);
    }
}

/// <summary>Device-to-device copy and elementwise-add bandwidth (Stopwatch around synchronized batches).</summary>
static class Bandwidth
{
    const int N = 64 << 20;   // 64 Mi floats = 256 MiB per buffer
    const int Reps = 20;

    public static double Copy(CudaDevice d)
    {
        var acc = d.Accelerator;
        using var a = acc.Allocate1D<float>(N);
        using var b = acc.Allocate1D<float>(N);
        a.View.CopyTo(d.Stream, b.View);
        d.Stream.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Reps; i++) a.View.CopyTo(d.Stream, b.View);
        d.Stream.Synchronize();
        return 2.0 * 4 * N * Reps / sw.Elapsed.TotalSeconds / 1e9;
    }

    public static double Add(CudaDevice d)
    {
        var acc = d.Accelerator;
        using var a = acc.Allocate1D<float>(N);
        using var b = acc.Allocate1D<float>(N);
        using var c = acc.Allocate1D<float>(N);
        var k = acc.LoadKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(ElementwiseKernels.Zip<ArithOps.Add, float>);
        var config = d.Config(N);
        k(d.Stream, config, a.View, b.View, c.View, N);
        d.Stream.Synchronize();
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < Reps; i++) k(d.Stream, config, a.View, b.View, c.View, N);
        d.Stream.Synchronize();
        return 3.0 * 4 * N * Reps / sw.Elapsed.TotalSeconds / 1e9;
    }
}

/// <summary>GEMM throughput: cuBLAS through GraphDl's binding, and the ILGPU tiled fallback.</summary>
static class Gemm
{
    public static double Run(CudaDevice d, int n, int mathMode)
    {
        if (!NativeLibraries.TryLoadCublas(out _, out var path)) throw new DllNotFoundException("cuBLAS not found");
        var acc = d.Accelerator;
        using var a = acc.Allocate1D<float>((long)n * n);
        using var b = acc.Allocate1D<float>((long)n * n);
        using var c = acc.Allocate1D<float>((long)n * n);
        acc.Bind();
        CuBlas.Check(CuBlas.Create(out var h), "cublasCreate_v2");
        try
        {
            CuBlas.Check(CuBlas.SetStream(h, ((CudaStream)d.Stream).StreamPtr), "cublasSetStream_v2");
            CuBlas.Check(CuBlas.SetMathMode(h, mathMode), "cublasSetMathMode");
            CuBlas.RowMajorSgemm(h, n, n, n, false, false, a.NativePtr, b.NativePtr, c.NativePtr);
            d.Stream.Synchronize();
            const int reps = 10;
            var sw = Stopwatch.StartNew();
            for (int i = 0; i < reps; i++) CuBlas.RowMajorSgemm(h, n, n, n, false, false, a.NativePtr, b.NativePtr, c.NativePtr);
            d.Stream.Synchronize();
            return 2.0 * n * n * (double)n * reps / sw.Elapsed.TotalSeconds / 1e12;
        }
        finally { CuBlas.Destroy(h); }
    }

    public static double Ilgpu(CudaDevice d, int n)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(n, n), "x");
        Tensor y;
        using (g.Device(d.Name)) y = g.Sum(g.BatchMatMul(x, x), [0, 1]);   // BatchMatMulV2 always takes the ILGPU kernel
        using var s = new Session(g, new SessionOptions { Devices = [d] });
        var xs = NDArray.Zeros(DType.Float32, n, n);
        s.Run(y, (x, xs));
        const int reps = 5;
        var sw = Stopwatch.StartNew();
        for (int i = 0; i < reps; i++) s.Run(y, (x, xs));
        return 2.0 * n * n * (double)n * reps / sw.Elapsed.TotalSeconds / 1e12;
    }
}
