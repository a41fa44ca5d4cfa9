using GraphDl.Data;

namespace GraphDl.Examples;

/// <summary>What a model predicts.</summary>
public enum TaskKind
{
    /// <summary>Two classes, one sigmoid output (labels 0/1).</summary>
    Binary,

    /// <summary>Several classes, softmax outputs.</summary>
    MultiClass,

    /// <summary>A real-valued target, one linear output.</summary>
    Regression,
}

/// <summary>A train/test split of a numeric table, ready to feed: row-major float features and labels or targets.</summary>
public sealed class TabularData
{
    /// <summary>Where the rows came from (a path).</summary>
    public required string Source { get; init; }

    /// <summary>Feature column names.</summary>
    public required string[] FeatureNames { get; init; }

    /// <summary>What is predicted.</summary>
    public required TaskKind Task { get; init; }

    /// <summary>Training features, <c>TrainRows x Features</c>, row-major.</summary>
    public required float[] XTrain { get; init; }

    /// <summary>Test features, <c>TestRows x Features</c>, row-major.</summary>
    public required float[] XTest { get; init; }

    /// <summary>Class labels of the training rows (classification).</summary>
    public int[] LabelsTrain { get; init; } = [];

    /// <summary>Class labels of the test rows (classification).</summary>
    public int[] LabelsTest { get; init; } = [];

    /// <summary>Number of classes (classification; 1 for regression).</summary>
    public int Classes { get; init; } = 1;

    /// <summary>Regression targets of the training rows, original units.</summary>
    public float[] TargetTrain { get; init; } = [];

    /// <summary>Regression targets of the test rows, original units.</summary>
    public float[] TargetTest { get; init; } = [];

    /// <summary>Number of feature columns.</summary>
    public int Features => FeatureNames.Length;

    /// <summary>Training rows.</summary>
    public int TrainRows => XTrain.Length / Features;

    /// <summary>Test rows.</summary>
    public int TestRows => XTest.Length / Features;

    /// <summary>Short description for printing.</summary>
    public string Describe() =>
        $"{(File.Exists(Source) ? Path.GetFileName(Source) : Source)}: {TrainRows} training rows, {TestRows} test rows, {Features} features" +
        (Task == TaskKind.Regression ? "" : $", {Classes} classes");

    /// <summary>
    /// Loads a CSV file, splits it with <c>--test-fraction</c>/<c>--split</c>, and standardises the features with the
    /// training rows' mean and standard deviation; columns in <paramref name="drop"/> are not used. Bad options or files throw
    /// <see cref="UsageException"/> or <see cref="DataFormatException"/>.
    /// </summary>
    public static TabularData LoadCsv(string path, string target, double testFraction, string split, TaskKind task,
        bool standardize = true, IReadOnlyList<string>? drop = null)
    {
        var table = CsvTable.Load(path);
        table.ColumnIndex(target); // an unknown column fails here, listing the columns
        var (x, rows, cols, names) = table.Features([target, .. (drop ?? []).Where(d => d != target)]);
        for (int i = 0; i < x.Length; i++)
            if (!float.IsFinite(x[i]))
                throw new UsageException($"{path}: data row {i / cols}, column '{names[i % cols]}' is missing or not finite; fill missing values before training.");

        (int[] trainIdx, int[] testIdx) = SplitRows(rows, testFraction, split);
        float[] xTrain = Split.Take(x, cols, trainIdx), xTest = Split.Take(x, cols, testIdx);
        if (standardize)
        {
            var scaler = Standardizer.FitNew(xTrain, trainIdx.Length, cols);
            scaler.TransformInPlace(xTrain, cols);
            scaler.TransformInPlace(xTest, cols);
        }

        if (task == TaskKind.Regression)
        {
            float[] y = table.Target(target);
            if (y.Any(v => !float.IsFinite(v)))
                throw new UsageException($"{path}: target column '{target}' has missing or non-finite values.");
            return new TabularData
            {
                Source = table.Path, FeatureNames = names, Task = task, XTrain = xTrain, XTest = xTest,
                TargetTrain = Split.Take(y, 1, trainIdx), TargetTest = Split.Take(y, 1, testIdx),
            };
        }

        int[] labels = table.Labels(target);
        int classes = labels.Max() + 1;
        if (classes < 2)
            throw new UsageException($"{path}: target column '{target}' holds a single class; a classifier needs at least two.");
        if (task == TaskKind.Binary && classes > 2)
            task = TaskKind.MultiClass;
        return new TabularData
        {
            Source = table.Path, FeatureNames = names, Task = task, XTrain = xTrain, XTest = xTest,
            LabelsTrain = Split.Take(labels, trainIdx), LabelsTest = Split.Take(labels, testIdx), Classes = classes,
        };
    }

