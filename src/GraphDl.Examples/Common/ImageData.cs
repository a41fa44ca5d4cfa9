using GraphDl.Data;

namespace GraphDl.Examples;

/// <summary>Greyscale images as NHWC float arrays ([n, height, width, 1], pixels / 255) with integer labels and a fixed split.</summary>
public sealed class ImageData
{
    /// <summary>Where the images came from, for the log.</summary>
    public required string Source { get; init; }
    /// <summary>Image height after padding.</summary>
    public required int Height { get; init; }
    /// <summary>Image width after padding.</summary>
    public required int Width { get; init; }
    /// <summary>Training images, [TrainRows, Height, Width, 1] row-major.</summary>
    public required float[] XTrain { get; init; }
    /// <summary>Test images.</summary>
    public required float[] XTest { get; init; }
    /// <summary>Training labels.</summary>
    public required int[] LabelsTrain { get; init; }
    /// <summary>Test labels.</summary>
    public required int[] LabelsTest { get; init; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; init; } = 10;

    /// <summary>Pixels of one image.</summary>
    public int Pixels => Height * Width;
    /// <summary>Training images.</summary>
    public int TrainRows => LabelsTrain.Length;
    /// <summary>Test images.</summary>
    public int TestRows => LabelsTest.Length;

    /// <summary>One line for the log.</summary>
    public string Describe() => $"{Source}; {TrainRows} training and {TestRows} test images of {Height}x{Width}";

    /// <summary>Fashion-MNIST class names.</summary>
    public static readonly string[] FashionClasses =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    /// <summary>
    /// Fashion-MNIST from <c>data/fashion-mnist</c> (the shipped 10,000-image test set: the first 8000 train, the last 2000
    /// test), or from a folder given with <c>--data</c>: with <c>train-*</c> and <c>t10k-*</c> IDX files (raw or .gz; full
    /// MNIST or Fashion-MNIST) it trains on the training file and tests on the test file, with only a test file it splits
    /// that 8000/2000 as well. Each image is zero-padded by <paramref name="pad"/> pixels on every side.
    /// </summary>
    public static ImageData FashionMnist(string? folder, int pad, bool smoke)
    {
        string dir = folder == null ? DataPaths.Find("fashion-mnist") : Path.GetFullPath(folder);
        if (!Directory.Exists(dir))
            throw new UsageException($"--data {folder}: this example reads a folder of MNIST-style IDX files " +
                "(t10k-images-idx3-ubyte[.gz], t10k-labels-idx1-ubyte[.gz], optionally train-images/labels), not a file.");
        IdxDataset test = Idx.LoadFolder(dir, "test");
        IdxDataset? train = null;
        try { train = Idx.LoadFolder(dir, "train"); }
        catch (DataFormatException) when (!Directory.EnumerateFiles(dir, "train-*").Any()) { }
        float[] xs = Pad(test, pad);
        int[] ys = test.LabelsAsInt();
        int h = test.Rows + 2 * pad, w = test.Cols + 2 * pad, px = h * w;
        float[] xTrain, xTest;
        int[] yTrain, yTest;
        string source;
        if (train != null)
        {
            if (train.Rows != test.Rows || train.Cols != test.Cols)
                throw new UsageException($"{dir}: training images are {train.Rows}x{train.Cols} but test images {test.Rows}x{test.Cols}.");
            (xTrain, yTrain, xTest, yTest) = (Pad(train, pad), train.LabelsAsInt(), xs, ys);
            source = $"IDX training and test files in {dir}";
        }
        else
        {
            int nTrain = (int)Math.Round(test.Count * 0.8);
            (xTrain, yTrain) = (xs[..(nTrain * px)], ys[..nTrain]);
            (xTest, yTest) = (xs[(nTrain * px)..], ys[nTrain..]);
            source = $"the test-set IDX files in {dir}, first {nTrain} images for training, last {test.Count - nTrain} for testing";
        }
        if (smoke)
        {
            int tr = Math.Min(512, yTrain.Length), te = Math.Min(256, yTest.Length);
            (xTrain, yTrain, xTest, yTest) = (xTrain[..(tr * px)], yTrain[..tr], xTest[..(te * px)], yTest[..te]);
        }
        return new ImageData
        {
            Source = source, Height = h, Width = w, XTrain = xTrain, XTest = xTest, LabelsTrain = yTrain, LabelsTest = yTest,
            Classes = Math.Max(yTrain.Max(), yTest.Max()) + 1,
        };
    }

    /// <summary>All images of a set as floats in [0, 1], zero-padded by <paramref name="pad"/> on every side.</summary>
    static float[] Pad(IdxDataset d, int pad)
    {
        int h = d.Rows + 2 * pad, w = d.Cols + 2 * pad;
        var x = new float[(long)d.Count * h * w];
        for (int n = 0; n < d.Count; n++)
            for (int r = 0; r < d.Rows; r++)
                for (int c = 0; c < d.Cols; c++)
                    x[((long)n * h + r + pad) * w + c + pad] = d.Pixels[((long)n * d.Rows + r) * d.Cols + c] / 255f;
        return x;
    }
}
