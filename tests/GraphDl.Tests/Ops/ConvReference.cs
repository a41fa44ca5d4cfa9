using GraphDl.Ops;

namespace GraphDl.Tests.Ops;

/// <summary>Naive float64 references for convolution and pooling in NHWC (loops straight from the definitions).</summary>
public static class ConvReference
{
    public sealed record Geo(int N, int H, int W, int C, int KH, int KW, int O, int SH, int SW, int DH, int DW, bool Same)
    {
        public (int oh, int pt) RowsOut => ConvPadding.Compute(H, KH, SH, DH, Same);
        public (int ow, int pl) ColsOut => ConvPadding.Compute(W, KW, SW, DW, Same);
        public int OH => RowsOut.oh;
        public int OW => ColsOut.ow;
        public int[] OutDims => [N, OH, OW, O];
        public int X(int n, int h, int w, int c) => ((n * H + h) * W + w) * C + c;
        public int Y(int n, int h, int w, int o) => ((n * OH + h) * OW + w) * O + o;
        public int F(int kh, int kw, int c, int o) => ((kh * KW + kw) * C + c) * O + o;

        /// <summary>Calls <paramref name="visit"/>(xIndex, fIndex, yIndex) for every in-bounds product of the convolution.</summary>
        public void ForEachTap(Action<int, int, int> visit)
        {
            int pt = RowsOut.pt, pl = ColsOut.pl;
            for (int n = 0; n < N; n++)
            for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
            for (int kh = 0; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++)
            {
                int ih = oh * SH - pt + kh * DH, iw = ow * SW - pl + kw * DW;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                for (int c = 0; c < C; c++)
                for (int o = 0; o < O; o++)
                    visit(X(n, ih, iw, c), F(kh, kw, c, o), Y(n, oh, ow, o));
            }
        }

        /// <summary>Pooling windows: (yIndex without channel, list of in-bounds x indexes without channel).</summary>
        public IEnumerable<(int n, int oh, int ow, List<(int h, int w)> taps)> Windows()
        {
            int pt = RowsOut.pt, pl = ColsOut.pl;
            for (int n = 0; n < N; n++)
            for (int oh = 0; oh < OH; oh++)
            for (int ow = 0; ow < OW; ow++)
            {
                var taps = new List<(int, int)>();
                for (int kh = 0; kh < KH; kh++)
                for (int kw = 0; kw < KW; kw++)
                {
                    int ih = oh * SH - pt + kh, iw = ow * SW - pl + kw;
                    if (ih >= 0 && ih < H && iw >= 0 && iw < W) taps.Add((ih, iw));
                }
                yield return (n, oh, ow, taps);
            }
        }
    }

    public static double[] Conv(Geo g, double[] x, double[] f)
    {
        var y = new double[g.N * g.OH * g.OW * g.O];
        g.ForEachTap((xi, fi, yi) => y[yi] += x[xi] * f[fi]);
        return y;
    }

    public static double[] ConvBackpropInput(Geo g, double[] f, double[] dy)
    {
        var dx = new double[g.N * g.H * g.W * g.C];
        g.ForEachTap((xi, fi, yi) => dx[xi] += dy[yi] * f[fi]);
        return dx;
    }

    public static double[] ConvBackpropFilter(Geo g, double[] x, double[] dy)
    {
        var df = new double[g.KH * g.KW * g.C * g.O];
        g.ForEachTap((xi, fi, yi) => df[fi] += dy[yi] * x[xi]);
        return df;
    }

    /// <summary>Pool geometry (O = C) for the window ops.</summary>
    public static Geo Pool(int[] x, int k, int s, bool same) => new(x[0], x[1], x[2], x[3], k, k, x[3], s, s, 1, 1, same);

    static int ArgMax(Geo g, double[] x, int n, List<(int h, int w)> taps, int c)
    {
        int best = g.X(n, taps[0].h, taps[0].w, c);
        foreach (var (h, w) in taps) { int i = g.X(n, h, w, c); if (x[i] > x[best]) best = i; }
        return best;
    }

    public static double[] MaxPool(Geo g, double[] x)
    {
        var y = new double[g.N * g.OH * g.OW * g.C];
        foreach (var (n, oh, ow, taps) in g.Windows())
            for (int c = 0; c < g.C; c++) y[g.Y(n, oh, ow, c)] = x[ArgMax(g, x, n, taps, c)];
        return y;
    }

    public static double[] MaxPoolGrad(Geo g, double[] x, double[] dy)
    {
        var dx = new double[x.Length];
        foreach (var (n, oh, ow, taps) in g.Windows())
            for (int c = 0; c < g.C; c++) dx[ArgMax(g, x, n, taps, c)] += dy[g.Y(n, oh, ow, c)];
        return dx;
    }

    public static double[] MaxPoolGradGrad(Geo g, double[] x, double[] ddx)
    {
        var y = new double[g.N * g.OH * g.OW * g.C];
        foreach (var (n, oh, ow, taps) in g.Windows())
            for (int c = 0; c < g.C; c++) y[g.Y(n, oh, ow, c)] = ddx[ArgMax(g, x, n, taps, c)];
        return y;
    }

    public static double[] AvgPool(Geo g, double[] x)
    {
        var y = new double[g.N * g.OH * g.OW * g.C];
        foreach (var (n, oh, ow, taps) in g.Windows())
            for (int c = 0; c < g.C; c++) y[g.Y(n, oh, ow, c)] = taps.Sum(t => x[g.X(n, t.h, t.w, c)]) / taps.Count;
        return y;
    }

    public static double[] AvgPoolGrad(Geo g, double[] dy)
    {
        var dx = new double[g.N * g.H * g.W * g.C];
        foreach (var (n, oh, ow, taps) in g.Windows())
            for (int c = 0; c < g.C; c++)
                foreach (var (h, w) in taps) dx[g.X(n, h, w, c)] += dy[g.Y(n, oh, ow, c)] / taps.Count;
        return dx;
    }

    public static double[] Lrn(double[] x, int depth, int r, double bias, double alpha, double beta)
    {
        var y = new double[x.Length];
        for (int o = 0; o < x.Length; o += depth)
            for (int c = 0; c < depth; c++)
            {
                double s = 0;
                for (int j = Math.Max(0, c - r); j <= Math.Min(depth - 1, c + r); j++) s += x[o + j] * x[o + j];
                y[o + c] = x[o + c] / Math.Pow(bias + alpha * s, beta);
            }
        return y;
    }
}
