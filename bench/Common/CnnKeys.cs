namespace Bench;

/// <summary>The convolutional rows' keys and shapes, shared by both engines.</summary>
public static class CnnKeys
{
    /// <summary>LeNet-5 training step row.</summary>
    public const string LeNet = "LeNet-5 SGD-momentum step, batch 64 (1x32x32)";
    /// <summary>Conv layer forward + backward row.</summary>
    public const string Conv = "Conv 3x3 16->32 SAME fwd+bwd, batch 64 (32x32)";

    /// <summary>LeNet-5 batch.</summary>
    public const int LeNetBatch = 64;
    /// <summary>Conv row: batch, height/width, input and output channels, kernel size.</summary>
    public const int ConvBatch = 64, ConvHw = 32, ConvIn = 16, ConvOut = 32, ConvK = 3;
    /// <summary>Forward FLOPs of the conv row (2·N·H·W·O·K·K·C); backward adds twice that.</summary>
    public const double ConvForwardFlops = 2.0 * ConvBatch * ConvHw * ConvHw * ConvOut * ConvK * ConvK * ConvIn;
}
