using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using GraphDl.Cuda;
using GraphDl.Data;

namespace GraphDl.Examples;

/// <summary>
/// The example runner: <c>list</c>, <c>&lt;example&gt; [options]</c>, <c>&lt;example&gt; --help</c>.
/// Exit codes: 0 success, 1 the example failed, 2 a bad command line or option value.
/// </summary>
public static class ExampleProgram
{
    /// <summary>Opens GPU <c>ordinal</c> for <c>--device /gpu:N</c>, or returns null with the reason.</summary>
    internal delegate CudaDevice? GpuOpener(int ordinal, out string why);

    /// <summary>Exit code for a bad command line or option value.</summary>
    public const int UsageExitCode = UsageException.ExitCode;

    /// <summary>Fresh instances of every example, in the order <c>list</c> shows them.</summary>
    public static IReadOnlyList<Example> Catalog() =>
    [
        new LinearRegressionExample(),
        new PerceptronExample(),
        new XorExample(),
        new LogisticRegressionExample(),
        new ShallowNnExample(),
        new InitializationExample(),
        new DeepNnExample(),
        new RegularizationExample(),
        new OptimizersExample(),
        new EdgeDetectionExample(),
        new LeNet5Example(),
        new AlexNetExample(),
        new CsvClassifierExample(),
        new CsvRegressorExample(),
        new RnnForecastExample(),
        new RnnSunspotsExample(),
        new CharRnnExample(),
        new VanishingGradientsExample(),
        new SequenceClassifierExample(),
    ];

    /// <summary>Runs the command line and returns the exit code; prints to <paramref name="output"/> (the console when null).</summary>
    public static int Run(string[] args, TextWriter? output = null) => Execute(args, output).ExitCode;

    /// <summary>
    /// Runs one example in-process and returns its run folder and final metrics. Throws <see cref="UsageException"/>
    /// for a bad command line (the message is what <see cref="Run"/> prints) and rethrows an example's failure.
    /// </summary>
    public static ExampleResult RunExample(string[] args, TextWriter? output = null) => RunExample(args, output, null);

    /// <summary><see cref="RunExample(string[], TextWriter?)"/> with <paramref name="openGpu"/> opening the device for
    /// <c>--device /gpu:N</c> instead of <see cref="CudaDevice.TryCreate"/> (tests pass a simulated GPU). A device it
    /// returns stays the caller's: the runner disposes only the devices it opened itself.</summary>
    internal static ExampleResult RunExample(string[] args, TextWriter? output, GpuOpener? openGpu)
    {
        var writer = new StringWriter();
        var (code, result, error) = Execute(args, output ?? writer, rethrow: true, openGpu);
        if (result != null)
            return result;
        if (code == UsageExitCode)
            throw new UsageException(error ?? writer.ToString().Trim());
        throw new InvalidOperationException($"'{string.Join(' ', args)}' did not run an example (exit code {code}).");
    }

