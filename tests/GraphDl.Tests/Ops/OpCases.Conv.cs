using GraphDl.Ops;
using static GraphDl.Tests.Ops.ConvReference;
using static GraphDl.Tests.Ops.OpCase;

namespace GraphDl.Tests.Ops;

public static partial class OpCases
{
    static string Pad(bool same) => same ? "SAME" : "VALID";

    [OpCaseSource]
    static IEnumerable<OpCase> Conv()
    {
        // ---- Conv2D: odd sizes, strides 1 and 2, both paddings, dilation 2, and an asymmetric SAME case
        // (H=6, k=3, s=2: out 3, pad_total 1 -> 0 before, 1 after).
        var convs = new (string name, int[] x, int[] f, int s, int d, bool same)[]
        {
            ("s1_valid", [2, 5, 5, 2], [3, 3, 2, 3], 1, 1, false),
            ("s2_same_asymmetric", [1, 6, 7, 2], [3, 2, 2, 2], 2, 1, true),
            ("s1_same_dilation2", [1, 7, 6, 2], [3, 3, 2, 2], 1, 2, true),
            ("s2_valid_dilation2", [1, 7, 7, 1], [2, 3, 1, 2], 2, 2, false),
            ("s2_valid", [2, 7, 5, 3], [3, 3, 3, 2], 2, 1, false),
        };
        int seed = 200;
        foreach (var (name, xd, fd, s, d, same) in convs)
        {
            var geo = new Geo(xd[0], xd[1], xd[2], xd[3], fd[0], fd[1], fd[3], s, s, d, d, same);
            var x = Rand(seed++, -1, 1, xd);
            var f = Rand(seed++, -1, 1, fd);
            var dy = Rand(seed++, -1, 1, geo.OutDims);
            int[] st = [s, s], dl = [d, d];
            yield return new OpCase($"Conv2D_{name}", ConvOps.Conv2D, (g, t) => g.Conv2D(t[0], t[1], st, Pad(same), dl), [x, f])
            {
                Reference = v => ConvReference.Conv(geo, v[0], v[1]),
            };
            yield return new OpCase($"Conv2DBackpropInput_{name}", ConvOps.Conv2DBackpropInput,
                (g, t) => g.Conv2DBackpropInput(g.Const(NDArray.From(xd)), t[0], t[1], st, Pad(same), dl), [f, dy])
            {
                Reference = v => ConvBackpropInput(geo, v[0], v[1]),
            };
            yield return new OpCase($"Conv2DBackpropFilter_{name}", ConvOps.Conv2DBackpropFilter,
                (g, t) => g.Conv2DBackpropFilter(t[0], g.Const(NDArray.From(fd)), t[1], st, Pad(same), dl), [x, dy])
            {
                Reference = v => ConvBackpropFilter(geo, v[0], v[1]),
            };
        }

        // ---- pooling: strides 1 and 2, both paddings, odd sizes (SAME 5 with k2 s2: out 3, pad 0 before 1 after)
        var pools = new (string name, int[] x, int k, int s, bool same)[]
        {
            ("k2_s2_same", [1, 5, 5, 2], 2, 2, true),
            ("k3_s1_valid", [2, 5, 4, 2], 3, 1, false),
            ("k3_s2_same", [1, 5, 6, 3], 3, 2, true),
            ("k3_s2_valid", [1, 7, 5, 2], 3, 2, false),
            // 9 channels: whole SIMD vectors (float32 8, float64 4) plus a scalar tail, with overlapping windows.
            ("k3_s2_same_c9", [2, 5, 6, 9], 3, 2, true),
            // 8 channels: whole vectors only (the vector path); fewer channels take the row-at-once path above.
            ("k2_s2_valid_c8", [2, 4, 6, 8], 2, 2, false),
        };
        foreach (var (name, xd, k, s, same) in pools)
        {
            var geo = Pool(xd, k, s, same);
            // NOTE: distinct random values (no ties), so the argmax is stable under the finite-difference step.
            var x = Rand(seed++, -2, 2, xd);
            var y = Rand(seed++, -1, 1, geo.OutDims);
            var dy = Rand(seed++, -1, 1, geo.OutDims);
            var ddx = Rand(seed++, -1, 1, xd);
            int[] ks = [k, k], st = [s, s];
            var attrs = new Attrs { ["ksize"] = new[] { 1, k, k, 1 }, ["strides"] = new[] { 1, s, s, 1 }, ["padding"] = Pad(same), ["data_format"] = "NHWC" };
            yield return new OpCase($"MaxPool_{name}", PoolOps.MaxPool, (g, t) => g.MaxPool(t[0], ks, st, Pad(same)), [x])
            {
                Reference = v => ConvReference.MaxPool(geo, v[0]),
            };
            yield return new OpCase($"MaxPoolGrad_{name}", PoolOps.MaxPoolGrad, (g, t) => g.MaxPoolGrad(t[0], t[1], t[2], ks, st, Pad(same)), [x, y, dy])
            {
                Reference = v => ConvReference.MaxPoolGrad(geo, v[0], v[2]),
            };
            yield return new OpCase($"MaxPoolGradGrad_{name}", PoolOps.MaxPoolGradGrad, (g, t) => g.Add1(PoolOps.MaxPoolGradGrad, [t[0], t[1], t[2]], attrs), [x, y, ddx])
            {
                Reference = v => ConvReference.MaxPoolGradGrad(geo, v[0], v[2]),
            };
            yield return new OpCase($"AvgPool_{name}", PoolOps.AvgPool, (g, t) => g.AvgPool(t[0], ks, st, Pad(same)), [x])
            {
                Reference = v => ConvReference.AvgPool(geo, v[0]),
            };
            yield return new OpCase($"AvgPoolGrad_{name}", PoolOps.AvgPoolGrad, (g, t) => g.AvgPoolGrad(g.Const(NDArray.From(xd)), t[0], ks, st, Pad(same)), [dy])
            {
                Reference = v => ConvReference.AvgPoolGrad(geo, v[0]),
            };
        }

        // ---- second order through the whole chain: d/dx of sum((d/dx sum(maxpool(conv(x))²))²)
        var x2 = Rand(seed++, -1, 1, 1, 5, 5, 2);
        var f2 = Rand(seed++, -1, 1, 3, 3, 2, 2);
        yield return new OpCase("Conv2D_MaxPool_second_order", ConvOps.Conv2D, (g, t) =>
        {
            var yv = g.MaxPool(g.Conv2D(t[0], t[1], [1, 1], "SAME"), [2, 2], [2, 2], "SAME");
            var gx = g.Gradient(g.Sum(g.Square(yv)), t[0])!;
            return g.Square(gx);
        }, [x2, f2]);

        // ---- BiasAdd
        var v3 = Rand(seed++, -1, 1, 2, 3, 5);
        var b3 = Rand(seed++, -1, 1, 5);
        yield return new OpCase("BiasAdd", BiasOps.BiasAdd, (g, t) => g.BiasAdd(t[0], t[1]), [v3, b3])
        {
            Reference = v => v[0].Select((e, i) => e + v[1][i % 5]).ToArray(),
        };
        yield return new OpCase("BiasAddGrad", BiasOps.BiasAddGrad, (g, t) => g.BiasAddGrad(t[0]), [v3])
        {
            Reference = v => Enumerable.Range(0, 5).Select(c => v[0].Where((_, i) => i % 5 == c).Sum()).ToArray(),
        };

        // Several repeated-bias blocks plus a partial one (6 channels: blocks of 66), and a wide bias (20 channels).
        foreach (var (bn, vd) in new (string, int[])[] { ("c6_blocks", [4, 9, 6]), ("c20", [3, 2, 20]) })
        {
            int ch = vd[^1];
            var vv = Rand(seed++, -1, 1, vd);
            var bv = Rand(seed++, -1, 1, ch);
            yield return new OpCase($"BiasAdd_{bn}", BiasOps.BiasAdd, (g, t) => g.BiasAdd(t[0], t[1]), [vv, bv])
            {
                Reference = v => v[0].Select((e, i) => e + v[1][i % ch]).ToArray(),
            };
            yield return new OpCase($"BiasAddGrad_{bn}", BiasOps.BiasAddGrad, (g, t) => g.BiasAddGrad(t[0]), [vv])
            {
                Reference = v => Enumerable.Range(0, ch).Select(c => v[0].Where((_, i) => i % ch == c).Sum()).ToArray(),
            };
        }

        // ---- LRN (depth 7, radius 2: windows clipped at both ends)
        const int depth = 7, r = 2;
        const double bias = 1.5, alpha = 0.3, beta = 0.75;
        var lx = Rand(seed++, -1.5, 1.5, 1, 2, 2, depth);
        var ldy = Rand(seed++, -1, 1, 1, 2, 2, depth);
        yield return new OpCase("LRN", LrnOps.LRN, (g, t) => g.Lrn(t[0], r, bias, alpha, beta), [lx])
        {
            Reference = v => Lrn(v[0], depth, r, bias, alpha, beta),
        };
        yield return new OpCase("LRNGrad", LrnOps.LRNGrad, (g, t) =>
            g.Add1(LrnOps.LRNGrad, [t[0], t[1], g.Lrn(t[1], r, bias, alpha, beta)],
                new Attrs { ["depth_radius"] = r, ["bias"] = bias, ["alpha"] = alpha, ["beta"] = beta }), [ldy, lx])
        {
            NotDifferentiable = true,
            Reference = v => LrnGradRef(v[0], v[1], depth, r, bias, alpha, beta),
        };
    }

    /// <summary>dx_j = Σ_i dy_i ∂y_i/∂x_j with ∂y_i/∂x_j = δ_ij N_i^-β - 2αβ x_i x_j N_i^(-β-1) for |i - j| ≤ r.</summary>
    static double[] LrnGradRef(double[] dy, double[] x, int depth, int r, double bias, double alpha, double beta)
    {
        var dx = new double[x.Length];
        for (int o = 0; o < x.Length; o += depth)
            for (int i = 0; i < depth; i++)
            {
                double s = 0;
                for (int j = System.Math.Max(0, i - r); j <= System.Math.Min(depth - 1, i + r); j++) s += x[o + j] * x[o + j];
                double n = bias + alpha * s;
                for (int j = System.Math.Max(0, i - r); j <= System.Math.Min(depth - 1, i + r); j++)
                {
                    double jac = (i == j ? System.Math.Pow(n, -beta) : 0) - 2 * alpha * beta * x[o + i] * x[o + j] * System.Math.Pow(n, -beta - 1);
                    dx[o + j] += dy[o + i] * jac;
                }
            }
        return dx;
    }
}
