using GraphDl.Ops;
using GraphDl.Train;

namespace GraphDl;

public static partial class LayerBuilders
{
    static string TfPadding(string padding) => padding.ToUpperInvariant() switch
    {
        "SAME" => "SAME",
        "VALID" => "VALID",
        _ => throw new ArgumentException($"padding must be \"valid\" or \"same\", got \"{padding}\"", nameof(padding)),
    };

    static void CheckImage(string layer, Tensor x)
    {
        if (!x.DType.IsFloating())
            throw new GraphBuildException($"{layer}: input {x.Name} must be float32 or float64, got {x.DType.Name()}{CallSite.Describe()}");
        if (!x.Shape.HasRank || x.Shape.Rank != 4 || x.Shape[3] < 0)
            throw new GraphBuildException($"{layer}: input {x.Name} must be rank 4 [batch, height, width, channels] with known channels, got {x.Shape}{CallSite.Describe()}");
    }

    /// <summary>TF1's <c>tf.layers.conv2d</c> (NHWC): variables <c>conv2d/kernel</c> [kh, kw, in, filters] (Glorot uniform by
    /// default) and <c>conv2d/bias</c> [filters] (zeros); output <c>activation(conv(x, kernel) + bias)</c>. Padding "valid" or "same".</summary>
    public static Tensor Conv2D(this Graph g, Tensor x, int filters, int kernelSize, int strides = 1, string padding = "valid",
        Func<Tensor, Tensor>? activation = null, bool useBias = true, IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null,
        Func<Tensor, Tensor>? kernelRegularizer = null, int dilationRate = 1, string? name = null) =>
        g.Conv2D(x, filters, [kernelSize, kernelSize], [strides, strides], padding, activation, useBias, kernelInitializer, biasInitializer,
            kernelRegularizer, [dilationRate, dilationRate], name);

    /// <summary><see cref="Conv2D(Graph, Tensor, int, int, int, string, Func{Tensor, Tensor}?, bool, IInitializer?, IInitializer?, Func{Tensor, Tensor}?, int, string?)"/>
    /// with separate height and width for the kernel size, strides and dilation rate.</summary>
    public static Tensor Conv2D(this Graph g, Tensor x, int filters, int[] kernelSize, int[]? strides = null, string padding = "valid",
        Func<Tensor, Tensor>? activation = null, bool useBias = true, IInitializer? kernelInitializer = null, IInitializer? biasInitializer = null,
        Func<Tensor, Tensor>? kernelRegularizer = null, int[]? dilationRate = null, string? name = null)
    {
        if (filters <= 0) throw new ArgumentOutOfRangeException(nameof(filters), filters, "filters must be positive");
        if (kernelSize.Length != 2 || kernelSize[0] <= 0 || kernelSize[1] <= 0)
            throw new ArgumentException($"kernelSize must be two positive ints, got {Shape.Format(kernelSize)}", nameof(kernelSize));
        CheckImage("Conv2D", x);
        string pad = TfPadding(padding);
        string scope = name ?? UniqueLayerName(g, "conv2d");
        using (g.VariableScope(scope))
        {
            var kernel = g.GetVariable("kernel", new Shape(kernelSize[0], kernelSize[1], x.Shape[3], filters), x.DType, kernelInitializer,
                trainable: true, regularizer: kernelRegularizer);
            var bias = useBias ? g.GetVariable("bias", new Shape(filters), x.DType, biasInitializer ?? Initializers.Zeros()) : null;
            var y = g.Conv2D(x, kernel.Value, strides ?? [1, 1], pad, dilationRate ?? [1, 1], "Conv2D");
            if (bias != null) y = g.BiasAdd(y, bias.Value, "BiasAdd");
            if (activation != null) y = activation(y);
            ModelSummary.Record(g, scope, "Conv2D", y, bias != null ? [kernel, bias] : [kernel]);
            return y;
        }
    }

    /// <summary>TF1's <c>tf.layers.max_pooling2d</c> (NHWC); strides default to the pool size.</summary>
    public static Tensor MaxPooling2D(this Graph g, Tensor x, int poolSize, int? strides = null, string padding = "valid", string? name = null)
    {
        CheckImage("MaxPooling2D", x);
        string scope = name ?? UniqueLayerName(g, "max_pooling2d");
        using var _ = g.NameScope(scope);
        var y = g.MaxPool(x, [poolSize, poolSize], [strides ?? poolSize, strides ?? poolSize], TfPadding(padding), "MaxPool");
        ModelSummary.Record(g, scope, "MaxPooling2D", y, []);
        return y;
    }

    /// <summary>TF1's <c>tf.layers.average_pooling2d</c> (NHWC); strides default to the pool size.</summary>
    public static Tensor AveragePooling2D(this Graph g, Tensor x, int poolSize, int? strides = null, string padding = "valid", string? name = null)
    {
        CheckImage("AveragePooling2D", x);
        string scope = name ?? UniqueLayerName(g, "average_pooling2d");
        using var _ = g.NameScope(scope);
        var y = g.AvgPool(x, [poolSize, poolSize], [strides ?? poolSize, strides ?? poolSize], TfPadding(padding), "AvgPool");
        ModelSummary.Record(g, scope, "AveragePooling2D", y, []);
        return y;
    }

