using Bench;
using GraphDl;
using GraphDl.Devices.Cpu;
using GraphDl.Train;
using static Bench.Harness;

// GraphDl worker: `GraphDlBench <group> [--warmup S] [--measure S]`, prints the Harness line protocol.
if (args.Length == 0 || !Groups.Contains(args[0]) && args[0] != "profile")
{
    Console.Error.WriteLine($"usage: GraphDlBench <{string.Join('|', Groups)}> [--warmup S] [--measure S]  |  GraphDlBench profile [--measure S] [--kernels]");
    return 2;
}
if (args[0] == "profile") return Bench.GraphDlSide.Profile.Run(args);
var (warmup, measure) = Options(args);

// Idle: the runtime and the engine loaded, one trivial run done, nothing of the benchmark built yet.
{
    var g0 = new Graph();
    var one = g0.Const(NDArray.From(new float[] { 1 }));
    using var s0 = new Session(g0);
    s0.Run(g0.Add(one, one));
}
MarkIdle();

var cases = args[0] switch
{
    "sgemm256" => Bench.GraphDlSide.Cases.Sgemm(256),
    "sgemm512" => Bench.GraphDlSide.Cases.Sgemm(512),
    "sgemm1024" => Bench.GraphDlSide.Cases.Sgemm(1024),
    "sgemm2048" => Bench.GraphDlSide.Cases.Sgemm(2048),
    "mlp64" => [Bench.GraphDlSide.Cases.Mlp(64)],
    "mlp256" => [Bench.GraphDlSide.Cases.Mlp(256)],
    "logreg" => [Bench.GraphDlSide.Cases.LogReg().Case],
    "lstm" => [Bench.GraphDlSide.RnnCases.Lstm()],
    "chain" => [Bench.GraphDlSide.Cases.Chain().Case],
    "lenet" => [Bench.GraphDlSide.CnnCases.LeNet()],
    "conv" => [Bench.GraphDlSide.CnnCases.Conv()],
    _ => throw new InvalidOperationException(),
};
Harness.Run(cases, warmup, measure);
return 0;

namespace Bench.GraphDlSide
{
    /// <summary>The GraphDl rows.</summary>
    public static unsafe class Cases
    {
        /// <summary>n×n×n SGEMM through Session.Run (MatMul of two fed placeholders, run as a target so no result is copied out)
        /// and through the raw Gemm.Sgemm call, on 1 and 2 threads.</summary>
        public static List<BenchCase> Sgemm(int n)
        {
            var a = Uniform(n * n, 1);
            var b = Uniform(n * n, 2);
            var c = new float[n * n];
            double flops = 2.0 * n * n * n;
            var list = new List<BenchCase>();
            foreach (int threads in new[] { 1, 2 })
            {
                var g = new Graph();
                var pa = g.Placeholder(DType.Float32, Shape.Of(n, n), "a");
                var pb = g.Placeholder(DType.Float32, Shape.Of(n, n), "b");
                var mm = g.MatMul(pa, pb);
                var session = new Session(g, new SessionOptions { IntraOpThreads = threads });
                var feeds = new[] { (pa, NDArray.From(a, n, n)), (pb, NDArray.From(b, n, n)) };
                Operation[] targets = [mm.Op];
                Tensor[] none = [];
                list.Add(new BenchCase
                {
                    Key = Keys.Sgemm(n, threads), Variant = "Session MatMul", Unit = "GFLOP/s",
                    Step = () => session.Run(none, feeds, targets),
                    FromSeconds = s => flops / s / 1e9,
                });
                var pool = threads == 1 ? null : new WorkerPool(threads);
                list.Add(new BenchCase
                {
                    Key = Keys.Sgemm(n, threads), Variant = "raw Gemm.Sgemm", Unit = "GFLOP/s",
                    Step = () =>
                    {
                        fixed (float* pA = a, pB = b, pC = c)
                            Gemm.Sgemm(false, false, n, n, n, 1f, pA, n, pB, n, 0f, pC, n, pool);
                    },
                    FromSeconds = s => flops / s / 1e9,
                });
            }
            return list;
        }

