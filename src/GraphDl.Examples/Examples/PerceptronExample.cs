using GraphDl.Data;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>Rosenblatt's perceptron: AND, OR and NAND learned with the perceptron rule, and XOR wired from them.</summary>
public sealed class PerceptronExample : Example
{
    static readonly float[] Inputs = [0, 0, 0, 1, 1, 0, 1, 1];

    static readonly (string Name, Func<int, int, int> Truth)[] Gates =
    [
        ("and", (a, b) => a & b),
        ("or", (a, b) => a | b),
        ("nand", (a, b) => 1 - (a & b)),
    ];

    /// <inheritdoc/>
    public override string Name => "perceptron";

    /// <inheritdoc/>
    public override string Description => "Step-activation perceptrons learn AND, OR and NAND; XOR is wired from them as AND(OR, NAND)";

    /// <inheritdoc/>
    public override string Details => Description + ". Each perceptron computes y = step(xw + b) and learns with the perceptron " +
        "rule w += lr (t - y) x, b += lr (t - y), one truth-table row at a time in a shuffled order. A single perceptron cannot " +
        "represent XOR (it is not linearly separable), but two layers of them can: XOR(a, b) = AND(OR(a, b), NAND(a, b)). " +
        "Logs one sub-folder per gate (and, or, nand, xor).";

    /// <inheritdoc/>
    public override int DefaultEpochs => 20;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 1;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.1;

    /// <inheritdoc/>
    public override string DefaultData => "the truth tables (no file)";

