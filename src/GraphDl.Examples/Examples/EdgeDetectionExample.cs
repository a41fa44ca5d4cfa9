using System.Globalization;

namespace GraphDl.Examples;

/// <summary>The course's vertical and horizontal edge detectors applied with Conv2D.</summary>
public sealed class EdgeDetectionExample : Example
{
    /// <summary>The course's vertical edge kernel (rows): 1 0 -1 three times.</summary>
    public static readonly float[,] Vertical = { { 1, 0, -1 }, { 1, 0, -1 }, { 1, 0, -1 } };

    /// <summary>The horizontal edge kernel: the vertical one transposed.</summary>
    public static readonly float[,] Horizontal = { { 1, 1, 1 }, { 0, 0, 0 }, { -1, -1, -1 } };

    /// <inheritdoc/>
    public override string Name => "edge-detection";

    /// <inheritdoc/>
    public override string Description => "Vertical and horizontal 3x3 edge kernels applied with Conv2D to the course's 6x6 example and Fashion-MNIST images";

    /// <inheritdoc/>
    public override string Details => Description + ". The course's 6x6 image (three columns of 10, three of 0) convolved " +
        "(VALID, stride 1) with the vertical kernel gives a 4x4 map whose two middle columns are 30: the edge. Then both kernels " +
        "run as one Conv2D with two output channels on the first images of the Fashion-MNIST test set; inputs and edge maps are " +
        "written as PNG files (scaled up 4x) to the run folder. Nothing is trained.";

    /// <inheritdoc/>
    public override int DefaultEpochs => 1;

    /// <inheritdoc/>
    public override string DefaultData => "data/fashion-mnist";

    /// <summary>Filter [3, 3, 1, 2]: channel 0 vertical, channel 1 horizontal.</summary>
    public static NDArray Filters()
    {
        var f = new float[3 * 3 * 2];
        for (int r = 0; r < 3; r++)
            for (int c = 0; c < 3; c++)
            {
                f[(r * 3 + c) * 2] = Vertical[r, c];
                f[(r * 3 + c) * 2 + 1] = Horizontal[r, c];
            }
        return NDArray.From(f, 3, 3, 1, 2);
    }

    /// <inheritdoc/>
    protected internal override void Run(ExampleContext ctx)
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, -1, -1, 1), "images");
        var edges = g.Conv2D(x, g.Const(Filters(), "edge_kernels"), [1, 1], "VALID", name: "edges");
        using var s = ctx.NewSession(g);
        using var log = ctx.OpenLog();
        log.Graph(g);

        // The course's example.
        var toy = new float[36];
        for (int r = 0; r < 6; r++) for (int c = 0; c < 3; c++) toy[r * 6 + c] = 10;
        var toyOut = s.Run(edges, (x, NDArray.From(toy, 1, 6, 6, 1))).ToFloatArray();
        ctx.Line("  6x6 input (10 on the left, 0 on the right) * vertical kernel -> 4x4:");
        var rows = new List<string>();
        for (int r = 0; r < 4; r++)
        {
            string line = string.Join(" ", Enumerable.Range(0, 4).Select(c => toyOut[(r * 4 + c) * 2].ToString("0", CultureInfo.InvariantCulture).PadLeft(3)));
            rows.Add(line);
            ctx.Line("    " + line);
        }
        log.Text("course/vertical_edges", string.Join("\n\n", rows));
        ctx.Metric("course/edge_max", toyOut.Where((_, i) => i % 2 == 0).Max());

        // Fashion-MNIST images.
        var data = ImageData.FashionMnist(ctx.Data, pad: 0, smoke: true);
        int count = ctx.Smoke ? 2 : 6, h = data.Height, w = data.Width;
        var batch = NDArray.From(data.XTest.AsSpan(0, count * h * w).ToArray(), count, h, w, 1);
        var y = s.Run(edges, (x, batch)).ToFloatArray();
        int oh = h - 2, ow = w - 2;
        string dir = ctx.RunDir;
        double meanV = 0, meanH = 0;
        for (int i = 0; i < count; i++)
        {
            var input = data.XTest.AsSpan(i * h * w, h * w);
            Png.WriteGray(Path.Combine(dir, $"image{i}_input.png"), CnnModel.Upscale(Png.ToBytes(input), w, h, 4), w * 4, h * 4);
            for (int ch = 0; ch < 2; ch++)
            {
                var map = new float[oh * ow];
                for (int p = 0; p < map.Length; p++) map[p] = y[(i * oh * ow + p) * 2 + ch];
                if (ch == 0) meanV += map.Average(Math.Abs) / count; else meanH += map.Average(Math.Abs) / count;
                string kind = ch == 0 ? "vertical" : "horizontal";
                Png.WriteGray(Path.Combine(dir, $"image{i}_{kind}.png"), CnnModel.Upscale(Png.ToBytes(map), ow, oh, 4), ow * 4, oh * 4);
            }
            ctx.Line($"  image {i} ({ImageData.FashionClasses[data.LabelsTest[i]]}): image{i}_input.png, image{i}_vertical.png, image{i}_horizontal.png");
        }
        // The same images and edge maps as TensorBoard images (TF1 scales float images per image).
        log.Images("edges/input", batch, 1, count);
        for (int ch = 0; ch < 2; ch++)
        {
            var maps = new float[count * oh * ow];
            for (int p = 0; p < maps.Length; p++) maps[p] = y[p * 2 + ch];
            log.Images(ch == 0 ? "edges/vertical" : "edges/horizontal", NDArray.From(maps, count, oh, ow, 1), 1, count);
        }
        log.Scalar("edges/vertical_mean_abs", meanV, 1);
        log.Scalar("edges/horizontal_mean_abs", meanH, 1);
        log.Flush();
        ctx.Metric("edges/vertical_mean_abs", meanV);
        ctx.Metric("edges/horizontal_mean_abs", meanH);
        ctx.Line($"  PNG files in {dir}");
    }
}
