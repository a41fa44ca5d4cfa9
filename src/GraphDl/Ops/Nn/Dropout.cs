using GraphDl.Ops;

namespace GraphDl
{
    /// <summary>Dropout (TF's <c>tf.nn.dropout</c> with <c>rate</c>): a composition of a seeded uniform draw and a multiply.</summary>
    public static class DropoutBuilders
    {
        /// <summary>Keeps each element with probability <c>1 - rate</c>, scaled by <c>1 / (1 - rate)</c>, and zeroes the rest.
        /// The mask is drawn once per run as a tensor (so the gradient, <c>dy · mask</c>, uses the forward pass's mask),
        /// from the random-op seed scheme: a new mask every run, the same sequence for the same seeds, whatever the thread count.
        /// <paramref name="noiseShape"/> (broadcastable to x; -1 takes x's dim) shares one draw along its 1-dims.
        /// Rate 0 returns x itself; a rate outside [0, 1) is an error.</summary>
        public static Tensor Dropout(this Graph g, Tensor x, double rate, int? seed = null, int[]? noiseShape = null, string? name = null)
        {
            if (!(rate >= 0 && rate < 1))
                throw new GraphBuildException($"Dropout: rate must be in the range [0, 1), got {rate}{CallSite.Describe()}");
            CheckFloat(x);
            if (rate == 0) return x;
            using var _ = g.NameScope(name ?? "dropout");
            var keepMask = KeepMask(g, x, g.Scalar(rate, x.DType, "rate"), seed, noiseShape);
            var mask = g.Mul(keepMask, g.Scalar(1 / (1 - rate), x.DType, "scale"), "mask");
            return g.Mul(x, mask, "dropped");
        }

        /// <summary>Dropout with a run-time rate (a placeholder, so training and evaluation share a graph). The rate is not
        /// checked: a rate of 0 keeps everything; a rate of 1 gives NaN.</summary>
        public static Tensor Dropout(this Graph g, Tensor x, Tensor rate, int? seed = null, int[]? noiseShape = null, string? name = null)
        {
            CheckFloat(x);
            if (rate.DType != x.DType || (rate.Shape.HasRank && rate.Shape.Rank != 0))
                throw new GraphBuildException($"Dropout: rate must be a scalar of x's dtype {x.DType.Name()}, got {rate.DType.Name()} {rate.Shape}{CallSite.Describe()}");
            using var _ = g.NameScope(name ?? "dropout");
            var keepMask = KeepMask(g, x, rate, seed, noiseShape);
            var mask = g.Div(keepMask, 1 - rate, "mask");
            return g.Mul(x, mask, "dropped");
        }

        static void CheckFloat(Tensor x)
        {
            if (!x.DType.IsFloating())
                throw new GraphBuildException($"Dropout: x must be float32 or float64, got {x.DType.Name()} {x.Shape}{CallSite.Describe()}");
        }

        /// <summary>1 where the uniform draw is at least the rate (probability 1 - rate), else 0, in x's dtype.</summary>
        static Tensor KeepMask(Graph g, Tensor x, Tensor rate, int? seed, int[]? noiseShape)
        {
            Tensor shape;
            Shape? staticNoise = null;
            if (noiseShape == null)
            {
                shape = g.ShapeOf(x, "noise_shape");
                staticNoise = x.Shape;
            }
            else
            {
                var dims = (int[])noiseShape.Clone();
                var xs = x.Shape;
                if (xs.HasRank && dims.Length != xs.Rank)
                    throw new GraphBuildException($"Dropout: noise_shape {Shape.Format(noiseShape)} must have the rank of x {xs}{CallSite.Describe()}");
                for (int i = 0; i < dims.Length; i++)
                {
                    int xd = xs.HasRank ? xs[i] : -1;
                    if (dims[i] == -1 && xd >= 0) dims[i] = xd;
                    else if (dims[i] == -1)
                        throw new GraphBuildException($"Dropout: noise_shape {Shape.Format(noiseShape)} has -1 at dimension {i}, where x {xs} is unknown too{CallSite.Describe()}");
                    else if (dims[i] < 0 || (xd >= 0 && dims[i] != 1 && dims[i] != xd))
                        throw new GraphBuildException($"Dropout: noise_shape {Shape.Format(noiseShape)} does not broadcast to x {xs}{CallSite.Describe()}");
                }
                shape = g.Const(NDArray.From(dims), "noise_shape");
                staticNoise = new Shape(dims);
            }
            var (s1, s2) = RandomOps.Seeds(g, seed, "random_uniform");
            var u = g.Add1(RandomOps.RandomUniform, [shape], new Attrs { ["dtype"] = x.DType, ["seed"] = s1, ["seed2"] = s2, ["T"] = DType.Int32 }, "random_uniform");
            u.SetShape(staticNoise);
            return g.Cast(g.GreaterEqual(u, rate), x.DType, "keep_mask");
        }
    }
}