    static (int ExitCode, ExampleResult? Result, string? Error) Execute(string[] args, TextWriter? output, bool rethrow = false,
        GpuOpener? openGpu = null)
    {
        // Numbers print and parse the same everywhere (logs, tables, option values).
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
        try
        {
            return ExecuteCore(args, output, rethrow, openGpu ?? ((int n, out string why) => CudaDevice.TryCreate(n, out why)),
                ownsGpu: openGpu == null);
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    static (int ExitCode, ExampleResult? Result, string? Error) ExecuteCore(string[] args, TextWriter? output, bool rethrow, GpuOpener openGpu, bool ownsGpu)
    {
        ArgumentNullException.ThrowIfNull(args);
        TextWriter outWriter = output ?? Console.Out;
        TextWriter errWriter = output ?? Console.Error;
        bool interactive = output == null && !Console.IsOutputRedirected && Spectre.Console.AnsiConsole.Profile.Capabilities.Interactive;

        var root = new RootCommand("GraphDl examples: TensorFlow-1-style training runs on the bundled datasets, logged for TensorBoard.");
        var list = new Command("list", "List the examples with a one-line description");
        list.SetAction(_ =>
        {
            var all = Catalog();
            int width = all.Max(e => e.Name.Length);
            foreach (var e in all)
                outWriter.WriteLine($"  {e.Name.PadRight(width)}  {e.Description}");
            outWriter.WriteLine();
            outWriter.WriteLine("Run one with: dotnet run --project src/GraphDl.Examples -- <name> [options]; options: <name> --help");
            return 0;
        });
        root.Subcommands.Add(list);

        ExampleResult? result = null;
        string? error = null;
        int exit = 0;
        foreach (var example in Catalog())
        {
            var common = new CommonOptions(example);
            var cmd = new Command(example.Name, example.Details);
            var options = common.All().Concat(example.OwnOptions()).ToList();
            foreach (var o in options)
                cmd.Options.Add(o);
            cmd.SetAction(parse =>
            {
                try
                {
                    result = RunOne(example, parse, common, options, outWriter, interactive, openGpu, ownsGpu);
                    return 0;
                }
                catch (Exception e) when (e is UsageException or DataFormatException)
                {
                    error = e.Message;
                    errWriter.WriteLine($"error: {e.Message}");
                    exit = UsageExitCode;
                    return UsageExitCode;
                }
                catch (Exception e) when (!rethrow)
                {
                    errWriter.WriteLine($"error: {example.Name} failed: {e}");
                    exit = 1;
                    return 1;
                }
            });
            root.Subcommands.Add(cmd);
        }

        ParseResult parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            string name = parsed.CommandResult.Command is { } c && c != root ? c.Name + " " : "";
            error = string.Join(Environment.NewLine, parsed.Errors.Select(e => e.Message));
            foreach (var e in parsed.Errors)
                errWriter.WriteLine($"error: {e.Message}");
            errWriter.WriteLine(name.Length == 0
                ? "Usage: <example> [options]; 'list' shows the examples, '<example> --help' their options."
                : $"See '{name}--help' for the options.");
            return (UsageExitCode, null, error);
        }
        int code = parsed.Invoke(new InvocationConfiguration { Output = outWriter, Error = errWriter, EnableDefaultExceptionHandler = !rethrow });
        return (exit != 0 ? exit : code, result, error);
    }

    static ExampleResult RunOne(Example example, ParseResult parse, CommonOptions common, IReadOnlyList<Option> options,
        TextWriter output, bool interactive, GpuOpener openGpu, bool ownsGpu)
    {
        var clock = Stopwatch.StartNew();
        string logDir = Path.GetFullPath(parse.GetValue(common.LogDir) ?? RepoPaths.DefaultLogDir(example.Name));
        string requested = parse.GetValue(common.Run) ?? DateTime.Now.ToString("yyyy-MM-dd'T'HH-mm-ss", CultureInfo.InvariantCulture);
        // Every invocation gets a folder of its own, so reruns never interleave their events.
        string runName = requested;
        for (int i = 2; Directory.Exists(Path.Combine(logDir, runName)); i++)
            runName = $"{requested}-{i}";
        string runDir = Path.Combine(logDir, runName);
        Directory.CreateDirectory(runDir);

        // TF1's soft placement: a GPU that cannot be opened leaves the run on the CPU, with one line saying why.
        string device = parse.GetValue(common.Device)!;
        CudaDevice? gpu = null;
        string? fallback = null;
        if (Opt.GpuOrdinal(device) is int ordinal)
        {
            gpu = openGpu(ordinal, out string why);
            if (gpu == null)
                fallback = $"--device {device}: no GPU ({why}); running on /cpu:0";
        }
        try
        {
            var ctx = new ExampleContext(example, parse, common, options, runDir, runName, output, interactive, gpu,
                fallback == null ? null : $"asked for {device}, which could not be opened");
            ctx.Line($"{example.Name}: {example.Description}");
            ctx.Line($"  log folder: {runDir}{(runName != requested ? $" ('{requested}' existed)" : "")}");
            if (fallback != null)
                ctx.Line("  " + fallback);
            else if (gpu != null)
                ctx.Line($"  device: {gpu.Name}");
            example.Run(ctx);
            var result = ctx.Result(clock.Elapsed);
            ctx.Line($"Finished {example.Name} in {clock.Elapsed.TotalSeconds:F1} s. TensorBoard: tensorboard --logdir \"{logDir}\"");
            return result;
        }
        finally
        {
            if (ownsGpu)
                gpu?.Dispose();
        }
    }
}