        /// <summary>MLP 784-256-128-10 (ReLU), Glorot-uniform kernels and zero biases (Dense's defaults), mean sparse softmax
        /// cross-entropy, Adam (lr 1e-3); one step = Session.Run fetching the loss with the train op as target; same batch fed every step;
        /// model and optimizer re-initialized every <see cref="MlpResetEvery"/> steps, outside the timed batches.</summary>
        public static BenchCase Mlp(int batch)
        {
            var g = new Graph { Seed = 1 };
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, 784), "x");
            var y = g.Placeholder(DType.Int64, Shape.Of(-1), "y");
            var h1 = g.Dense(x, 256, t => g.Relu(t));
            var h2 = g.Dense(h1, 128, t => g.Relu(t));
            var logits = g.Dense(h2, 10);
            var loss = g.SparseSoftmaxCrossEntropyLoss(y, logits);
            var train = new AdamOptimizer(1e-3).Minimize(loss);
            var session = new Session(g);
            var init = g.GlobalVariablesInitializer();
            session.Run(init);
            var labels = new long[batch];
            for (int i = 0; i < batch; i++) labels[i] = (i * 7) % 10;
            var feeds = new[] { (x, NDArray.From(Uniform(batch * 784, 3, 0, 1), batch, 784)), (y, NDArray.From(labels, batch)) };
            Tensor[] fetches = [loss];
            Operation[] targets = [train];
            float last = 0;
            return new BenchCase
            {
                Key = Keys.Mlp(batch), Unit = "ms",
                Step = () => last = session.Run(fetches, feeds, targets)[0].Item<float>(),
                FromSeconds = s => s * 1e3,
                Reset = () => session.Run(init), // new Glorot draws, zero biases, fresh Adam slots and beta powers
                ResetEvery = MlpResetEvery,
            };
        }

        /// <summary>The logistic-regression step: 64 features, batch 32, zero-initialized weights, mean sigmoid cross-entropy,
        /// gradient descent at 0.1; every step copies a fresh batch into the fed arrays (as TorchSharp copies its batch into a
        /// new tensor) and fetches the loss.</summary>
        public static (BenchCase Case, Session Session, Func<float> Step, Tensor Loss, Operation Train, (Tensor, NDArray)[] Feeds) LogReg()
        {
            const int Features = 64, Batch = 32, Batches = 16;
            var g = new Graph { Seed = 1 };
            var x = g.Placeholder(DType.Float32, Shape.Of(-1, Features), "x");
            var y = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
            var w = g.Variable(NDArray.Zeros(DType.Float32, Features, 1), "w");
            var b = g.Variable(NDArray.Zeros(DType.Float32, 1), "b");
            var logits = g.MatMul(x, w) + b;
            var loss = g.Mean(g.SigmoidCrossEntropyWithLogits(y, logits));
            var train = new GradientDescentOptimizer(0.1).Minimize(loss);
            var session = new Session(g);
            session.Run(g.GlobalVariablesInitializer());
            var (xs, ys) = LogRegData(Features, Batch, Batches);
            var xFeed = NDArray.Zeros(DType.Float32, Batch, Features);
            var yFeed = NDArray.Zeros(DType.Float32, Batch, 1);
            var feeds = new[] { (x, xFeed), (y, yFeed) };
            Tensor[] fetches = [loss];
            Operation[] targets = [train];
            int k = 0;
            float Step()
            {
                xs[k].CopyTo(xFeed.AsSpan<float>());
                ys[k].CopyTo(yFeed.AsSpan<float>());
                k = (k + 1) % Batches;
                return session.Run(fetches, feeds, targets)[0].Item<float>();
            }
            return (new BenchCase { Key = Keys.LogReg, Unit = "us", Step = () => Step(), FromSeconds = s => s * 1e6 }, session, Step,
                loss, train, feeds);
        }

        /// <summary>Separable-ish data for the logistic-regression row, the same on both engines.</summary>
        public static (float[][] X, float[][] Y) LogRegData(int features, int batch, int batches)
        {
            var xs = new float[batches][];
            var ys = new float[batches][];
            var wTrue = Uniform(features, 99);
            for (int k = 0; k < batches; k++)
            {
                xs[k] = Uniform(batch * features, (ulong)(100 + k));
                ys[k] = new float[batch];
                for (int i = 0; i < batch; i++)
                {
                    float dot = 0;
                    for (int j = 0; j < features; j++) dot += xs[k][i * features + j] * wTrue[j];
                    ys[k][i] = dot > 0 ? 1 : 0;
                }
            }
            return (xs, ys);
        }

        /// <summary>A chain of 100 elementwise ops on 16 floats (Mul, Add, Tanh, Sub with a second fed 16-float tensor, by i mod 4),
        /// the result fetched; reported per op. GraphDl has no fusion yet; when it gets one, this row must run with it switched off.</summary>
        public static (BenchCase Case, Session Session, Func<NDArray> Step, Tensor Result, (Tensor, NDArray)[] Feeds) Chain()
        {
            var g = new Graph();
            var x = g.Placeholder(DType.Float32, Shape.Of(16), "x");
            var y = g.Placeholder(DType.Float32, Shape.Of(16), "y");
            var t = x;
            for (int i = 0; i < ChainLength; i++)
                t = (i % 4) switch { 0 => g.Mul(t, y), 1 => g.Add(t, y), 2 => g.Tanh(t), _ => g.Sub(t, y) };
            var session = new Session(g);
            var feeds = new[] { (x, NDArray.From(Uniform(16, 5))), (y, NDArray.From(Uniform(16, 6, 0.25f, 0.75f))) };
            Tensor[] fetches = [t];
            NDArray Step() => session.Run(fetches, feeds)[0];
            return (new BenchCase { Key = Keys.Chain, Unit = "us/op", Step = () => Step(), FromSeconds = s => s * 1e6 / ChainLength },
                session, Step, t, feeds);
        }
    }
}
