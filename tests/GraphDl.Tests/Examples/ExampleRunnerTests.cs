using GraphDl.Examples;
using NUnit.Framework;

namespace GraphDl.Tests.Examples;

/// <summary>The runner's command line: list, help, errors and run folders.</summary>
public sealed class ExampleRunnerTests
{
    static (int Code, string Text) Run(params string[] args)
    {
        var w = new StringWriter();
        int code = ExampleProgram.Run(args, w);
        return (code, w.ToString());
    }

    [Test]
    public void ListNamesEveryExampleWithADescription()
    {
        var (code, text) = Run("list");
        Assert.That(code, Is.EqualTo(0));
        string[] expected =
        [
            "linear-regression", "perceptron", "xor", "logistic-regression", "shallow-nn", "initialization", "deep-nn",
            "regularization", "optimizers", "edge-detection", "lenet5", "alexnet", "csv-classifier", "csv-regressor",
            "rnn-forecast", "rnn-sunspots", "char-rnn", "vanishing-gradients", "sequence-classifier",
        ];
        Assert.That(ExampleProgram.Catalog().Select(e => e.Name), Is.EqualTo(expected));
        foreach (var e in ExampleProgram.Catalog())
        {
            Assert.That(e.Description, Is.Not.Empty);
            Assert.That(text, Does.Contain(e.Name).And.Contain(e.Description));
        }
    }

    [Test]
    public void HelpShowsTheCommonAndOwnOptions()
    {
        var (code, text) = Run("deep-nn", "--help");
        Assert.That(code, Is.EqualTo(0));
        foreach (string o in new[] { "--epochs", "--batch-size", "--learning-rate", "--seed", "--data", "--log-dir", "--run", "--smoke", "--device", "--log-device-placement", "--hidden", "--activation" })
            Assert.That(text, Does.Contain(o), o);
        Assert.That(text, Does.Contain("logs/deep-nn"));

        (code, text) = Run("csv-classifier", "--help");
        Assert.That(code, Is.EqualTo(0));
        foreach (string o in new[] { "--target", "--test-fraction", "--split", "--hidden", "--drop" })
            Assert.That(text, Does.Contain(o), o);

        (code, text) = Run("shallow-nn", "--help");
        Assert.That(code, Is.EqualTo(0));
        Assert.That(text, Does.Contain("--variant").And.Contain("leaky-relu"));
    }

    [TestCase(new[] { "deep-nn", "--no-such-option" }, "--no-such-option")]
    [TestCase(new[] { "deep-nn", "--epochs", "abc" }, "--epochs expects a whole number")]
    [TestCase(new[] { "deep-nn", "--epochs", "0" }, "--epochs must be at least 1")]
    [TestCase(new[] { "deep-nn", "--learning-rate", "-1" }, "--learning-rate must be greater than 0")]
    [TestCase(new[] { "deep-nn", "--hidden", "64,x" }, "--hidden expects layer widths")]
    [TestCase(new[] { "logistic-regression", "--split", "random" }, "--split must be one of interleaved, tail")]
    [TestCase(new[] { "shallow-nn", "--variant", "swish" }, "unknown value 'swish'")]
    [TestCase(new[] { "deep-nn", "--device", "/tpu:0" }, "--device must be a TF1 device name, /cpu:0 or /gpu:N (N = 0, 1, ...), not '/tpu:0'")]
    [TestCase(new[] { "deep-nn", "--device", "/cpu:1" }, "not '/cpu:1'")]
    [TestCase(new[] { "no-such-example" }, "no-such-example")]
    [TestCase(new string[0], "Required command")]
    public void BadCommandLinesExitWithCode2AndSayWhy(string[] args, string message)
    {
        var (code, text) = Run(args);
        Assert.That(code, Is.EqualTo(2), text);
        Assert.That(text, Does.Contain(message));
        Assert.Throws<UsageException>(() => ExampleProgram.RunExample(args, TextWriter.Null));
    }

    [Test]
    public void BadValuesFoundWhileStartingExitWithCode2()
    {
        using var run = new ExampleRun();
        string[][] cases =
        [
            ["logistic-regression", "--test-fraction", "0.3"],        // 1/0.3 is not a whole number
            ["logistic-regression", "--target", "no_such_column"],
            ["csv-regressor", "--data", Path.Combine(run.LogDir, "missing.csv")],
            ["xor", "--data", "whatever.csv"],
        ];
        string[] messages = ["whole number", "no column 'no_such_column'", "no such file", "takes no --data"];
        for (int i = 0; i < cases.Length; i++)
        {
            var w = new StringWriter();
            int code = ExampleProgram.Run([.. cases[i], "--smoke", "--log-dir", run.LogDir], w);
            Assert.That(code, Is.EqualTo(2), w.ToString());
            Assert.That(w.ToString(), Does.Contain("error:").And.Contain(messages[i]));
        }
    }

