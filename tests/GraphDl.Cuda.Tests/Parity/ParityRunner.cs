namespace GraphDl.Cuda.Parity;

/// <summary>Runs a parity case on the CPU and on a GPU device and lists what differs (empty: it passed).</summary>
public static class ParityRunner
{
    /// <summary>Builds the case's graph under <c>/gpu:N</c>, runs it on the CPU and twice on <paramref name="gpu"/> (the second
    /// run reuses the first run's buffers), and checks placement, host results and values within the family's tolerance.</summary>
    public static List<string> Run(ParityCase pc, CudaDevice gpu)
    {
        var failures = new List<string>();
        var g = new Graph();
        var ph = pc.Inputs.Select((a, i) => g.Placeholder(a.DType, a.Shape, $"in{i}")).ToArray();
        Tensor[] outs;
        using (g.Device(gpu.Name)) outs = pc.Build(g, ph);
        var feeds = ph.Zip(pc.Inputs, (t, v) => (t, v)).ToArray();
        // Stateful cases (variables and their updates): both sessions start from the same initial values, fed, and each GPU
        // run is compared with the same run on the CPU.
        var init = g.GlobalVariables.Count > 0 ? g.GlobalVariablesInitializer() : null;
        using var cpu = new Session(g);
        if (init != null) cpu.Run([], feeds, [init]);
        var expects = new[] { cpu.Run(outs, feeds), cpu.Run(outs, feeds) };
        using var s = new Session(g, new SessionOptions { Devices = [gpu] });
        if (init != null) s.Run([], feeds, [init]);
        var (rtol, atol) = ParityCases.Tolerance(pc.Family);
        for (int run = 0; run < 2; run++)
        {
            var expect = expects[run];
            var trace = new StepTrace();
            NDArray[] got;
            try { got = s.Run(outs, feeds, [], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace); }
            catch (Exception e) { failures.Add($"run {run + 1} failed: {e.GetType().Name}: {e.Message}"); return failures; }
            var placed = trace.Nodes.Where(n => n.OpType == pc.Op.Name).Select(n => n.Device).ToList();
            if (placed.Count == 0 || placed.Any(p => p != gpu.Name))
                failures.Add($"{pc.Op.Name} should run on {gpu.Name}, ran on [{string.Join(", ", placed)}]");
            for (int i = 0; i < outs.Length; i++)
                if (Numeric.Compare(got[i], expect[i], rtol, atol, $"output {i} (run {run + 1})") is { } error) failures.Add(error);
        }
        return failures;
    }
}

/// <summary>Elementwise comparison: |gpu - cpu| &lt;= atol + rtol·|cpu|, NaN only where the CPU has NaN, infinities equal;
/// bool outputs byte for byte.</summary>
public static class Numeric
{
    /// <summary>Null when they agree, else what differs first.</summary>
    public static string? Compare(NDArray gpu, NDArray cpu, double rtol, double atol, string what)
    {
        if (gpu.DType != cpu.DType) return $"{what}: dtype {gpu.DType.Name()}, CPU {cpu.DType.Name()}";
        if (!gpu.Dims.SequenceEqual(cpu.Dims)) return $"{what}: dims {Shape.Format(gpu.Dims)}, CPU {Shape.Format(cpu.Dims)}";
        if (cpu.DType == DType.Bool)
        {
            // Raw bytes: a poisoned (never written) element is 0xFF, which would still read as true.
            var gb = System.Runtime.InteropServices.MemoryMarshal.AsBytes(gpu.AsSpan<bool>());
            var cb = System.Runtime.InteropServices.MemoryMarshal.AsBytes(cpu.AsSpan<bool>());
            for (int i = 0; i < cb.Length; i++)
                if (gb[i] != cb[i]) return $"{what}[{i}]: GPU byte {gb[i]}, CPU {cb[i]}";
            return null;
        }
        double[] g, c;
        try { g = gpu.ToDoubleArray(); c = cpu.ToDoubleArray(); }
        catch (Exception e) { return $"{what}: not a host array ({e.Message})"; }
        for (int i = 0; i < c.Length; i++)
        {
            if (double.IsNaN(c[i])) { if (!double.IsNaN(g[i])) return $"{what}[{i}]: CPU NaN, GPU {g[i]:R}"; continue; }
            if (double.IsInfinity(c[i])) { if (g[i] != c[i]) return $"{what}[{i}]: CPU {c[i]}, GPU {g[i]:R}"; continue; }
            double err = Math.Abs(g[i] - c[i]);
            if (!(err <= atol + rtol * Math.Abs(c[i])))
                return $"{what}[{i}]: GPU {g[i]:R} vs CPU {c[i]:R} (|diff| {err:G3} > atol {atol} + rtol {rtol}·|cpu|)";
        }
        return null;
    }
}
