using TorchSharp;
using static Bench.Harness;
using static TorchSharp.torch;

namespace Bench.TorchSide;

/// <summary>The TorchSharp convolutional rows (eager ops, a dispose scope per step, NCHW as PyTorch lays images out).</summary>
public static class CnnCases
{
    /// <summary>LeNet-5 on [64, 1, 32, 32]: conv 5x5x6 ReLU, max-pool 2, conv 5x5x16 ReLU, max-pool 2, fc 120 ReLU, 84 ReLU, 10;
    /// Glorot-uniform weights, zero biases; cross-entropy; SGD with momentum (lr 0.01, momentum 0.9). One step = zero_grad,
    /// forward, backward, step, loss.item(); same batch every step; re-initialized every <see cref="MlpResetEvery"/> steps.</summary>
    public static BenchCase LeNet()
    {
        const int batch = CnnKeys.LeNetBatch;
        torch.manual_seed(1);
        var model = nn.Sequential(
            ("conv1", nn.Conv2d(1, 6, 5)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
            ("conv2", nn.Conv2d(6, 16, 5)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
            ("flatten", nn.Flatten()),
            ("fc1", nn.Linear(400, 120)), ("relu3", nn.ReLU()),
            ("fc2", nn.Linear(120, 84)), ("relu4", nn.ReLU()),
            ("fc3", nn.Linear(84, 10)));
        void Init()
        {
            using (torch.no_grad())
                foreach (var (name, p) in model.named_parameters())
                {
                    if (name.EndsWith("weight", StringComparison.Ordinal)) nn.init.xavier_uniform_(p);
                    else nn.init.zeros_(p);
                }
        }
        Init();
        var opt = torch.optim.SGD(model.parameters(), 0.01, momentum: 0.9);
        var x = torch.tensor(Uniform(batch * 32 * 32, 7, 0, 1), [batch, 1, 32, 32]);
        var labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = (i * 7) % 10;
        var y = torch.tensor(labels, [batch]);
        torch.set_num_threads(Environment.ProcessorCount);
        return new BenchCase
        {
            Key = CnnKeys.LeNet, Unit = "ms",
            Step = () =>
            {
                using var scope = torch.NewDisposeScope();
                opt.zero_grad();
                var loss = nn.functional.cross_entropy(model.forward(x), y);
                loss.backward();
                opt.step();
                loss.item<float>();
            },
            FromSeconds = s => s * 1e3,
            Reset = () =>
            {
                Init();
                opt.Dispose();
                opt = torch.optim.SGD(model.parameters(), 0.01, momentum: 0.9);
            },
            ResetEvery = MlpResetEvery,
        };
    }

    /// <summary>One 3x3 convolution, [64, 16, 32, 32] → [64, 32, 32, 32], padding 1, no bias: forward, then sum().backward()
    /// for the input and weight gradients (grads reset to none each step). GFLOP/s of the three convolutions.</summary>
    public static BenchCase Conv()
    {
        const int n = CnnKeys.ConvBatch, hw = CnnKeys.ConvHw, ci = CnnKeys.ConvIn, co = CnnKeys.ConvOut, k = CnnKeys.ConvK;
        var x = torch.tensor(Uniform(n * hw * hw * ci, 8), [n, ci, hw, hw]).requires_grad_(true);
        var w = torch.tensor(Uniform(k * k * ci * co, 9, -0.2f, 0.2f), [co, ci, k, k]).requires_grad_(true);
        torch.set_num_threads(Environment.ProcessorCount);
        return new BenchCase
        {
            Key = CnnKeys.Conv, Unit = "GFLOP/s",
            Step = () =>
            {
                using var scope = torch.NewDisposeScope();
                x.grad = null;
                w.grad = null;
                var yv = nn.functional.conv2d(x, w, padding: [1, 1]);
                yv.sum().backward();
            },
            FromSeconds = s => 3 * CnnKeys.ConvForwardFlops / s / 1e9,
        };
    }
}
