using GraphDl.Tests.Ops;
using NUnit.Framework;

namespace GraphDl.Tests.Rnn;

/// <summary>Cells, drivers and the fused sequence ops against the unrolled graph.</summary>
public class RnnTests
{
    const int B = 3, T = 5, I = 2, H = 4;
    static readonly int[] Lens = [5, 3, 0];

    static IRnnCell MakeCell(string kind) => kind switch
    {
        "rnn" => new BasicRNNCell(H),
        "gru" => new GRUCell(H),
        "lstm" => new LSTMCell(H),
        "basic_lstm" => new BasicLSTMCell(H, forgetBias: 0.5),
        "lstm_clip" => new LSTMCell(H, cellClip: 0.3),
        "multi" => new MultiRNNCell([new GRUCell(H), new LSTMCell(3), new BasicRNNCell(H)]),
        _ => throw new ArgumentException(kind),
    };

    static readonly string[] Kinds = ["rnn", "gru", "lstm", "basic_lstm", "lstm_clip", "multi"];

    static NDArray Values(int seed, DType dtype, params int[] dims)
    {
        var v = OpCase.Rand(seed, -1, 1, dims);
        return dtype == DType.Float64 ? v : NDArray.From(v.ToFloatArray(), dims);
    }

    /// <summary>Outputs, final state and gradients (x, then every variable) of one path, for a weighted-sum loss.</summary>
    static List<double[]> RunPath(Graph g, Session s, Tensor x, Tensor y, Tensor[] state, NDArray xv)
    {
        var loss = g.Sum(y * g.Const(Values(7, x.DType, B, T, y.Shape[2])));
        for (int k = 0; k < state.Length; k++) loss += g.Sum(state[k] * g.Const(Values(8 + k, x.DType, B, state[k].Shape[1])));
        var vars = g.TrainableVariables.Select(v => v.Value).ToArray();
        var grads = g.Gradients([loss], [x, .. vars]);
        var fetched = s.Run([y, .. state, .. grads.Select(t => t!)], [(x, xv)]);
        return fetched.Select(a => a.ToDoubleArray()).ToList();
    }

    static void AssertRelClose(List<double[]> actual, List<double[]> expected, double rel, string what)
    {
        Assert.That(actual.Count, Is.EqualTo(expected.Count));
        for (int k = 0; k < actual.Count; k++)
        {
            double scale = Math.Max(expected[k].Select(Math.Abs).DefaultIfEmpty(0).Max(), 1e-3);
            NumericAssert.AllClose(actual[k], expected[k], rel * scale, rel, $"{what} tensor {k}");
        }
    }

    [Test]
    public void Fused_MatchesUnrolled([ValueSource(nameof(Kinds))] string kind, [Values] bool masked, [Values(DType.Float64, DType.Float32)] DType dtype)
    {
        var g = new Graph { Seed = 3 };
        var x = g.Placeholder(dtype, new Shape(B, T, I), "x");
        var cell = MakeCell(kind);
        var lens = masked ? g.Const(NDArray.From(Lens, B)) : null;
        var (yf, sf) = g.DynamicRnn(cell, x, lens);
        Assert.That(g.Operations.Any(o => o.Type.StartsWith("GraphDl")), "fused op used");
        var (yu, su) = g.StaticRnn(cell, x, sequenceLength: lens);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var xv = Values(5, dtype, B, T, I);
        var fused = RunPath(g, s, x, yf, sf, xv);
        var unrolled = RunPath(g, s, x, yu, su, xv);
        AssertRelClose(fused, unrolled, dtype == DType.Float64 ? 1e-10 : 1e-5, kind);
        if (masked)
        {
            var y = fused[0];
            int w = yf.Shape[2];
            for (int t = 3; t < T; t++) for (int k = 0; k < w; k++) Assert.That(y[(1 * T + t) * w + k], Is.EqualTo(0.0));
        }
    }

