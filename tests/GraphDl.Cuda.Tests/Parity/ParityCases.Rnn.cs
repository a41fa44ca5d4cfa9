using GraphDl.Ops;

namespace GraphDl.Cuda.Parity;

/// <summary>The fused recurrent layers' parity cases: batch 0-3, 0-5 steps, 3-7 input features, 5-9 units, with and
/// without seq_len (int32 and int64, lengths 0 and full included), zero and random initial states; LSTM also with a
/// forget bias other than 1 and with cell clipping. Each forward case checks every output (the saved activations too);
/// each gradient case runs the forward op and the gradient op on the GPU and checks every gradient. Inputs: x, dy in
/// [-1, 1], states in [-0.5, 0.5], kernels in [-0.6, 0.6], biases in [-0.3, 0.3].</summary>
public static partial class ParityCases
{
    /// <summary>Tolerance of the RNN family: rtol 1e-5, atol 1e-6 (the transcendental family's). The GPU's σ and tanh
    /// (the device's exp and tanh; .NET's MathF on the CPU accelerator) differ from the CPU's float32 Cephes exponential
    /// by about an ulp, the GEMMs sum in another order, and both differences are carried through up to 5 steps and
    /// summed again by the weight gradients. Observed on the CPU accelerator: at most 4e-7 absolute for the LSTM and GRU,
    /// 2e-6 for the tanh RNN's bias gradient (values near 1.6, i.e. about 1e-6 relative).</summary>
    static readonly (double, double) RnnTolerance = (1e-5, 1e-6);

    /// <summary>(batch, steps, input features, units, seq_len: null none, else the lengths; int64 lengths; zero initial state).</summary>
    static readonly (int B, int T, int I, int H, int[]? Lens, bool Long, bool ZeroState)[] RnnShapes =
    [
        (1, 1, 3, 5, null, false, false),
        (2, 3, 5, 7, null, false, true),
        (3, 5, 7, 9, null, false, false),
        (3, 4, 3, 5, [4, 2, 0], false, false),
        (2, 5, 4, 6, [5, 3], true, true),
        (3, 3, 5, 5, [1, 3, 2], false, false),
        (0, 3, 3, 5, null, false, false),
        (2, 0, 3, 5, null, false, false),
    ];

    static string RnnName(string op, (int B, int T, int I, int H, int[]? Lens, bool Long, bool ZeroState) s) =>
        $"{op} B{s.B} T{s.T} I{s.I} H{s.H}" + (s.Lens == null ? "" : $" seq_len {(s.Long ? "int64 " : "")}[{string.Join(",", s.Lens)}]")
        + (s.ZeroState ? " zero state" : "") + (s.B == 0 ? " empty batch" : "") + (s.T == 0 ? " no steps" : "");

    static NDArray SeqLenInput(int[]? lens, bool asLong) =>
        lens == null ? NDArray.From(Array.Empty<int>(), 0)
        : asLong ? NDArray.From(lens.Select(l => (long)l).ToArray(), lens.Length) : NDArray.From(lens, lens.Length);

    static NDArray State(int b, int h, bool zero) => zero ? NDArray.From(new float[b * h], b, h) : RandIn(-0.5, 0.5, b, h);

