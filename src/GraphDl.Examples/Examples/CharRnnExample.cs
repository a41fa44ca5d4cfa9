using System.CommandLine;
using System.Text;
using GraphDl.Data;
using GraphDl.Train;

namespace GraphDl.Examples;

/// <summary>A character-level LSTM language model with an add-one bigram baseline and temperature sampling.</summary>
public sealed class CharRnnExample : Example
{
    /// <summary>Symbols: newline, then ASCII 32..126.</summary>
    public const int Alphabet = 96;

    readonly Option<int> _seqLen = Opt.Int("--seq-len", "Characters per training sequence (truncated backpropagation through time)", 48, min: 2);
    readonly Option<int> _units = Opt.Int("--units", "LSTM units", 128, min: 1);
    readonly Option<double> _temperature = Opt.Double("--temperature", "Sampling temperature (lower = more conservative)", 0.7,
        v => v > 0 ? null : "--temperature must be positive.");
    readonly Option<int> _sampleLength = Opt.Int("--sample-length", "Characters to sample after training", 400, min: 0);
    readonly Option<string> _prime = new("--prime") { Description = "Text the sample starts from", DefaultValueFactory = _ => "We the People" };

    /// <inheritdoc/>
    public override string Name => "char-rnn";

    /// <inheritdoc/>
    public override string Description => "Character-level LSTM on the US Constitution: test bits/char vs an add-one bigram model, sampled text";

    /// <inheritdoc/>
    public override string Details => Description + ". Characters map to 96 symbols (newline and ASCII 32-126; others become " +
        "spaces) fed one-hot; the first 90% of the characters train, the last 10% test. Training draws random sequences of " +
        "--seq-len characters (an epoch = as many characters as the training text); the LSTM's outputs feed Dense(96) and the " +
        "loss is the mean cross-entropy of every next character, minimised with Adam. test/bits_per_char scores every test " +
        "character given up to --seq-len true characters before it. Baseline: an add-one-smoothed bigram model over the 96 " +
        "symbols fitted on the training part (3.406 bits/char on the default text). Pass mark: test/bits_per_char <= 2.3.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 12;

    /// <inheritdoc/>
    public override int DefaultBatchSize => 32;

    /// <inheritdoc/>
    public override double DefaultLearningRate => 0.01;

    /// <inheritdoc/>
    public override string DefaultData => "data/us_constitution.txt";

    /// <inheritdoc/>
    protected internal override IEnumerable<Option> OwnOptions() => [_seqLen, _units, _temperature, _sampleLength, _prime];

    /// <summary>Symbol of a character.</summary>
    public static int Encode(char c) => c == '\n' ? 0 : c is >= ' ' and <= '~' ? c - 31 : 1;

    /// <summary>Character of a symbol.</summary>
    public static char Decode(int s) => s == 0 ? '\n' : (char)(s + 31);

    /// <summary>Bits per character of an add-one bigram model fitted on <c>ids[..cut]</c>, scored on <c>ids[cut..]</c>.</summary>
    public static double BigramBits(int[] ids, int cut)
    {
        var pair = new double[Alphabet, Alphabet];
        var row = new double[Alphabet];
        for (int i = 1; i < cut; i++) { pair[ids[i - 1], ids[i]]++; row[ids[i - 1]]++; }
        double bits = 0;
        for (int i = cut; i < ids.Length; i++)
            bits -= Math.Log2((pair[ids[i - 1], ids[i]] + 1) / (row[ids[i - 1]] + Alphabet));
        return bits / (ids.Length - cut);
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        string path = DataPaths.Resolve(ctx.Data, "us_constitution.txt");
        string text = File.ReadAllText(path).Replace("\r\n", "\n");
        if (ctx.Smoke) text = text[..Math.Min(text.Length, 6000)];
        var ids = text.Select(Encode).ToArray();
        int cut = (int)(ids.Length * 0.9);
        int T = ctx.Get(_seqLen), H = ctx.Get(_units), B = ctx.Batch(cut - T - 1);
        if (cut <= T + 1 || ids.Length - cut < 1) throw new UsageException($"the text has {ids.Length} characters: too short for --seq-len {T}.");
        double bigram = BigramBits(ids, cut);
        ctx.Line($"  data: {Path.GetFileName(path)}, {ids.Length} characters ({text.Distinct().Count()} distinct), train {cut}, test {ids.Length - cut}");

        var g = new Graph { Seed = ctx.Seed };
        var x = g.Placeholder(DType.Int32, Shape.Of(-1, -1), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1, -1), "y");
        var cell = new LSTMCell(H);
        var w = g.GetVariable("output/kernel", Shape.Of(H, Alphabet), DType.Float32);
        var bias = g.GetVariable("output/bias", Shape.Of(Alphabet), DType.Float32, Initializers.Zeros());
        Tensor Logits(Tensor outputs) => g.Add(g.MatMul(g.Reshape(outputs, [-1, H]), w.Value), bias.Value);

        var (outs, _) = g.DynamicRnn(cell, g.OneHot(x, Alphabet));
        var perChar = g.SparseSoftmaxCrossEntropyWithLogits(g.Reshape(y, [-1]), Logits(outs));
        var loss = g.Mean(perChar);
        var train = new AdamOptimizer(ctx.LearningRate).Minimize(loss);