    /// <summary>TF1's <c>tf.layers.flatten</c>: [batch, d1, d2, ...] to [batch, d1·d2·...]; every dim but the first must be known.</summary>
    public static Tensor Flatten(this Graph g, Tensor x, string? name = null)
    {
        var s = x.Shape;
        if (!s.HasRank || s.Rank < 1)
            throw new GraphBuildException($"Flatten: input {x.Name} needs rank >= 1, got {s}{CallSite.Describe()}");
        int n = 1;
        for (int d = 1; d < s.Rank; d++)
        {
            if (s[d] < 0) throw new GraphBuildException($"Flatten: input {x.Name} of shape {s}: only the first dimension may be unknown{CallSite.Describe()}");
            n *= s[d];
        }
        string scope = name ?? UniqueLayerName(g, "flatten");
        using var _ = g.NameScope(scope);
        var y = g.Reshape(x, [-1, n], "Reshape");
        if (s[0] >= 0) y.SetShape(Shape.Of(s[0], n));
        ModelSummary.Record(g, scope, "Flatten", y, []);
        return y;
    }

    /// <summary>TF1's <c>tf.layers.batch_normalization</c> over the last axis: variables <c>batch_normalization/gamma</c> (ones),
    /// <c>beta</c> (zeros), <c>moving_mean</c> (zeros) and <c>moving_variance</c> (ones), the last two not trainable. While
    /// <paramref name="training"/> (a bool scalar) is true it normalizes with the batch mean and (biased) variance and its
    /// moving-average updates, <c>moving -= (moving - batch)·(1 - momentum)</c>, in <see cref="GraphKeys.UpdateOps"/>, move the
    /// averages (run them with the train op); while false it uses the moving averages and the updates leave them unchanged.</summary>
    public static Tensor BatchNormalization(this Graph g, Tensor x, Tensor training, double momentum = 0.99, double epsilon = 1e-3,
        bool center = true, bool scale = true, string? name = null)
    {
        if (!x.DType.IsFloating())
            throw new GraphBuildException($"BatchNormalization: input {x.Name} must be float32 or float64, got {x.DType.Name()}{CallSite.Describe()}");
        if (!x.Shape.HasRank || x.Shape.Rank < 2 || x.Shape[-1] < 0)
            throw new GraphBuildException($"BatchNormalization: input {x.Name} needs rank >= 2 with a known last dimension, got {x.Shape}{CallSite.Describe()}");
        if (training.DType != DType.Bool || (training.Shape.HasRank && training.Shape.Rank != 0))
            throw new GraphBuildException($"BatchNormalization: training must be a bool scalar, got {training}{CallSite.Describe()}");
        var t = x.DType;
        int ch = x.Shape[-1];
        string scope = name ?? UniqueLayerName(g, "batch_normalization");
        using (g.VariableScope(scope))
        {
            var gamma = scale ? g.GetVariable("gamma", new Shape(ch), t, Initializers.Ones()) : null;
            var beta = center ? g.GetVariable("beta", new Shape(ch), t, Initializers.Zeros()) : null;
            var movingMean = g.GetVariable("moving_mean", new Shape(ch), t, Initializers.Zeros(), trainable: false);
            var movingVar = g.GetVariable("moving_variance", new Shape(ch), t, Initializers.Ones(), trainable: false);
            var axes = Enumerable.Range(0, x.Shape.Rank - 1).ToArray();
            Tensor batchMean, batchVar;
            using (g.NameScope("moments"))
            {
                batchMean = g.Mean(x, axes, name: "mean");
                // As tf.nn.moments: the variance around a stop-gradient mean (the same value; its gradient through the mean is 0).
                batchVar = g.Mean(g.SquaredDifference(x, g.StopGradient(batchMean)), axes, name: "variance");
            }
            var mean = g.Where(training, batchMean, movingMean.Value, "mean");
            var variance = g.Where(training, batchVar, movingVar.Value, "variance");
            Tensor inv = g.Rsqrt(variance + epsilon, "Rsqrt");
            if (gamma != null) inv = g.Mul(inv, gamma.Value, "mul");
            var shift = beta != null ? g.Sub(beta.Value, mean * inv, "shift") : g.Neg(mean * inv, "shift");
            var y = g.Add(g.Mul(x, inv, "scaled"), shift, "batchnorm");
            using (g.NameScope("AssignMovingAvg"))
            {
                var decay = g.Where(training, g.Scalar(1 - momentum, t), g.Scalar(0, t), "decay");
                g.AddToCollection(GraphKeys.UpdateOps, movingMean.AssignSub((movingMean.Value - batchMean) * decay, "update_mean").Op);
                g.AddToCollection(GraphKeys.UpdateOps, movingVar.AssignSub((movingVar.Value - batchVar) * decay, "update_variance").Op);
            }
            var vars = new List<Variable>();
            if (gamma != null) vars.Add(gamma);
            if (beta != null) vars.Add(beta);
            vars.Add(movingMean);
            vars.Add(movingVar);
            ModelSummary.Record(g, scope, "BatchNormalization", y, vars);
            return y;
        }
    }
}
