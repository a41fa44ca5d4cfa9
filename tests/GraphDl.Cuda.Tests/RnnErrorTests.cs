using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>The fused RNN GPU kernels check their operands at run time with the CPU kernels' own checks (shared
/// <c>Rnn.Dims</c>, <c>Rnn.Lengths</c>, ...): bad shapes or lengths that only show when the graph runs raise the CPU
/// kernel's error, same type and message, naming the node.</summary>
public class RnnErrorTests
{
    static NDArray R(params int[] dims) => NDArray.From(new float[dims.Aggregate(1, (a, b) => a * b)], dims);
    static NDArray Lens(params int[] l) => NDArray.From(l, l.Length);

    static Func<Graph, Tensor[], Tensor> Lstm => (g, t) => g.AddOp(RnnSequenceOps.LstmSequence, t, new Attrs { ["forget_bias"] = 1.0, ["cell_clip"] = 0.0 }).Outputs[0];

    public static IEnumerable<TestCaseData> Cases()
    {
        TestCaseData Case(string name, Func<Graph, Tensor[], Tensor> build, NDArray[] inputs, string expect) =>
            new TestCaseData(name, build, inputs, expect).SetArgDisplayNames(name);
        yield return Case("LSTM seq_len past the steps", Lstm, [R(2, 3, 4), Lens(3, 4), R(2, 5), R(2, 5), R(9, 20), R(20)], "seq_len[1] = 4 is not in [0, 3]");
        yield return Case("LSTM negative seq_len", Lstm, [R(2, 3, 4), Lens(-1, 2), R(2, 5), R(2, 5), R(9, 20), R(20)], "seq_len[0] = -1");
        yield return Case("LSTM seq_len of the wrong length", Lstm, [R(2, 3, 4), Lens(3), R(2, 5), R(2, 5), R(9, 20), R(20)], "needs [2]");
        yield return Case("LSTM kernel of the wrong shape", Lstm, [R(2, 3, 4), Lens(), R(2, 5), R(2, 5), R(8, 20), R(20)], "does not fit x");
        Func<Graph, Tensor[], Tensor> rnn = (g, t) => g.AddOp(RnnSequenceOps.RnnSequence, t).Outputs[0];
        yield return Case("RNN seq_len of the wrong length", rnn, [R(2, 3, 4), Lens(1, 2, 3), R(2, 5), R(9, 5), R(5)], "needs [2]");
        yield return Case("RNN bias of the wrong shape", rnn, [R(2, 3, 4), Lens(), R(2, 5), R(9, 5), R(6)], "bias [6] needs [5]");
        Func<Graph, Tensor[], Tensor> gru = (g, t) => g.AddOp(RnnSequenceOps.GruSequence, t).Outputs[0];
        yield return Case("GRU seq_len past the steps", gru, [R(2, 3, 4), Lens(3, 5), R(2, 5), R(9, 10), R(10), R(9, 5), R(5)], "seq_len[1] = 5 is not in [0, 3]");
        yield return Case("GRU candidate kernel of the wrong shape", gru, [R(2, 3, 4), Lens(), R(2, 5), R(9, 10), R(10), R(9, 4), R(5)], "candidate kernel [9,4] needs [9, 5]");
        yield return Case("GRU candidate bias of the wrong shape", gru, [R(2, 3, 4), Lens(), R(2, 5), R(9, 10), R(10), R(9, 5), R(4)], "candidate bias [4] needs [5]");
        yield return Case("LSTM c0 unlike h0", Lstm, [R(2, 3, 4), Lens(), R(2, 5), R(1, 5), R(9, 20), R(20)], "c0 [1,5] and h0 [2,5] differ");
    }

    [TestCaseSource(nameof(Cases))]
    public void BadOperandAtRunTime_RaisesTheCpuError(string name, Func<Graph, Tensor[], Tensor> build, NDArray[] inputs, string expect) =>
        ErrorParity.AssertSameErrorOnGpu(name, build, inputs, expect);
}