        // Sampling graph: one character at a time, the state fed back.
        var sx = g.Placeholder(DType.Int32, Shape.Of(1, -1), "sample_x");
        var sc = g.Placeholder(DType.Float32, Shape.Of(1, H), "sample_c");
        var sh = g.Placeholder(DType.Float32, Shape.Of(1, H), "sample_h");
        var (souts, sstate) = g.DynamicRnn(cell, g.OneHot(sx, Alphabet), initialState: [sc, sh], scope: "sample");
        var sampleLogits = Logits(souts);

        using var s = ctx.NewSession(g);
        s.Run(g.GlobalVariablesInitializer());
        using var log = ctx.OpenLog(extra: [("alphabet", Alphabet.ToString())]);

        // Test scoring: each row scores a block of T test characters with up to T true characters of context before it.
        var (testX, testY, scored) = TestBatch(ids, cut, T);
        double TestBits()
        {
            var l = s.Run(perChar, (x, testX), (y, testY)).ToFloatArray();
            double nats = 0;
            foreach (int i in scored) nats += l[i];
            return nats / scored.Count / Math.Log(2);
        }

        int stepsPerEpoch = Math.Max(1, cut / (B * T));
        var rng = new Random(ctx.Seed);
        var bx = new int[B * T];
        var by = new int[B * T];
        double bits = double.NaN;
        ctx.Progress(Name, ctx.Epochs, progress =>
        {
            for (int epoch = 1; epoch <= ctx.Epochs; epoch++)
            {
                double total = 0;
                for (int step = 0; step < stepsPerEpoch; step++)
                {
                    for (int b = 0; b < B; b++)
                    {
                        int start = rng.Next(0, cut - T);
                        Array.Copy(ids, start, bx, b * T, T);
                        Array.Copy(ids, start + 1, by, b * T, T);
                    }
                    var r = s.Run([loss], [(x, NDArray.From(bx, B, T)), (y, NDArray.From(by, B, T))], [train]);
                    total += r[0].Item<float>();
                }
                double trainBits = total / stepsPerEpoch / Math.Log(2);
                bits = TestBits();
                log.Scalar("train/loss", total / stepsPerEpoch, epoch);
                log.Scalar("train/bits_per_char", trainBits, epoch);
                log.Scalar("test/bits_per_char", bits, epoch);
                progress.Epoch(epoch, total / stepsPerEpoch, $"test {bits:F3} bits/char");
            }
        });
        ctx.Metric("test/bits_per_char", bits);
        ctx.Metric("baseline/bigram_bits_per_char", bigram);

        string sample = Sample(s, sx, sc, sh, sstate, sampleLogits, H, ctx.Get(_prime), ctx.Get(_sampleLength), ctx.Get(_temperature), ctx.Seed);
        log.Text("samples/text", "```\n" + sample + "\n```", ctx.Epochs);
        ctx.Line();
        ctx.Table(["model", "test bits/char"],
        [
            [$"LSTM({H}), seq {T}", $"{bits:F3}"],
            ["add-one bigram", $"{bigram:F3}"],
        ]);
        ctx.Line();
        ctx.Line($"  sample (temperature {ctx.Get(_temperature)}):");
        foreach (string line in sample.Split('\n')) ctx.Line("    " + line);
    }

    /// <summary>Rows of T test characters each, prefixed by up to T characters of true context; the flat indices scored.</summary>
    static (NDArray X, NDArray Y, List<int> Scored) TestBatch(int[] ids, int cut, int T)
    {
        int n = ids.Length - cut;
        int rows = (n + T - 1) / T, width = 2 * T;
        var xs = new int[rows * width];
        var ys = new int[rows * width];
        var scored = new List<int>();
        for (int r = 0; r < rows; r++)
        {
            int first = cut + r * T; // first scored target
            for (int k = 0; k < width; k++)
            {
                int target = first - T + k; // target position for column k
                int input = target - 1;
                bool valid = input >= 0 && target < ids.Length;
                xs[r * width + k] = valid ? ids[input] : 0;
                ys[r * width + k] = valid ? ids[target] : 0;
                if (k >= T && target < ids.Length) scored.Add(r * width + k);
            }
        }
        return (NDArray.From(xs, rows, width), NDArray.From(ys, rows, width), scored);
    }

    static string Sample(Session s, Tensor sx, Tensor sc, Tensor sh, Tensor[] state, Tensor logits, int h, string prime, int length,
        double temperature, int seed)
    {
        var rng = new Random(seed);
        var c = NDArray.From(new float[h], 1, h);
        var hh = NDArray.From(new float[h], 1, h);
        var sb = new StringBuilder(prime);
        var input = (prime.Length == 0 ? "\n" : prime).Select(Encode).ToArray();
        for (int i = 0; i < length; i++)
        {
            var r = s.Run([logits, state[0], state[1]], (sx, NDArray.From(input, 1, input.Length)), (sc, c), (sh, hh));
            (c, hh) = (r[1], r[2]);
            var l = r[0].ToFloatArray()[^Alphabet..];
            double max = l.Max();
            var p = l.Select(v => Math.Exp((v - max) / temperature)).ToArray();
            double u = rng.NextDouble() * p.Sum(), acc = 0;
            int next = p.Length - 1;
            for (int k = 0; k < p.Length; k++) { acc += p[k]; if (u < acc) { next = k; break; } }
            sb.Append(Decode(next));
            input = [next];
        }
        return sb.ToString();
    }
}