    sealed record Perceptron(string Name, Func<int, int, int> Truth, Tensor Output, Tensor Error, Operation Update, Variable W, Variable B, RunLog Log);

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        if (ctx.Data != null)
            throw new UsageException("perceptron trains on the AND/OR/NAND truth tables and takes no --data.");
        var g = new Graph { Seed = ctx.Seed };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "x");
        var t = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "t");

        // The step activation: 1 when input·w + b > 0, else 0. It has no useful gradient, hence the perceptron rule.
        Tensor Step(Tensor input, Variable w, Variable b) =>
            g.Cast(g.Greater(g.MatMul(input, w) + b, g.Scalar(0, DType.Float32)), DType.Float32, "step");

        var gates = new List<Perceptron>();
        foreach (var (name, truth) in Gates)
        {
            using (g.VariableScope(name))
            {
                var w = g.GetVariable("weights", Shape.Of(2, 1), initializer: Initializers.RandomUniform(-0.5, 0.5));
                var b = g.GetVariable("bias", Shape.Of(1), initializer: Initializers.Zeros());
                var y = Step(x, w, b);
                var err = t - y;
                var update = g.Group(
                [
                    w.AssignAdd(g.MatMul(x, err, transposeA: true) * ctx.LearningRate).Op,
                    b.AssignAdd(g.Sum(err, [0]) * ctx.LearningRate).Op,
                ], "perceptron_rule");
                gates.Add(new Perceptron(name, truth, y, err, update, w, b, ctx.OpenLog(name)));
            }
        }
        // XOR as a two-layer network of the trained perceptrons: layer 1 is [OR, NAND], layer 2 is AND of their outputs.
        Tensor xorOutput;
        using (g.NameScope("xor"))
        {
            var hidden = g.Concat([Step(x, gates[1].W, gates[1].B), Step(x, gates[2].W, gates[2].B)], axis: 1, name: "layer1");
            xorOutput = Step(hidden, gates[0].W, gates[0].B);
        }
        using var xorLog = ctx.OpenLog("xor");
        using var session = ctx.NewSession(g);
        session.Run(g.GlobalVariablesInitializer());
        foreach (var p in gates)
            p.Log.Graph(g);
        xorLog.Graph(g);

        float[] Targets(Func<int, int, int> f) => Enumerable.Range(0, 4).Select(i => (float)f((int)Inputs[2 * i], (int)Inputs[2 * i + 1])).ToArray();
        int[] Predict(Perceptron p, float[] inputs) =>
            session.Run(p.Output, (x, NDArray.From(inputs, inputs.Length / 2, 2))).ToFloatArray().Select(v => (int)v).ToArray();
        int[] Xor() => session.Run(xorOutput, (x, NDArray.From(Inputs, 4, 2))).ToFloatArray().Select(v => (int)v).ToArray();

        var order = new MiniBatchIterator(4, 1, (ulong)ctx.Seed);
        var converged = new Dictionary<string, int>();
        ctx.Progress(Name, ctx.Epochs, progress =>
        {
            for (int epoch = 1; epoch <= ctx.Epochs; epoch++)
            {
                double totalErrors = 0;
                foreach (var p in gates)
                {
                    float[] targets = Targets(p.Truth);
                    int errors = 0;
                    bool first = epoch == 1;
                    foreach (var row in order.Batches(epoch - 1 + 1000 * gates.IndexOf(p)))
                    {
                        int i = row.Span[0];
                        (Tensor, NDArray)[] feeds = [(x, NDArray.From(Inputs[(2 * i)..(2 * i + 2)], 1, 2)), (t, NDArray.From(new[] { targets[i] }, 1, 1))];
                        // The gate's first update is traced: run metadata step_1 and trace.json in its log folder.
                        var err = first ? p.Log.TracedRun(session, [p.Error], feeds, [p.Update], step: 1) : session.Run([p.Error], feeds, [p.Update]);
                        first = false;
                        if (err[0].ToFloatArray()[0] != 0)
                            errors++;
                    }
                    double accuracy = Metrics.Accuracy(Predict(p, Inputs), targets.Select(v => (int)v).ToArray());
                    if (errors == 0 && !converged.ContainsKey(p.Name))
                        converged[p.Name] = epoch;
                    p.Log.Scalar("train/loss", errors / 4.0, epoch);
                    p.Log.Scalar("train/accuracy", accuracy, epoch);
                    p.Log.Parameters(session, [(null, p.W), (null, p.B)], epoch);
                    totalErrors += errors;
                }
                double xorAccuracy = Metrics.Accuracy(Xor(), Targets((a, b) => a ^ b).Select(v => (int)v).ToArray());
                xorLog.Scalar("train/accuracy", xorAccuracy, epoch);
                progress.Epoch(epoch, totalErrors / (4 * gates.Count), $"xor accuracy {xorAccuracy:F2}");
            }
        });

        ctx.Line();
        foreach (var p in gates)
        {
            float[] w = session.Run(p.W.Value).ToFloatArray();
            float b = session.Run(p.B.Value).ToFloatArray()[0];
            double acc = Metrics.Accuracy(Predict(p, Inputs), Targets(p.Truth).Select(v => (int)v).ToArray());
            ctx.Line($"  {p.Name.ToUpperInvariant(),-4}: y = step({w[0]:F3}*a {Signed(w[1])}*b {Signed(b)})  accuracy {acc:F2}" +
                (converged.TryGetValue(p.Name, out int e) ? $", no mistakes from epoch {e}" : ", not converged"));
            ctx.Metric("train/accuracy", acc, p.Name);
            p.Log.Dispose();
        }
        int[] and = Predict(gates[0], Inputs), or = Predict(gates[1], Inputs), nand = Predict(gates[2], Inputs), xor = Xor();
        ctx.Line();
        ctx.Table(["a", "b", "AND", "OR", "NAND", "XOR = AND(OR, NAND)"],
            Enumerable.Range(0, 4).Select(i => (IReadOnlyList<string>)
            [
                Inputs[2 * i].ToString(), Inputs[2 * i + 1].ToString(), and[i].ToString(), or[i].ToString(), nand[i].ToString(), xor[i].ToString(),
            ]));
        double xorAcc = Metrics.Accuracy(xor, Targets((a, b) => a ^ b).Select(v => (int)v).ToArray());
        ctx.Metric("train/accuracy", xorAcc, "xor");
        ctx.Line($"  XOR from three perceptrons: accuracy {xorAcc:F2}");
    }

    static string Signed(float v) => v < 0 ? $"- {-v:F3}" : $"+ {v:F3}";
}
