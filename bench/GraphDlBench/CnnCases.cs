using GraphDl;
using GraphDl.Train;
using static Bench.Harness;

namespace Bench.GraphDlSide;

/// <summary>The GraphDl convolutional rows.</summary>
public static class CnnCases
{
    /// <summary>LeNet-5 on [64, 32, 32, 1]: conv 5x5x6 ReLU, max-pool 2, conv 5x5x16 ReLU, max-pool 2, dense 120 ReLU, 84 ReLU, 10;
    /// Glorot-uniform kernels, zero biases (the layers' defaults); mean sparse softmax cross-entropy; SGD with momentum (lr 0.01,
    /// momentum 0.9). One step = Session.Run fetching the loss with the train op as target; the same batch every step; model
    /// and optimizer re-initialized every <see cref="MlpResetEvery"/> steps outside the timed batches.</summary>
    public static BenchCase LeNet()
    {
        const int batch = CnnKeys.LeNetBatch;
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 32, 32, 1), "x");
        var y = g.Placeholder(DType.Int64, Shape.Of(-1), "y");
        Func<Tensor, Tensor> relu = t => g.Relu(t);
        var h = g.Conv2D(x, 6, 5, activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Conv2D(h, 16, 5, activation: relu);
        h = g.MaxPooling2D(h, 2);
        h = g.Flatten(h);
        h = g.Dense(h, 120, relu);
        h = g.Dense(h, 84, relu);
        var logits = g.Dense(h, 10);
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
        var train = new MomentumOptimizer(0.01, 0.9).Minimize(loss);
        var session = new Session(g);
        var init = g.GlobalVariablesInitializer();
        session.Run(init);
        var labels = new long[batch];
        for (int i = 0; i < batch; i++) labels[i] = (i * 7) % 10;
        var feeds = new[] { (x, NDArray.From(Uniform(batch * 32 * 32, 7, 0, 1), batch, 32, 32, 1)), (y, NDArray.From(labels, batch)) };
        Tensor[] fetches = [loss];
        Operation[] targets = [train];
        return new BenchCase
        {
            Key = CnnKeys.LeNet, Unit = "ms",
            Step = () => session.Run(fetches, feeds, targets)[0].Item<float>(),
            FromSeconds = s => s * 1e3,
            Reset = () => session.Run(init),
            ResetEvery = MlpResetEvery,
        };
    }

    /// <summary>One 3x3 convolution, [64, 32, 32, 16] → [64, 32, 32, 32], SAME, no bias: forward and both gradients of
    /// sum(y) (Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter), run as targets so nothing is copied out. Reported in
    /// GFLOP/s of the three convolutions (3 × 2·N·H·W·O·9·C).</summary>
    public static BenchCase Conv()
    {
        const int n = CnnKeys.ConvBatch, hw = CnnKeys.ConvHw, ci = CnnKeys.ConvIn, co = CnnKeys.ConvOut, k = CnnKeys.ConvK;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(n, hw, hw, ci), "x");
        var w = g.Placeholder(DType.Float32, Shape.Of(k, k, ci, co), "w");
        var yv = g.Conv2D(x, w, [1, 1, 1, 1], "SAME");
        var grads = g.Gradients([g.Sum(yv)], [x, w]);
        var session = new Session(g);
        var feeds = new[] { (x, NDArray.From(Uniform(n * hw * hw * ci, 8), n, hw, hw, ci)), (w, NDArray.From(Uniform(k * k * ci * co, 9, -0.2f, 0.2f), k, k, ci, co)) };
        Operation[] targets = [yv.Op, grads[0]!.Op, grads[1]!.Op];
        Tensor[] none = [];
        return new BenchCase
        {
            Key = CnnKeys.Conv, Unit = "GFLOP/s",
            Step = () => session.Run(none, feeds, targets),
            FromSeconds = s => 3 * CnnKeys.ConvForwardFlops / s / 1e9,
        };
    }
}
