using GraphDl.Ops;

namespace GraphDl.Cuda.Parity;

/// <summary>The CNN op family's parity cases: NHWC, batch 0-3, odd heights and widths, 1, 3 and 5 channels, SAME and
/// VALID, strides 1 and 2 (dilation 2 for conv). Tolerances: BiasAdd and every pooling op are bit-exact
/// (<see cref="Family.Data"/>: the GPU kernels add in the CPU kernels' order, and max-pool gradient ties go to the first
/// maximal position as on the CPU); BiasAddGrad is a parallel column sum (<see cref="Family.Reduction"/>, rtol 1e-5,
/// atol 1e-5); LRN and LRNGrad use pow (<see cref="Family.Transcendental"/>, rtol 1e-5,
/// atol 1e-6); the convolutions sum in another order (<see cref="Family.Conv"/>, rtol 1e-5, atol 1e-5).</summary>
public static partial class ParityCases
{
    static IEnumerable<ParityCase> Cnn()
    {
        // ---- BiasAdd / BiasAddGrad: 1, 3, 5 channels, and 33 channels over 100 rows (BiasAddGrad's column path in row
        // chunks: at least 32 channels and 64 rows; the tree path for few channels over many rows is in the Sum cases).
        foreach (var dims in new[] { new[] { 2, 5, 3, 3 }, [3, 3, 5, 1], [1, 7, 5, 5], [7, 17], [0, 3, 3, 5], [4, 25, 33] })
        {
            string shape = Shape.Format(dims) + (dims[0] == 0 ? " empty batch" : "");
            yield return C($"BiasAdd {shape}", BiasOps.BiasAdd, Family.Data, (g, t) => g.BiasAdd(t[0], t[1]), Rand(dims), Rand(dims[^1]));
            yield return C($"BiasAddGrad {shape}", BiasOps.BiasAddGrad, Family.Reduction, (g, t) => g.BiasAddGrad(t[0]), Rand(dims));
        }
        yield return C("BiasAddGrad [3,5,7,1]", BiasOps.BiasAddGrad, Family.Reduction, (g, t) => g.BiasAddGrad(t[0]), Rand(3, 5, 7, 1));

        // ---- pooling: SAME and VALID, strides 1 and 2, square and oblong windows; "ties" draws from {1, 2, 3}, so most windows
        // hold their maximum more than once (the gradient must go to the first one, in row-major order, as on the CPU).
        var pools = new (int[] x, int[] k, int[] s, bool same, bool ties)[]
        {
            ([2, 5, 7, 3], [3, 3], [2, 2], true, false),
            ([1, 7, 5, 5], [3, 3], [1, 1], false, false),
            ([3, 5, 5, 1], [2, 2], [2, 2], false, false),
            ([1, 6, 7, 3], [2, 2], [1, 1], true, false),
            ([1, 5, 7, 3], [2, 3], [2, 1], true, false),
            ([2, 5, 7, 3], [3, 3], [2, 2], true, true),
            ([1, 7, 5, 5], [3, 3], [1, 1], false, true),
            ([0, 5, 5, 3], [3, 3], [2, 2], true, false),
        };
        foreach (var (xd, k, st, same, ties) in pools)
        {
            string pad = same ? "SAME" : "VALID";
            string name = $"{Shape.Format(xd)} k{k[0]}x{k[1]} s{st[0]}x{st[1]} {pad}{(ties ? " ties" : "")}{(xd[0] == 0 ? " empty batch" : "")}";
            int[] yd = [xd[0], ConvPadding.Compute(xd[1], k[0], st[0], 1, same).Out, ConvPadding.Compute(xd[2], k[1], st[1], 1, same).Out, xd[3]];
            var attrs = new Attrs { ["ksize"] = new[] { 1, k[0], k[1], 1 }, ["strides"] = new[] { 1, st[0], st[1], 1 }, ["padding"] = pad, ["data_format"] = "NHWC" };
            var x = ties ? Ties(xd) : Rand(xd);
            yield return C($"MaxPool {name}", PoolOps.MaxPool, Family.Data, (g, t) => g.MaxPool(t[0], k, st, pad), x);
            yield return C($"MaxPoolGrad {name}", PoolOps.MaxPoolGrad, Family.Data,
                (g, t) => g.MaxPoolGrad(t[0], g.MaxPool(t[0], k, st, pad), t[1], k, st, pad), x, Rand(yd));
            yield return C($"MaxPoolGradGrad {name}", PoolOps.MaxPoolGradGrad, Family.Data,
                (g, t) => g.AddOp(PoolOps.MaxPoolGradGrad, [t[0], g.MaxPool(t[0], k, st, pad), t[1]], attrs).Outputs[0], x, Rand(xd));
            if (ties) continue;
            yield return C($"AvgPool {name}", PoolOps.AvgPool, Family.Data, (g, t) => g.AvgPool(t[0], k, st, pad), x);
            yield return C($"AvgPoolGrad {name}", PoolOps.AvgPoolGrad, Family.Data,
                (g, t) => g.AvgPoolGrad(g.Const(NDArray.From(xd)), t[0], k, st, pad), Rand(yd));
        }

        // ---- LRN / LRNGrad: radius clipped at both ends, radius past the depth, one channel, an empty batch.
        var lrns = new (int[] x, int r, double bias, double alpha, double beta)[]
        {
            ([2, 3, 5, 5], 2, 1.5, 0.3, 0.75),
            ([1, 5, 3, 3], 1, 1, 1, 0.5),
            ([3, 3, 1, 1], 5, 2, 0.5, 0.6),
            ([1, 3, 3, 7], 5, 1, 1e-2, 0.75),
            ([0, 3, 3, 5], 2, 1, 1, 0.5),
        };
        foreach (var (xd, r, bias, alpha, beta) in lrns)
        {
            string name = $"{Shape.Format(xd)} r{r} bias {bias} alpha {alpha} beta {beta}{(xd[0] == 0 ? " empty batch" : "")}";
            var attrs = new Attrs { ["depth_radius"] = r, ["bias"] = bias, ["alpha"] = alpha, ["beta"] = beta };
            var x = Rand(xd);
            yield return C($"LRN {name}", LrnOps.LRN, Family.Transcendental, (g, t) => g.Lrn(t[0], r, bias, alpha, beta), x);
            yield return C($"LRNGrad {name}", LrnOps.LRNGrad, Family.Transcendental,
                (g, t) => g.AddOp(LrnOps.LRNGrad, [t[1], t[0], g.Lrn(t[0], r, bias, alpha, beta)], attrs).Outputs[0], x, Rand(xd));
        }

        // ---- Conv2D and its two gradients: 1, 3, 5 in/out channels, SAME (symmetric and asymmetric padding) and VALID,
        // strides 1 and 2 (also unequal), dilation 2, an empty batch. Inputs in [-1, 1].
        var convs = new (int[] x, int[] f, int[] st, int[] dl, bool same)[]
        {
            ([2, 5, 7, 3], [3, 3, 3, 5], [1, 1], [1, 1], true),
            ([1, 7, 5, 1], [3, 3, 1, 3], [2, 2], [1, 1], false),
            ([3, 5, 5, 5], [2, 3, 5, 1], [2, 2], [1, 1], true),
            ([1, 7, 7, 3], [3, 3, 3, 3], [1, 1], [2, 2], true),
            ([2, 7, 5, 1], [2, 2, 1, 5], [2, 2], [2, 2], false),
            ([1, 6, 7, 3], [3, 2, 3, 3], [2, 1], [1, 1], true),
            ([0, 5, 5, 3], [3, 3, 3, 5], [1, 1], [1, 1], true),
        };
        foreach (var (xd, fd, st, dl, same) in convs)
        {
            string pad = same ? "SAME" : "VALID";
            string name = $"{Shape.Format(xd)} * {Shape.Format(fd)} s{st[0]}x{st[1]} d{dl[0]} {pad}{(xd[0] == 0 ? " empty batch" : "")}";
            int[] yd = [xd[0], ConvPadding.Compute(xd[1], fd[0], st[0], dl[0], same).Out, ConvPadding.Compute(xd[2], fd[1], st[1], dl[1], same).Out, fd[3]];
            var (x, f, dy) = (RandIn(-1, 1, xd), RandIn(-1, 1, fd), RandIn(-1, 1, yd));
            yield return C($"Conv2D {name}", ConvOps.Conv2D, Family.Conv, (g, t) => g.Conv2D(t[0], t[1], st, pad, dl), x, f);
            yield return C($"Conv2DBackpropInput {name}", ConvOps.Conv2DBackpropInput, Family.Conv,
                (g, t) => g.Conv2DBackpropInput(g.Const(NDArray.From(xd)), t[0], t[1], st, pad, dl), f, dy);
            yield return C($"Conv2DBackpropFilter {name}", ConvOps.Conv2DBackpropFilter, Family.Conv,
                (g, t) => g.Conv2DBackpropFilter(t[0], g.Const(NDArray.From(fd)), t[1], st, pad, dl), x, dy);
        }
    }

    /// <summary>Values drawn from {1, 2, 3}: pooling windows with repeated maxima.</summary>
    static NDArray Ties(params int[] dims)
    {
        var r = new Random(seed++);
        int n = dims.Aggregate(1, (a, b) => a * b);
        return NDArray.From(Enumerable.Range(0, n).Select(_ => (float)(1 + r.Next(3))).ToArray(), dims);
    }
}
