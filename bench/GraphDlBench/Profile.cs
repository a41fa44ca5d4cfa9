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
        bool perKernel = args.Contains("--kernels");
        best = args.Contains("--best");

        if (args.Contains("--mlp")) return MlpDrift(args.Contains("--rotate"));
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

        // Logistic regression: ops in the plan, the step split into its parts, and each kernel timed alone.
        {
            var lr = Cases.LogReg();
            var g = lr.Session.Graph;
            var ops = Needed(g, [lr.Loss], [lr.Train], lr.Feeds);
            Console.WriteLine($"logistic regression: the step's plan holds {ops.Count} ops: " +
                string.Join(", ", ops.GroupBy(o => o.Type).OrderByDescending(x => x.Count()).Select(x => $"{x.Key}×{x.Count()}")));
            double full = Time(() => lr.Step(), seconds);
            // What a run executes after plan specialization on the feed dims (SessionOptions.OptimizePlans): a traced run
            // records the steps of the plan it ran.
            var trace = new StepTrace();
            lr.Session.Run([lr.Loss], lr.Feeds, [lr.Train], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace);
            Console.WriteLine($"  specialized on the feed dims, a run executes {trace.Nodes.Count} ops: " +
                string.Join(", ", trace.Nodes.GroupBy(n => n.OpType).OrderByDescending(x => x.Count()).Select(x => $"{x.Key}×{x.Count()}")));
            Report("logistic-regression step (copy feeds + Run(loss, train) + Item)", full, AllocPer(() => lr.Step()));
            var data = Cases.LogRegData(64, 32, 16);
            var xFeed = new float[32 * 64];
            var yFeed = new float[32];
            double copy = Time(() => { data.X[3].CopyTo(xFeed, 0); data.Y[3].CopyTo(yFeed, 0); }, seconds);
            Report("  feed copy alone (2 KiB + 128 B)", copy, 0);
            var fwdOps = Needed(g, [lr.Loss], [], lr.Feeds);
            Tensor[] lf = [lr.Loss];
            double fwd = Time(() => lr.Session.Run(lf, lr.Feeds), seconds);
            Report($"  forward only, Run(loss) ({fwdOps.Count} ops)", fwd, AllocPer(() => lr.Session.Run(lf, lr.Feeds)));

            if (!perKernel)
            {
                Console.WriteLine("  (add --kernels to time each kernel of the step alone)");
                return 0;
            }
            // Each stateless kernel of the step alone: the op cloned into a graph of its own with its real input values fed
            // (Const inputs stay Const), run as a target, minus the same run with a NoOp target.
            Console.WriteLine("  each kernel alone (Session.Run of a one-op graph minus an empty run; µs):");
            double kernels = 0;
            var rows = new List<(string Name, double Us)>();
            foreach (var op in ops)
            {
                if (op.Type is "Placeholder" or "Const" or "VariableV2" or "NoOp" || op.Def.Stateful) continue;
                var values = lr.Session.Run(op.Inputs.Where(t => t.Op.Type != "Const").ToArray(), lr.Feeds);
                var g2 = new Graph();
                var feeds2 = new List<(Tensor, NDArray)>();
                var inputs = new List<Tensor>();
                int vi = 0;
                foreach (var t in op.Inputs)
                {
                    if (t.Op.Type == "Const") { inputs.Add(g2.Const(lr.Session.Run(t))); continue; }
                    var v = values[vi++];
                    var ph = g2.Placeholder(t.DType, new Shape(v.Dims.ToArray()));
                    inputs.Add(ph);
                    feeds2.Add((ph, v));
                }
                Operation clone;
                try { clone = g2.AddOp(op.Def, inputs.ToArray(), op.Attrs); }
                catch (GraphDlException e) { Console.WriteLine($"    {op.Type} '{op.Name}': not clonable ({e.Message})"); continue; }
                var noop = g2.NoOp();
                var s2 = new Session(g2);
                var f2 = feeds2.ToArray();
                Operation[] tOp = [clone], tNo = [noop];
                Tensor[] none = [];
                double withOp = Time(() => s2.Run(none, f2, tOp), seconds / 4, 0.1);
                double empty = Time(() => s2.Run(none, f2, tNo), seconds / 4, 0.1);
                rows.Add(($"{op.Type} '{op.Name}' {string.Join(" ", op.Inputs.Select(t => t.Shape.ToString()))}", withOp - empty));
                kernels += withOp - empty;
            }
            foreach (var (name, us) in rows.OrderByDescending(r => r.Us)) Console.WriteLine($"    {us,8:F3}  {name}");
            Console.WriteLine($"  => stateless kernels sum to {kernels:F2} µs of the {full:F2} µs step; the rest ({full - kernels:F2} µs) is " +
                $"the run's fixed cost, per-step dispatch, the {ops.Count(o => o.Def.Stateful)} stateful ops (variable reads, updates) and the fetch");
        }
        return 0;
    }

    /// <summary>`profile --mlp [--rotate]`: the MLP step's time per block of steps as training goes on, with the share of
    /// Adam's m and v entries that are subnormal (zero gradients decay m by 0.9 per step, into the subnormal range after
    /// about 800 steps, where every multiply takes a microcode assist).</summary>
    static int MlpDrift(bool rotate)
    {
        const int Batch = 64, Blocks = 12, PerBlock = 250;
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 784), "x");
        var y = g.Placeholder(DType.Int64, Shape.Of(-1), "y");
        var h1 = g.Dense(x, 256, t => g.Relu(t));
        var h2 = g.Dense(h1, 128, t => g.Relu(t));
        var logits = g.Dense(h2, 10);
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
        var adam = new GraphDl.Train.AdamOptimizer(1e-3);
        var train = adam.Minimize(loss);
        var vars = g.GetCollection<Variable>(GraphKeys.TrainableVariables);
        var slots = vars.SelectMany(v => new[] { adam.GetSlot(v, "m")!, adam.GetSlot(v, "v")! }).Select(v => (Tensor)v).ToArray();
        var session = new Session(g);
        session.Run(g.GlobalVariablesInitializer());
        int nb = rotate ? 16 : 1;
        var feeds = new (Tensor, NDArray)[nb][];
        for (int k = 0; k < nb; k++)
        {
            var labels = new long[Batch];
            var rng = Harness.Uniform(Batch, (ulong)(500 + k), 0, 10);
            for (int i = 0; i < Batch; i++) labels[i] = rotate ? (long)rng[i] : (i * 7) % 10;
            feeds[k] = [(x, NDArray.From(Harness.Uniform(Batch * 784, (ulong)(3 + k), 0, 1), Batch, 784)), (y, NDArray.From(labels, Batch))];
        }
        Tensor[] f = [loss];
        Operation[] tg = [train];
        Console.WriteLine($"MLP 784-256-128-10 Adam, batch {Batch}, {(rotate ? "16 batches in turn" : "one batch")}: ms/step per block of {PerBlock} steps");
        int step = 0;
        for (int b = 0; b < Blocks; b++)
        {
            var sw = Stopwatch.StartNew();
            float l = 0;
            for (int i = 0; i < PerBlock; i++, step++) l = session.Run(f, feeds[step % nb], tg)[0].Item<float>();
            double ms = sw.Elapsed.TotalMilliseconds / PerBlock;
            long sub = 0, total = 0;
            foreach (var a in session.Run(slots))
                foreach (var v in a.AsSpan<float>()) { total++; if (float.IsSubnormal(v)) sub++; }
            Console.WriteLine($"  steps {step - PerBlock,5}-{step - 1,5}: {ms,7:F3} ms/step  loss {l,9:G4}  subnormal m/v entries {100.0 * sub / total,5:F1}%");
        }
        return 0;
    }

    static List<Operation> Needed(Graph g, Tensor[] fetches, Operation[] targets, (Tensor, NDArray)[]? feeds = null)
    {
        var seen = new HashSet<Operation>();
        var fed = new HashSet<Tensor>((feeds ?? []).Select(f => f.Item1));
        var stack = new Stack<Operation>();
        foreach (var t in fetches) if (seen.Add(t.Op)) stack.Push(t.Op);
        foreach (var o in targets) if (seen.Add(o)) stack.Push(o);
        while (stack.Count > 0)
        {
            var op = stack.Pop();
            foreach (var t in op.Inputs) if (!fed.Contains(t) && seen.Add(t.Op)) stack.Push(t.Op);
            foreach (var c in op.ControlInputs) if (seen.Add(c)) stack.Push(c);
        }
        return seen.OrderBy(o => o.Id).ToList();
    }

    static void Report(string what, double us, double allocBytes) =>
        Console.WriteLine($"{what,-72} {us,9:F3} µs   {allocBytes,7:F0} B allocated");

    /// <summary>With <c>--best</c>: report the fastest of batches of about 1 ms instead of the median of 10 ms batches
    /// (a reading for comparing engine changes on a busy machine: the batches that ran without being preempted).</summary>
    static bool best;

    /// <summary>Median µs per call over batches of about 10 ms, after <paramref name="warm"/> seconds of warm-up.</summary>
    static double Time(Action a, double seconds, double warm = 0.5)
    {
        var sw = Stopwatch.StartNew();
        long n = 0;
        while (sw.Elapsed.TotalSeconds < warm) { a(); n++; }
        int batch = (int)Math.Max(1, n / (warm * (best ? 1000 : 100)));
        var list = new List<double>();
        sw.Restart();
        while (sw.Elapsed.TotalSeconds < seconds || list.Count < 5)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int i = 0; i < batch; i++) a();
            list.Add((Stopwatch.GetTimestamp() - t0) * 1e6 / Stopwatch.Frequency / batch);
        }
        list.Sort();
        return best ? list[0] : list[list.Count / 2];
    }

    static double AllocPer(Action a)
    {
        for (int i = 0; i < 100; i++) a();
        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 1000; i++) a();
        return (GC.GetAllocatedBytesForCurrentThread() - before) / 1000.0;
    }
}