    /// <summary>A hidden size spanning several of the fused kernels' unit blocks, the last one partial (77 = 64 + 13), with
    /// and without cell clipping: the fused layer still matches the unrolled graph.</summary>
    [Test]
    public void Fused_WideHidden_MatchesUnrolled([Values("lstm", "lstm_clip", "gru", "rnn")] string kind, [Values(DType.Float64, DType.Float32)] DType dtype)
    {
        const int Hw = 77;
        var g = new Graph { Seed = 6 };
        var x = g.Placeholder(dtype, new Shape(B, T, I), "x");
        IRnnCell cell = kind switch
        {
            "lstm" => new LSTMCell(Hw),
            "lstm_clip" => new LSTMCell(Hw, cellClip: 0.3),
            "gru" => new GRUCell(Hw),
            _ => new BasicRNNCell(Hw),
        };
        var lens = g.Const(NDArray.From(Lens, B));
        var (yf, sf) = g.DynamicRnn(cell, x, lens);
        var (yu, su) = g.StaticRnn(cell, x, sequenceLength: lens);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        // Every variable random, biases included (they start at zero), so a bias the fused path dropped would show.
        int seed = 40;
        foreach (var v in g.TrainableVariables.ToArray())
            v.Load(Values(seed++, dtype, v.Shape.Dims), s);
        var xv = Values(5, dtype, B, T, I);
        AssertRelClose(RunPath(g, s, x, yf, sf, xv), RunPath(g, s, x, yu, su, xv), dtype == DType.Float64 ? 1e-10 : 1e-5, kind);
    }

    /// <summary>The fused layers split their time steps across threads; results are bit-identical for 1, 2 and 3 threads.</summary>
    [Test]
    public void Fused_BitIdenticalAcrossThreadCounts([Values("lstm", "gru", "rnn")] string kind)
    {
        List<double[]>? first = null;
        foreach (int threads in new[] { 1, 2, 3 })
        {
            var g = new Graph { Seed = 8 };
            var x = g.Placeholder(DType.Float32, new Shape(4, 7, 5), "x");
            IRnnCell cell = kind switch { "lstm" => new LSTMCell(70), "gru" => new GRUCell(70), _ => new BasicRNNCell(70) };
            var (y, st) = g.DynamicRnn(cell, x, g.Const(NDArray.From(new[] { 7, 2, 5, 0 }, 4)));
            var loss = g.Sum(y * y);
            foreach (var t in st) loss += g.Sum(t);
            var grads = g.Gradients([loss], [x, .. g.TrainableVariables.Select(v => v.Value)]);
            using var s = new Session(g, new SessionOptions { IntraOpThreads = threads });
            s.Run(g.GlobalVariablesInitializer());
            var got = s.Run([y, .. st, .. grads.Select(t => t!)], [(x, NDArray.From(OpCase.Rand(9, -1, 1, 4, 7, 5).ToFloatArray(), 4, 7, 5))])
                .Select(a => a.ToDoubleArray()).ToList();
            if (first == null) { first = got; continue; }
            for (int k = 0; k < got.Count; k++) Assert.That(got[k], Is.EqualTo(first[k]), $"{kind} tensor {k}, {threads} threads");
        }
    }

