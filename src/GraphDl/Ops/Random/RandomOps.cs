using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Ops
{
    /// <summary>Counter-based random numbers: element i of run r of an op depends only on (seed, r, i), so results are
    /// the same whatever the thread count, and each run of the op draws new numbers.</summary>
    public static class RandomOps
    {
        internal static ulong Mix(ulong z)
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }

        /// <summary>Uniform double in (0, 1): never exactly 0, so logs are safe.</summary>
        internal static double Uniform(ulong stream, long i) => ((Mix(stream ^ Mix((ulong)i)) >> 11) + 0.5) * (1.0 / (1UL << 53));

        /// <summary>The per-run stream of a node: its seeds and how many times it ran.</summary>
        internal static ulong Stream(KernelContext c) =>
            Mix((ulong)c.Attrs.Long("seed") * 0x100000001B3UL ^ Mix((ulong)c.Attrs.Long("seed2")) ^ Mix((ulong)c.RunCounter + 0x5851F42D4C957F2DUL));

        internal static double Normal(ulong stream, long i)
        {
            double u1 = Uniform(stream, 2 * i), u2 = Uniform(stream, 2 * i + 1);
            return Math.Sqrt(-2 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2);
        }

        internal static double Truncated(ulong stream, long i)
        {
            // NOTE: redraw outside two standard deviations, as TF's TruncatedNormal does.
            for (ulong attempt = 0; ; attempt++)
            {
                double z = Normal(stream ^ Mix(attempt * 0xD1B54A32D192ED03UL), i);
                if (Math.Abs(z) <= 2) return z;
            }
        }

        static OpDef Sampler(string name, Func<ulong, long, double> draw) => new()
        {
            Name = name, Grad = null, Stateful = true,
            Infer = c =>
            {
                return InferContext.One(c.Attrs.DType("dtype"), c.AsShape(0));
            },
            Cpu = c =>
            {
                var y = c.Output(0, c.Input(0).AsSpan<int>(), c.Attrs.DType("dtype"));
                var stream = Stream(c);
                if (y.DType == DType.Float32) { var s = y.AsSpan<float>(); for (int i = 0; i < s.Length; i++) s[i] = (float)draw(stream, i); }
                else { var s = y.AsSpan<double>(); for (int i = 0; i < s.Length; i++) s[i] = draw(stream, i); }
            },
        };

        /// <summary>Uniform in [0, 1).</summary>
        public static readonly OpDef RandomUniform = Sampler("RandomUniform", (s, i) => Math.Min(Uniform(s, i), 1 - 1e-16));
        /// <summary>Standard normal.</summary>
        public static readonly OpDef RandomStandardNormal = Sampler("RandomStandardNormal", Normal);
        /// <summary>Standard normal truncated to two standard deviations.</summary>
        public static readonly OpDef TruncatedNormal = Sampler("TruncatedNormal", Truncated);

        /// <summary>Shuffles along the first dimension (a new permutation every run).</summary>
        public static readonly OpDef RandomShuffle = new()
        {
            Name = "RandomShuffle", Grad = null, Stateful = true,
            Infer = c => InferContext.One(c.DType(0), c.Shape(0)),
            Cpu = c =>
            {
                var x = c.Input(0);
                var y = c.Output(0, x.Dims);
                int n = x.Rank == 0 ? 1 : x.Dims[0];
                int row = n == 0 ? 0 : x.Size / n;
                var stream = Stream(c);
                var perm = new int[n];
                for (int i = 0; i < n; i++) perm[i] = i;
                for (int i = n - 1; i > 0; i--)
                {
                    int j = (int)(Uniform(stream, i) * (i + 1));
                    (perm[i], perm[j]) = (perm[j], perm[i]);
                }
                for (int i = 0; i < n; i++) Array.Copy(x.data, perm[i] * row, y.data, i * row, row);
            },
        };

        /// <summary>The (seed, seed2) pair of a new random op: from the graph seed and the op seed, or the op name.</summary>
        internal static (long, long) Seeds(Graph g, int? opSeed, string name)
        {
            long graphSeed = g.Seed ?? 0;
            long second = opSeed ?? (long)(Mix(Fnv(g.CurrentScope + name)) & 0x7FFFFFFF);
            return (graphSeed, second);
        }

        static ulong Fnv(string s)
        {
            ulong h = 0xCBF29CE484222325UL;
            foreach (char ch in s) { h ^= ch; h *= 0x100000001B3UL; }
            return h;
        }
    }
}

namespace GraphDl
{
    /// <summary>Builders for random ops. Seeds come from the graph seed and the op seed (or the op's name).</summary>
    public static class RandomBuilders
    {
        static Tensor Sample(Graph g, Ops.OpDef def, Shape shape, DType dtype, int? seed, string name)
        {
            var (s1, s2) = RandomOps.Seeds(g, seed, name);
            return g.Add1(def, [g.Const(NDArray.From(shape.Dims), "shape")], new Attrs { ["dtype"] = dtype, ["seed"] = s1, ["seed2"] = s2 }, name);
        }

        /// <summary>Uniform in [minval, maxval).</summary>
        public static Tensor RandomUniform(this Graph g, Shape shape, double minval = 0, double maxval = 1, DType dtype = DType.Float32, int? seed = null, string? name = null)
        {
            using var _ = g.NameScope(name ?? "random_uniform");
            var u = Sample(g, RandomOps.RandomUniform, shape, dtype, seed, "RandomUniform");
            return minval == 0 && maxval == 1 ? u : u * (maxval - minval) + minval;
        }

        /// <summary>Normal with the given mean and standard deviation.</summary>
        public static Tensor RandomNormal(this Graph g, Shape shape, double mean = 0, double stddev = 1, DType dtype = DType.Float32, int? seed = null, string? name = null)
        {
            using var _ = g.NameScope(name ?? "random_normal");
            var z = Sample(g, RandomOps.RandomStandardNormal, shape, dtype, seed, "RandomStandardNormal");
            return z * stddev + mean;
        }

        /// <summary>Normal truncated to two standard deviations around the mean.</summary>
        public static Tensor TruncatedNormal(this Graph g, Shape shape, double mean = 0, double stddev = 1, DType dtype = DType.Float32, int? seed = null, string? name = null)
        {
            using var _ = g.NameScope(name ?? "truncated_normal");
            var z = Sample(g, RandomOps.TruncatedNormal, shape, dtype, seed, "TruncatedNormal");
            return z * stddev + mean;
        }

        /// <summary>Shuffles along the first dimension.</summary>
        public static Tensor RandomShuffle(this Graph g, Tensor x, int? seed = null, string? name = null)
        {
            var (s1, s2) = RandomOps.Seeds(g, seed, name ?? "RandomShuffle");
            return g.Add1(RandomOps.RandomShuffle, [x], new Attrs { ["seed"] = s1, ["seed2"] = s2 }, name);
        }
    }
}
