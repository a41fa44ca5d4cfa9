using TorchSharp;
using static Bench.Harness;
using static TorchSharp.torch;

namespace Bench.TorchSide;

/// <summary>The TorchSharp LSTM row.</summary>
public static class RnnCases
{
    /// <summary>nn.LSTM(64, 128, batch_first) over sequence 32, batch 32, the last hidden state into nn.Linear(128, 10),
    /// cross-entropy, Adam (lr 1e-3); one step = zero_grad, forward, backward, step, loss.item(); same batch every step;
    /// parameters (PyTorch's default init) and optimizer re-initialized every <see cref="MlpResetEvery"/> steps, outside the
    /// timed batches.</summary>
    public static BenchCase Lstm()
    {
        torch.manual_seed(1);
        var lstm = nn.LSTM(LstmInput, LstmHidden, batchFirst: true);
        var fc = nn.Linear(LstmHidden, 10);
        var parameters = lstm.parameters().Concat(fc.parameters()).ToArray();
        var opt = torch.optim.Adam(parameters, lr: 1e-3);
        // PyTorch's defaults for both modules: LSTM U(±1/sqrt(hidden)); Linear(128, 10) kaiming-uniform(a=√5) weight and
        // its bias, both U(±1/sqrt(128)), the same bound here.
        double bound = 1 / Math.Sqrt(LstmHidden);
        var x = torch.tensor(Uniform(LstmBatch * LstmSteps * LstmInput, 4), [LstmBatch, LstmSteps, LstmInput]);
        var labels = new long[LstmBatch];
        for (int i = 0; i < LstmBatch; i++) labels[i] = (i * 7) % 10;
        var y = torch.tensor(labels, [LstmBatch]);
        torch.set_num_threads(Environment.ProcessorCount);
        float last = 0;
        return new BenchCase
        {
            Key = Keys.Lstm, Unit = "ms",
            Step = () =>
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                var (_, h, _) = lstm.forward(x);
                var logits = fc.forward(h[-1]);
                var loss = nn.functional.cross_entropy(logits, y);
                loss.backward();
                opt.step();
                last = loss.item<float>();
            },
            FromSeconds = s => s * 1e3,
            Reset = () =>
            {
                // New default-distribution draws for both modules and a new Adam (empty moments, step count 0).
                using (torch.no_grad())
                    foreach (var p in parameters) nn.init.uniform_(p, -bound, bound);
                opt.Dispose();
                opt = torch.optim.Adam(parameters, lr: 1e-3);
            },
            ResetEvery = MlpResetEvery,
        };
    }
}