    [Test]
    public void EachInvocationGetsItsOwnRunFolder()
    {
        using var run = new ExampleRun();
        var a = run.Run("logistic-regression", "--smoke", "--run", "same");
        var b = run.Run("logistic-regression", "--smoke", "--run", "same");
        Assert.That(a.RunDir, Is.EqualTo(Path.Combine(run.LogDir, "same")));
        Assert.That(b.RunDir, Is.EqualTo(Path.Combine(run.LogDir, "same-2")));
        var c = run.Run("logistic-regression", "--smoke");
        Assert.That(Path.GetFileName(c.RunDir), Does.Match(@"^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(-\d+)?$"));
    }

    [Test]
    public void DefaultLogDirIsUnderTheRepositoryRoot()
    {
        string root = RepoPaths.Root();
        Assert.That(Directory.Exists(Path.Combine(root, "data")), root);
        Assert.That(RepoPaths.DefaultLogDir("deep-nn"), Is.EqualTo(Path.Combine(root, "logs", "deep-nn")));
    }

    [Test]
    public void HparamsRecordTheOptionsUsed()
    {
        using var run = new ExampleRun();
        var r = run.Run("shallow-nn", "--smoke", "--variant", "relu", "--hidden", "5", "--learning-rate", "0.02", "--device", "/CPU:0",
            "--log-device-placement");
        Assert.That(r.Variants, Is.EqualTo(new[] { "relu" }));
        string md = ExampleRun.Hparams(r.LogDir("relu"));
        Assert.That(md, Does.Contain("| hidden | 5 |").And.Contain("| learning-rate | 0.02 |").And.Contain("| variant | relu |")
            .And.Contain("| smoke | true |").And.Contain("| epochs | 1 |").And.Contain("| device | /cpu:0 |")
            .And.Contain("| log-device-placement | true |"));
        // TF1's log_device_placement lines reach the example's output, one per node of each plan.
        Assert.That(r.Device, Is.EqualTo("/cpu:0"));
        Assert.That(run.Output.ToString(), Does.Contain("hidden/MatMul: (MatMul): /cpu:0").And.Contain("loss: (Mean): /cpu:0"));
    }

    [Test]
    public void DigitsExamplesReadAFolderOfMnistNamedIdxFiles()
    {
        using var run = new ExampleRun();
        string folder = Path.Combine(run.LogDir, "mnist-style");
        Directory.CreateDirectory(folder);
        string data = GraphDl.Data.DataPaths.Find(".");
        foreach (var (from, to) in new[]
        {
            ("digits-train-images-idx3-ubyte", "train-images-idx3-ubyte"), ("digits-train-labels-idx1-ubyte", "train-labels-idx1-ubyte"),
            ("digits-test-images-idx3-ubyte", "t10k-images-idx3-ubyte"), ("digits-test-labels-idx1-ubyte", "t10k-labels-idx1-ubyte"),
        })
            File.Copy(Path.Combine(data, from), Path.Combine(folder, to));
        var r = run.Run("deep-nn", "--smoke", "--data", folder);
        Assert.That(r.Metric("test/accuracy"), Is.InRange(0.0, 1.0));
        Assert.That(run.Output.ToString(), Does.Contain(folder));
    }

    [Test]
    public void CsvClassifierHandlesSeveralClassesAndALinearModel()
    {
        using var run = new ExampleRun();
        string iris = GraphDl.Data.DataPaths.Find("iris.csv");
        var r = run.Run("csv-classifier", "--data", iris, "--hidden", "none", "--learning-rate", "0.05", "--epochs", "30");
        Assert.That(run.Output.ToString(), Does.Contain("3 classes").And.Contain("softmax regression"));
        Assert.That(r.Metric("test/accuracy"), Is.GreaterThanOrEqualTo(0.85));
        var reg = run.Run("csv-regressor", "--data", GraphDl.Data.DataPaths.Find("longley.csv"), "--target", "TOTEMP",
            "--drop", "Obs", "--hidden", "none", "--smoke");
        Assert.That(run.Output.ToString(), Does.Contain("6 features").And.Contain("linear regression"));
        Assert.That(double.IsFinite(reg.Metric("test/r2")));
    }
}