    static IEnumerable<ParityCase> Rnn()
    {
        // ---- LSTM: forward (y, h, c, act, cs) and gradient (dx, dh0, dc0, dkernel, dbias).
        var lstmAttrs = new (double Fb, double Clip)[] { (1.0, 0), (1.0, 0), (0.5, 0), (1.0, 0), (1.0, 0.6), (1.0, 0), (1.0, 0), (1.0, 0) };
        for (int n = 0; n < RnnShapes.Length; n++)
        {
            var sh = RnnShapes[n];
            var (B, T, I, H) = (sh.B, sh.T, sh.I, sh.H);
            var (fb, clip) = lstmAttrs[n];
            var attrs = new Attrs { ["T"] = DType.Float32, ["forget_bias"] = fb, ["cell_clip"] = clip };
            string sfx = (fb != 1 ? $" forget_bias {fb}" : "") + (clip > 0 ? $" cell_clip {clip}" : "");
            NDArray[] fwdIn = [RandIn(-1, 1, B, T, I), SeqLenInput(sh.Lens, sh.Long), State(B, H, sh.ZeroState), State(B, H, sh.ZeroState),
                RandIn(-0.6, 0.6, I + H, 4 * H), RandIn(-0.3, 0.3, 4 * H)];
            yield return new ParityCase(RnnName("LstmSequence", sh) + sfx, RnnSequenceOps.LstmSequence, Family.Rnn,
                (g, t) => g.AddOp(RnnSequenceOps.LstmSequence, t, attrs).Outputs, fwdIn);
            NDArray[] gradIn = [.. fwdIn, RandIn(-1, 1, B, T, H), RandIn(-1, 1, B, H), RandIn(-1, 1, B, H)];
            yield return new ParityCase(RnnName("LstmSequenceGrad", sh) + sfx, RnnSequenceOps.LstmSequenceGrad, Family.Rnn, (g, t) =>
            {
                var f = g.AddOp(RnnSequenceOps.LstmSequence, t[..6], attrs);
                return g.AddOp(RnnSequenceOps.LstmSequenceGrad, [.. t[..6], f.Outputs[0], f.Outputs[3], f.Outputs[4], t[6], t[7], t[8]], attrs).Outputs;
            }, gradIn);
        }

        // ---- GRU: forward (y, h, act) and gradient (dx, dh0, dgate_kernel, dgate_bias, dcandidate_kernel, dcandidate_bias).
        foreach (var sh in RnnShapes)
        {
            var (B, T, I, H) = (sh.B, sh.T, sh.I, sh.H);
            var attrs = new Attrs { ["T"] = DType.Float32 };
            NDArray[] fwdIn = [RandIn(-1, 1, B, T, I), SeqLenInput(sh.Lens, sh.Long), State(B, H, sh.ZeroState),
                RandIn(-0.6, 0.6, I + H, 2 * H), RandIn(-0.3, 0.3, 2 * H), RandIn(-0.6, 0.6, I + H, H), RandIn(-0.3, 0.3, H)];
            yield return new ParityCase(RnnName("GruSequence", sh), RnnSequenceOps.GruSequence, Family.Rnn,
                (g, t) => g.AddOp(RnnSequenceOps.GruSequence, t, attrs).Outputs, fwdIn);
            NDArray[] gradIn = [.. fwdIn, RandIn(-1, 1, B, T, H), RandIn(-1, 1, B, H)];
            yield return new ParityCase(RnnName("GruSequenceGrad", sh), RnnSequenceOps.GruSequenceGrad, Family.Rnn, (g, t) =>
            {
                var f = g.AddOp(RnnSequenceOps.GruSequence, t[..7], attrs);
                return g.AddOp(RnnSequenceOps.GruSequenceGrad, [.. t[..7], f.Outputs[0], f.Outputs[2], t[7], t[8]], attrs).Outputs;
            }, gradIn);
        }

        // ---- Basic tanh RNN: forward (y, h) and gradient (dx, dh0, dkernel, dbias).
        foreach (var sh in RnnShapes)
        {
            var (B, T, I, H) = (sh.B, sh.T, sh.I, sh.H);
            var attrs = new Attrs { ["T"] = DType.Float32 };
            NDArray[] fwdIn = [RandIn(-1, 1, B, T, I), SeqLenInput(sh.Lens, sh.Long), State(B, H, sh.ZeroState),
                RandIn(-0.6, 0.6, I + H, H), RandIn(-0.3, 0.3, H)];
            yield return new ParityCase(RnnName("RnnSequence", sh), RnnSequenceOps.RnnSequence, Family.Rnn,
                (g, t) => g.AddOp(RnnSequenceOps.RnnSequence, t, attrs).Outputs, fwdIn);
            NDArray[] gradIn = [.. fwdIn, RandIn(-1, 1, B, T, H), RandIn(-1, 1, B, H)];
            yield return new ParityCase(RnnName("RnnSequenceGrad", sh), RnnSequenceOps.RnnSequenceGrad, Family.Rnn, (g, t) =>
            {
                var f = g.AddOp(RnnSequenceOps.RnnSequence, t[..5], attrs);
                return g.AddOp(RnnSequenceOps.RnnSequenceGrad, [.. t[..5], f.Outputs[0], t[5], t[6]], attrs).Outputs;
            }, gradIn);
        }
    }
}
