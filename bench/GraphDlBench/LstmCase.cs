using GraphDl;
using GraphDl.Train;
using static Bench.Harness;

namespace Bench.GraphDlSide;

/// <summary>The GraphDl LSTM row.</summary>
public static class RnnCases
{
    /// <summary>LSTM training step: sequence 32, batch 32, input 64, hidden 128 on the fused DynamicRnn (LSTMCell, TF1's
    /// Glorot-uniform kernel, zero bias, forget bias 1), the last hidden state into Dense(10), mean sparse softmax
    /// cross-entropy, Adam (lr 1e-3); one step = Session.Run fetching the loss with the train op as target; same batch fed
    /// every step; model and optimizer re-initialized every <see cref="MlpResetEvery"/> steps, outside the timed batches.</summary>
    public static BenchCase Lstm()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, LstmSteps, LstmInput), "x");
        var y = g.Placeholder(DType.Int64, Shape.Of(-1), "y");
        var (_, state) = g.DynamicRnn(new LSTMCell(LstmHidden), x);
        var logits = g.Dense(state[^1], 10);
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
        var train = new AdamOptimizer(1e-3).Minimize(loss);
        var session = new Session(g);
        var init = g.GlobalVariablesInitializer();
        session.Run(init);
        var labels = new long[LstmBatch];
        for (int i = 0; i < LstmBatch; i++) labels[i] = (i * 7) % 10;
        var feeds = new[]
        {
            (x, NDArray.From(Uniform(LstmBatch * LstmSteps * LstmInput, 4), LstmBatch, LstmSteps, LstmInput)),
            (y, NDArray.From(labels, LstmBatch)),
        };
        Tensor[] fetches = [loss];
        Operation[] targets = [train];
        float last = 0;
        return new BenchCase
        {
            Key = Keys.Lstm, Unit = "ms",
            Step = () => last = session.Run(fetches, feeds, targets)[0].Item<float>(),
            FromSeconds = s => s * 1e3,
            Reset = () => session.Run(init),
            ResetEvery = MlpResetEvery,
        };
    }
}