    /// <summary>Central differences of the unrolled cell, float64, with respect to the input and every variable.</summary>
    [Test]
    public void UnrolledCell_GradientMatchesFiniteDifferences([ValueSource(nameof(Kinds))] string kind, [Values] bool masked)
    {
        var g = new Graph { Seed = 4 };
        var x = g.Placeholder(DType.Float64, new Shape(B, T, I), "x");
        var cell = MakeCell(kind);
        var lens = masked ? g.Const(NDArray.From(Lens, B)) : null;
        var (y, st) = g.StaticRnn(cell, x, sequenceLength: lens);
        var loss = g.Sum(y * g.Const(Values(7, DType.Float64, B, T, y.Shape[2])));
        foreach (var (t, k) in st.Select((t, k) => (t, k))) loss += g.Sum(t * g.Const(Values(20 + k, DType.Float64, B, t.Shape[1])));
        var vars = g.TrainableVariables.ToArray();
        var grads = g.Gradients([loss], [x, .. vars.Select(v => v.Value)]);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var xv = Values(5, DType.Float64, B, T, I);
        var analytic = s.Run(grads.Select(t => t!).ToArray(), [(x, xv)]);
        const double h = 1e-6;
        // x
        var xs = xv.ToDoubleArray();
        var num = new double[xs.Length];
        for (int e = 0; e < xs.Length; e++)
        {
            double L(double d) { var v = (double[])xs.Clone(); v[e] += d; return s.Run(loss, [(x, NDArray.From(v, B, T, I))]).Item<double>(); }
            num[e] = (L(h) - L(-h)) / (2 * h);
        }
        NumericAssert.AllClose(analytic[0].ToDoubleArray(), num, 1e-6, 1e-5, $"{kind} d/dx");
        for (int k = 0; k < vars.Length; k++)
        {
            var w0 = vars[k].Eval(s).ToDoubleArray();
            var dims = vars[k].Shape.Dims;
            var n = new double[w0.Length];
            for (int e = 0; e < w0.Length; e++)
            {
                double L(double d) { var v = (double[])w0.Clone(); v[e] += d; vars[k].Load(NDArray.From(v, dims), s); return s.Run(loss, [(x, xv)]).Item<double>(); }
                n[e] = (L(h) - L(-h)) / (2 * h);
            }
            vars[k].Load(NDArray.From(w0, dims), s);
            NumericAssert.AllClose(analytic[k + 1].ToDoubleArray(), n, 1e-6, 1e-5, $"{kind} d/d{vars[k].Name}");
        }
    }