    /// <summary>Row indices of the split chosen on the command line; a bad combination throws <see cref="UsageException"/>.</summary>
    public static (int[] Train, int[] Test) SplitRows(int rows, double testFraction, string split)
    {
        try
        {
            return Split.Indices(rows, testFraction, Split.ParseKind(split));
        }
        catch (ArgumentException e)
        {
            throw new UsageException(e.Message, e);
        }
    }

    /// <summary>
    /// The digits set (8x8 images, pixel counts 0..16 scaled to 0..1, 10 classes) with its fixed split: the MNIST-style
    /// IDX files of <c>data/</c>, or of the folder given with <c>--data</c> (0..255 pixels are scaled by 1/255).
    /// </summary>
    public static TabularData Digits(string? folder)
    {
        string dir = folder == null ? DataPaths.Find(".") : DataPaths.Resolve(folder, ".");
        if (!Directory.Exists(dir))
            throw new UsageException($"--data {folder}: this example reads a folder of MNIST-style IDX files " +
                "(train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte), not a file.");
        IdxDataset train = Idx.LoadFolder(dir, "train"), test = Idx.LoadFolder(dir, "test");
        if (train.PixelsPerImage != test.PixelsPerImage)
            throw new UsageException($"{dir}: training images are {train.Rows}x{train.Cols} but test images {test.Rows}x{test.Cols}.");
        float scale = train.Pixels.Max() <= 16 ? 1f / 16 : 1f / 255;
        int[] yTrain = train.LabelsAsInt(), yTest = test.LabelsAsInt();
        return new TabularData
        {
            Source = $"digits {train.Rows}x{train.Cols} (IDX files in {dir})", Task = TaskKind.MultiClass,
            FeatureNames = Enumerable.Range(0, train.PixelsPerImage).Select(i => $"p{i}").ToArray(),
            XTrain = train.ImagesAsFloat(scale), XTest = test.ImagesAsFloat(scale),
            LabelsTrain = yTrain, LabelsTest = yTest, Classes = Math.Max(yTrain.Max(), yTest.Max()) + 1,
        };
    }

    /// <summary>The first <paramref name="maxTrain"/> training and <paramref name="maxTest"/> test rows (for <c>--smoke</c>).</summary>
    public TabularData Head(int maxTrain, int maxTest)
    {
        int tr = Math.Min(maxTrain, TrainRows), te = Math.Min(maxTest, TestRows);
        return new TabularData
        {
            Source = Source, FeatureNames = FeatureNames, Task = Task, Classes = Classes,
            XTrain = XTrain[..(tr * Features)], XTest = XTest[..(te * Features)],
            LabelsTrain = LabelsTrain.Length > 0 ? LabelsTrain[..tr] : [], LabelsTest = LabelsTest.Length > 0 ? LabelsTest[..te] : [],
            TargetTrain = TargetTrain.Length > 0 ? TargetTrain[..tr] : [], TargetTest = TargetTest.Length > 0 ? TargetTest[..te] : [],
        };
    }

    /// <summary><see cref="Head"/> with the smoke-test sizes when <paramref name="smoke"/> is set.</summary>
    public TabularData ForSmoke(bool smoke) => smoke ? Head(256, 128) : this;
}
