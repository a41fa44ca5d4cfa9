using System.Diagnostics;
using TensorPrimitives = System.Numerics.Tensors.TensorPrimitives;
using GraphDl;

namespace Bench.GraphDlSide;

/// <summary>`GraphDlBench profile`: splits the logistic-regression step and the elementwise chain into their parts by
/// timing variants from outside the engine (the Session's phases are internal): fixed per-run cost, per-op slope, feed copy,
/// forward only, the bare arithmetic, and bytes allocated per step.</summary>
public static class Profile
{
    /// <summary>Runs the profile and prints a small report.</summary>
    public static int Run(string[] args)
    {
        double seconds = 1;
        for (int i = 0; i < args.Length - 1; i++) if (args[i] == "--measure") seconds = double.Parse(args[i + 1], System.Globalization.CultureInfo.InvariantCulture);

        Console.WriteLine("# GraphDl step profile (medians of timed batches; µs per call)");
        // Fixed cost of one Session.Run: fetch a fed placeholder (no kernels; plan lookup, feed check, fetch copy).
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(16), "x");
            var s = new Session(g);
            var feeds = new[] { (x, NDArray.From(new float[16])) };
            Tensor[] f = [x];
            Report("Session.Run, no kernel (fetch a fed 16-float placeholder)", Time(() => s.Run(f, feeds), seconds), AllocPer(() => s.Run(f, feeds)));
        }
        // One kernel: fetch Identity-like Neg on 16 floats.
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(16), "x");
            var t = g.Neg(x);
            var s = new Session(g);
            var feeds = new[] { (x, NDArray.From(new float[16])) };
            Tensor[] f = [t];
            Report("Session.Run, one Neg on 16 floats", Time(() => s.Run(f, feeds), seconds), AllocPer(() => s.Run(f, feeds)));
        }
        // Chain slope: lengths 4, 20, 100, 400.
        var lens = new[] { 4, 20, 100, 400 };
        var times = new double[lens.Length];
        for (int li = 0; li < lens.Length; li++)
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(16), "x");
            var y = g.Placeholder(DType.Float32, Shape.Of(16), "y");
            var t = x;
            for (int i = 0; i < lens[li]; i++)
                t = (i % 4) switch { 0 => g.Mul(t, y), 1 => g.Add(t, y), 2 => g.Tanh(t), _ => g.Sub(t, y) };
            var s = new Session(g);
            var feeds = new[] { (x, NDArray.From(Harness.Uniform(16, 5))), (y, NDArray.From(Harness.Uniform(16, 6, 0.25f, 0.75f))) };
            Tensor[] f = [t];
            times[li] = Time(() => s.Run(f, feeds), seconds);
            Report($"chain of {lens[li]} ops", times[li], AllocPer(() => s.Run(f, feeds)));
        }
        double slope = (times[^1] - times[1]) / (lens[^1] - lens[1]);
        Console.WriteLine($"  => per-op slope (20→400 ops): {slope * 1000:F1} ns/op; intercept ≈ {times[1] - slope * lens[1]:F2} µs per run");
        // The arithmetic alone: the same 100 ops with TensorPrimitives on 16-float spans.
        {
            var a = Harness.Uniform(16, 5);
            var y = Harness.Uniform(16, 6, 0.25f, 0.75f);
            var buf = new float[16];
            void Arith()
            {
                a.CopyTo(buf, 0);
                for (int i = 0; i < Harness.ChainLength; i++)
                    switch (i % 4)
                    {
                        case 0: TensorPrimitives.Multiply(buf, y, buf); break;
                        case 1: TensorPrimitives.Add(buf, y, buf); break;
                        case 2: TensorPrimitives.Tanh(buf, buf); break;
                        default: TensorPrimitives.Subtract(buf, y, buf); break;
                    }
            }
            double ar = Time(Arith, seconds);
            Report("the chain's arithmetic alone (TensorPrimitives, 100 ops)", ar, 0);
            Console.WriteLine($"  => arithmetic {ar * 1000 / Harness.ChainLength:F1} ns/op of the {slope * 1000:F1} ns/op slope");
        }

        // Logistic regression: ops in the plan, and the step split into its parts.
        {
            var (c, session, step) = Cases.LogReg();
            var g = session.Graph;
            var loss = g.Operations.First(o => o.Name.EndsWith("Mean", StringComparison.Ordinal) && !o.Name.StartsWith("gradients", StringComparison.Ordinal)).Outputs[0];
            var train = g.Operations.Last(o => o.Type == "NoOp" || o.Name.Contains("GradientDescent", StringComparison.Ordinal));
            var ops = Needed(g, [loss], [train]);
            Console.WriteLine($"logistic regression: the step's plan holds {ops.Count} ops: " +
                string.Join(", ", ops.GroupBy(o => o.Type).OrderByDescending(x => x.Count()).Select(x => $"{x.Key}×{x.Count()}")));
            double full = Time(() => step(), seconds);
            Report("logistic-regression step (copy feeds + Run(loss, train) + Item)", full, AllocPer(() => step()));
            var xs = Cases.LogRegData(64, 32, 16);
            var xFeed = new float[32 * 64];
            var yFeed = new float[32];
            double copy = Time(() => { xs.X[3].CopyTo(xFeed, 0); xs.Y[3].CopyTo(yFeed, 0); }, seconds);
            Report("  feed copy alone (2 KiB + 128 B)", copy, 0);
            var fwdOps = Needed(g, [loss], []);
            var xT = g.GetTensor("x:0");
            var yT = g.GetTensor("y:0");
            var feeds = new[] { (xT, NDArray.From(xs.X[3], 32, 64)), (yT, NDArray.From(xs.Y[3], 32, 1)) };
            Tensor[] lf = [loss];
            double fwd = Time(() => session.Run(lf, feeds), seconds);
            Report($"  forward only, Run(loss) ({fwdOps.Count} ops)", fwd, AllocPer(() => session.Run(lf, feeds)));
            Console.WriteLine($"  => {full / ops.Count * 1000:F0} ns per op over the whole step; fixed-cost + slope model predicts " +
                $"{times[1] - slope * lens[1] + slope * ops.Count:F2} µs (measured {full:F2})");
        }
        return 0;
    }

    static List<Operation> Needed(Graph g, Tensor[] fetches, Operation[] targets)
    {
        var seen = new HashSet<Operation>();
        var stack = new Stack<Operation>();
        foreach (var t in fetches) if (seen.Add(t.Op)) stack.Push(t.Op);
        foreach (var o in targets) if (seen.Add(o)) stack.Push(o);
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            foreach (var t in op.Inputs) if (seen.Add(t.Op)) stack.Push(t.Op);
            foreach (var c in op.ControlInputs) if (seen.Add(c)) stack.Push(c);
        }
        return seen.OrderBy(o => o.Id).ToList();
    }

    static void Report(string what, double us, double allocBytes) =>
        Console.WriteLine($"{what,-72} {us,9:F3} µs   {allocBytes,7:F0} B allocated");

    /// <summary>Median µs per call over batches of about 10 ms, after 1 s of warm-up.</summary>
    static double Time(Action a, double seconds)
    {
        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed.TotalSeconds < 1) { a(); n++; }
        int batch = (int)Math.Max(1, n / 100);
        var list = new List<double>();
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < seconds || list.Count < 5)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) a();
            list.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / batch);
        }
        list.Sort();
        return list[list.Count / 2];
    }

    static double AllocPer(Action a)
    {
        for (int i = 0; i < 100; i++) a();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) a();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 1000.0;
    }
}