    [Test]
    public void VariableNames_FollowTf1()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, new Shape(-1, -1, 3));
        g.DynamicRnn(new BasicRNNCell(4), x, scope: "a");
        g.DynamicRnn(new GRUCell(4), x, scope: "b");
        g.DynamicRnn(new LSTMCell(4), x, scope: "c");
        g.DynamicRnn(new BasicLSTMCell(4), x);
        g.DynamicRnn(new MultiRNNCell([new BasicLSTMCell(4), new BasicLSTMCell(5)]), x, scope: "deep");
        g.BidirectionalDynamicRnn(new BasicLSTMCell(4), new BasicLSTMCell(4), x);
        var names = g.GlobalVariables.Select(v => $"{v.Name}{v.Shape}").ToArray();
        Assert.That(names, Is.EqualTo(new[]
        {
            "a/basic_rnn_cell/kernel[7,4]", "a/basic_rnn_cell/bias[4]",
            "b/gru_cell/gates/kernel[7,8]", "b/gru_cell/gates/bias[8]", "b/gru_cell/candidate/kernel[7,4]", "b/gru_cell/candidate/bias[4]",
            "c/lstm_cell/kernel[7,16]", "c/lstm_cell/bias[16]",
            "rnn/basic_lstm_cell/kernel[7,16]", "rnn/basic_lstm_cell/bias[16]",
            "deep/multi_rnn_cell/cell_0/basic_lstm_cell/kernel[7,16]", "deep/multi_rnn_cell/cell_0/basic_lstm_cell/bias[16]",
            "deep/multi_rnn_cell/cell_1/basic_lstm_cell/kernel[9,20]", "deep/multi_rnn_cell/cell_1/basic_lstm_cell/bias[20]",
            "bidirectional_rnn/fw/basic_lstm_cell/kernel[7,16]", "bidirectional_rnn/fw/basic_lstm_cell/bias[16]",
            "bidirectional_rnn/bw/basic_lstm_cell/kernel[7,16]", "bidirectional_rnn/bw/basic_lstm_cell/bias[16]",
        }));
    }

    [Test]
    public void GruGateBias_StartsAtOne()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, new Shape(2, 3, 2));
        g.DynamicRnn(new GRUCell(3), x);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        Assert.That(g.FindVariable("rnn/gru_cell/gates/bias")!.Eval(s).ToDoubleArray(), Is.All.EqualTo(1.0));
    }

    [Test]
    public void DynamicRnn_UnknownTimeDimension([Values("rnn", "gru", "lstm")] string kind)
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float64, new Shape(-1, -1, I), "x");
        var len = g.Placeholder(DType.Int32, new Shape(-1), "len");
        var (y, st) = g.DynamicRnn(MakeCell(kind), x, len);
        Assert.That(y.Shape.ToString(), Is.EqualTo($"[?,?,{H}]"));
        var grad = g.Gradient(g.Sum(y) + g.Sum(st[^1]), x)!;
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        foreach (int t in new[] { 2, 7, 0 })
        {
            var r = s.Run([y, st[^1], grad], [(x, Values(3, DType.Float64, 2, t, I)), (len, NDArray.From(new[] { t, t / 2 }, 2))]);
            Assert.That(r[0].Dims.ToArray(), Is.EqualTo(new[] { 2, t, H }));
            Assert.That(r[2].Dims.ToArray(), Is.EqualTo(new[] { 2, t, I }));
        }
        Assert.Throws<SessionRunException>(() => s.Run(y, [(x, Values(3, DType.Float64, 2, 3, I)), (len, NDArray.From(new[] { 4, 1 }, 2))]));
    }

    [Test]
    public void Bidirectional_BackwardPassReversesWithinLength()
    {
        var g = new Graph { Seed = 2 };
        var x = g.Placeholder(DType.Float64, new Shape(B, T, I), "x");
        var lens = g.Const(NDArray.From(Lens, B));
        var bw = new GRUCell(H);
        var (_, yb, _, sb) = g.BidirectionalDynamicRnn(new GRUCell(H), bw, x, lens);
        // Reference: the bw cell unrolled on each sequence reversed by hand.
        var xr = g.Placeholder(DType.Float64, new Shape(B, T, I), "xr");
        var (yr, sr) = g.StaticRnn(bw, xr, sequenceLength: lens, scope: "ref");
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var xv = Values(9, DType.Float64, B, T, I).ToDoubleArray();
        var rev = new double[xv.Length];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++)
            {
                int from = t < Lens[b] ? Lens[b] - 1 - t : t;
                for (int k = 0; k < I; k++) rev[(b * T + t) * I + k] = xv[(b * T + from) * I + k];
            }
        var got = s.Run([yb, sb[0]], [(x, NDArray.From(xv, B, T, I))]);
        var want = s.Run([yr, sr[0]], [(xr, NDArray.From(rev, B, T, I))]);
        var wy = want[0].ToDoubleArray();
        var expected = new double[wy.Length];
        for (int b = 0; b < B; b++)
            for (int t = 0; t < Lens[b]; t++)
                for (int k = 0; k < H; k++) expected[(b * T + t) * H + k] = wy[(b * T + Lens[b] - 1 - t) * H + k];
        NumericAssert.AllClose(got[0].ToDoubleArray(), expected, 1e-12, 1e-10, "bw outputs");
        NumericAssert.AllClose(got[1].ToDoubleArray(), want[1].ToDoubleArray(), 1e-12, 1e-10, "bw state");
    }

    [Test]
    public void EmbeddingLookup_GathersRowsAndScattersGradient()
    {
        var g = new Graph();
        var table = g.Variable(NDArray.From(new double[] { 1, 2, 3, 4, 5, 6 }, 3, 2), "emb");
        var ids = g.Const(NDArray.From(new[] { 2, 0, 2 }, 3));
        var e = g.EmbeddingLookup(table, ids);
        var grad = g.Gradient(g.Sum(e), table.Value)!;
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        Assert.That(s.Run(e).ToDoubleArray(), Is.EqualTo(new double[] { 5, 6, 1, 2, 5, 6 }));
        Assert.That(s.Run(g.Identity(grad)).ToDoubleArray(), Is.EqualTo(new double[] { 1, 1, 0, 0, 2, 2 }));
    }

    [Test]
    public void DynamicRnn_UserCellNeedsKnownTime()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, new Shape(-1, -1, 2));
        var ex = Assert.Throws<GraphBuildException>(() => g.DynamicRnn(new BasicRNNCell(3, activation: t => g.Relu(t)), x));
        Assert.That(ex!.Message, Does.Contain("StaticRnn"));
    }
}
