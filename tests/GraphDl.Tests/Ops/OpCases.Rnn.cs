using GraphDl.Ops;
using static GraphDl.Tests.Ops.OpCase;

namespace GraphDl.Tests.Ops;

public static partial class OpCases
{
    static Tensor Flat(Graph g, params Tensor[] ts) => g.Concat(ts.Select(t => g.Reshape(t, [-1])).ToArray(), 0);

    // Batch 3, time 4, input 2, units 3; lengths 4 (full), 2 and 0 (state passes through untouched).
    static Tensor? SeqLen(Graph g, bool masked) => masked ? g.Const(NDArray.From(new[] { 4, 2, 0 }, 3), "lens") : null;

    [OpCaseSource]
    static IEnumerable<OpCase> Rnn()
    {
        const int B = 3, T = 4, I = 2, H = 3;
        var x = Rand(401, -1, 1, B, T, I);
        var h0 = Rand(402, -0.5, 0.5, B, H);
        var c0 = Rand(403, -0.5, 0.5, B, H);
        var dy = Rand(404, -1, 1, B, T, H);
        var dh = Rand(405, -1, 1, B, H);
        var dc = Rand(406, -1, 1, B, H);
        foreach (bool masked in new[] { false, true })
        {
            string sfx = masked ? "_seq_len" : "";
            var w1 = Rand(410, -0.6, 0.6, I + H, H); var b1 = Rand(411, -0.3, 0.3, H);
            yield return new OpCase("RnnSequence" + sfx, RnnSequenceOps.RnnSequence,
                (g, v) => { var (y, h) = g.RnnSequence(v[0], SeqLen(g, masked), v[1], v[2], v[3]); return Flat(g, y, h); }, [x, h0, w1, b1]);
            yield return new OpCase("RnnSequenceGrad" + sfx, RnnSequenceOps.RnnSequenceGrad, (g, v) =>
            {
                var lens = SeqLen(g, masked) ?? g.Const(NDArray.From(Array.Empty<int>(), 0));
                var fwd = g.AddOp(RnnSequenceOps.RnnSequence, [v[0], lens, v[1], v[2], v[3]]);
                var grad = g.AddOp(RnnSequenceOps.RnnSequenceGrad, [v[0], lens, v[1], v[2], v[3], fwd.Outputs[0], v[4], v[5]]);
                return Flat(g, grad.Outputs);
            }, [x, h0, w1, b1, dy, dh]) { NotDifferentiable = true };

            var wg = Rand(420, -0.6, 0.6, I + H, 2 * H); var bg = Rand(421, 0.5, 1.5, 2 * H);
            var wc = Rand(422, -0.6, 0.6, I + H, H); var bc = Rand(423, -0.3, 0.3, H);
            yield return new OpCase("GruSequence" + sfx, RnnSequenceOps.GruSequence,
                (g, v) => { var (y, h) = g.GruSequence(v[0], SeqLen(g, masked), v[1], v[2], v[3], v[4], v[5]); return Flat(g, y, h); },
                [x, h0, wg, bg, wc, bc]);
            yield return new OpCase("GruSequenceGrad" + sfx, RnnSequenceOps.GruSequenceGrad, (g, v) =>
            {
                var lens = SeqLen(g, masked) ?? g.Const(NDArray.From(Array.Empty<int>(), 0));
                var fwd = g.AddOp(RnnSequenceOps.GruSequence, [v[0], lens, v[1], v[2], v[3], v[4], v[5]]);
                var grad = g.AddOp(RnnSequenceOps.GruSequenceGrad,
                    [v[0], lens, v[1], v[2], v[3], v[4], v[5], fwd.Outputs[0], fwd.Outputs[2], v[6], v[7]]);
                return Flat(g, grad.Outputs);
            }, [x, h0, wg, bg, wc, bc, dy, dh]) { NotDifferentiable = true };

            var w4 = Rand(430, -0.6, 0.6, I + H, 4 * H); var b4 = Rand(431, -0.3, 0.3, 4 * H);
            yield return new OpCase("LstmSequence" + sfx, RnnSequenceOps.LstmSequence,
                (g, v) => { var (y, h, c) = g.LstmSequence(v[0], SeqLen(g, masked), v[1], v[2], v[3], v[4]); return Flat(g, y, h, c); },
                [x, h0, c0, w4, b4]);
            yield return new OpCase("LstmSequenceGrad" + sfx, RnnSequenceOps.LstmSequenceGrad, (g, v) =>
            {
                var lens = SeqLen(g, masked) ?? g.Const(NDArray.From(Array.Empty<int>(), 0));
                var attrs = new Attrs { ["forget_bias"] = 1.0, ["cell_clip"] = 0.0 };
                var fwd = g.AddOp(RnnSequenceOps.LstmSequence, [v[0], lens, v[1], v[2], v[3], v[4]], attrs);
                var grad = g.AddOp(RnnSequenceOps.LstmSequenceGrad,
                    [v[0], lens, v[1], v[2], v[3], v[4], fwd.Outputs[0], fwd.Outputs[3], fwd.Outputs[4], v[5], v[6], v[7]], attrs);
                return Flat(g, grad.Outputs);
            }, [x, h0, c0, w4, b4, dy, dh, dc]) { NotDifferentiable = true };
        }
    }
}
