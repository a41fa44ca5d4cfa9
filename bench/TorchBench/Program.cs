using Bench;
using TorchSharp;
using static Bench.Harness;
using static TorchSharp.torch;

// TorchSharp worker: `TorchBench <group> [--warmup S] [--measure S]`, prints the Harness line protocol.
// Runs only through the bench driver, which applies the Debian 12 work-around (bench/tools/torchsharp-compat).
if (args.Length == 0 || !Groups.Contains(args[0]))
{
    Console.Error.WriteLine($"usage: TorchBench <{string.Join('|', Groups)}> [--warmup S] [--measure S]");
    return 2;
}
var (warmup, measure) = Options(args);

// Idle: LibTorch loaded and one trivial op run, nothing of the benchmark built yet.
torch.set_num_threads(Environment.ProcessorCount);
using (var one = torch.ones(1)) using (var two = one + one) { }
MarkIdle();

var cases = args[0] switch
{
    "sgemm256" => Bench.TorchSide.Cases.Sgemm(256),
    "sgemm512" => Bench.TorchSide.Cases.Sgemm(512),
    "sgemm1024" => Bench.TorchSide.Cases.Sgemm(1024),
    "sgemm2048" => Bench.TorchSide.Cases.Sgemm(2048),
    "mlp64" => [Bench.TorchSide.Cases.Mlp(64)],
    "mlp256" => [Bench.TorchSide.Cases.Mlp(256)],
    "logreg" => [Bench.TorchSide.Cases.LogReg()],
    "lstm" => [Bench.TorchSide.RnnCases.Lstm()],
    "chain" => [Bench.TorchSide.Cases.Chain()],
    "lenet" => [Bench.TorchSide.CnnCases.LeNet()],
    "conv" => [Bench.TorchSide.CnnCases.Conv()],
    _ => throw new InvalidOperationException(),
};
Harness.Run(cases, warmup, measure);
return 0;

namespace Bench.TorchSide
{
    /// <summary>The TorchSharp rows, written as a TorchSharp user would (eager ops, a dispose scope per step).</summary>
    public static class Cases
    {
        /// <summary>torch.mm of two n×n float tensors under no_grad, with torch.set_num_threads(1 or 2).</summary>
        public static List<BenchCase> Sgemm(int n)
        {
            var a = torch.tensor(Uniform(n * n, 1), [n, n]);
            var b = torch.tensor(Uniform(n * n, 2), [n, n]);
            double flops = 2.0 * n * n * n;
            var list = new List<BenchCase>();
            foreach (int threads in new[] { 1, 2 })
                list.Add(new BenchCase
                {
                    Key = Keys.Sgemm(n, threads), Unit = "GFLOP/s",
                    Enter = () => torch.set_num_threads(threads),
                    Step = () =>
                    {
                        using var _ = torch.no_grad();
                        using var c = torch.mm(a, b);
                    },
                    FromSeconds = s => flops / s / 1e9,
                });
            return list;
        }

        /// <summary>MLP 784-256-128-10 (ReLU) with Glorot-uniform weights and zero biases, cross-entropy, Adam (lr 1e-3);
        /// one step = zero_grad, forward, backward, step, loss.item(); same batch every step; model and optimizer
        /// re-initialized every <see cref="MlpResetEvery"/> steps, outside the timed batches.</summary>
        public static BenchCase Mlp(int batch)
        {
            torch.manual_seed(1);
            var model = nn.Sequential(
                ("fc1", nn.Linear(784, 256)), ("relu1", nn.ReLU()),
                ("fc2", nn.Linear(256, 128)), ("relu2", nn.ReLU()),
                ("fc3", nn.Linear(128, 10)));
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
            var opt = torch.optim.Adam(model.parameters(), lr: 1e-3);
            var x = torch.tensor(Uniform(batch * 784, 3, 0, 1), [batch, 784]);
            var labels = new long[batch];
            for (int i = 0; i < batch; i++) labels[i] = (i * 7) % 10;
            var y = torch.tensor(labels, [batch]);
            torch.set_num_threads(Environment.ProcessorCount);
            float last = 0;
            return new BenchCase
            {
                Key = Keys.Mlp(batch), Unit = "ms",
                Step = () =>
                {
                    using var scope = torch.NewDisposeScope();
                    opt.zero_grad();
                    var logits = model.forward(x);
                    var loss = nn.functional.cross_entropy(logits, y);
                    loss.backward();
                    opt.step();
                    last = loss.item<float>();
                },
                FromSeconds = s => s * 1e3,
                Reset = () =>
                {
                    // New Glorot draws, zero biases, and a new Adam (empty moments, step count 0).
                    Init();
                    opt.Dispose();
                    opt = torch.optim.Adam(model.parameters(), lr: 1e-3);
                },
                ResetEvery = MlpResetEvery,
            };
        }

        /// <summary>Logistic regression, 64 features, batch 32: zero-initialized w [64,1] and b [1], mean binary cross-entropy
        /// with logits, SGD at 0.1; every step copies a fresh batch into new tensors and fetches the loss.</summary>
        public static BenchCase LogReg()
        {
            const int Features = 64, Batch = 32, Batches = 16;
            var (xs, ys) = LogRegData(Features, Batch, Batches);
            var w = nn.Parameter(torch.zeros([Features, 1]));
            var b = nn.Parameter(torch.zeros([1]));
            var opt = torch.optim.SGD([w, b], 0.1);
            int k = 0;
            return new BenchCase
            {
                Key = Keys.LogReg, Unit = "us",
                Step = () =>
                {
                    using var scope = torch.NewDisposeScope();
                    var x = torch.tensor(xs[k], [Batch, Features]);
                    var y = torch.tensor(ys[k], [Batch, 1]);
                    k = (k + 1) % Batches;
                    opt.zero_grad();
                    var logits = torch.mm(x, w) + b;
                    var loss = nn.functional.binary_cross_entropy_with_logits(logits, y);
                    loss.backward();
                    opt.step();
                    loss.item<float>();
                },
                FromSeconds = s => s * 1e6,
            };
        }

        /// <summary>The same data as the GraphDl side.</summary>
        static (float[][] X, float[][] Y) LogRegData(int features, int batch, int batches)
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

        /// <summary>100 eager elementwise ops on 16 floats (Mul, Add, Tanh, Sub with a second tensor, by i mod 4) under no_grad,
        /// the result copied out; reported per op.</summary>
        public static BenchCase Chain()
        {
            var x = torch.tensor(Uniform(16, 5), [16]);
            var y = torch.tensor(Uniform(16, 6, 0.25f, 0.75f), [16]);
            var result = new float[16];
            return new BenchCase
            {
                Key = Keys.Chain, Unit = "us/op",
                Step = () =>
                {
                    using var scope = torch.NewDisposeScope();
                    using var _ = torch.no_grad();
                    var t = x;
                    for (int i = 0; i < ChainLength; i++)
                        t = (i % 4) switch { 0 => t.mul(y), 1 => t.add(y), 2 => t.tanh(), _ => t.sub(y) };
                    t.data<float>().CopyTo(result, 0);
                },
                FromSeconds = s => s * 1e6 / ChainLength,
            };
        }
    }
}
