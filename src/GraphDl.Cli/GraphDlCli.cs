using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;
using System.CommandLine.Parsing;
using System.Globalization;

namespace GraphDl.Cli;

/// <summary>The <c>graphdl</c> command line: <c>logs</c>, <c>scalars</c>, <c>plot</c>, <c>graph</c>.</summary>
public static class GraphDlCli
{
    /// <summary>Runs a command line, printing to the given writers; returns the exit code (see <see cref="ExitCodes"/>).</summary>
    public static int Run(string[] args, TextWriter output, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var culture = CultureInfo.CurrentCulture;
        CultureInfo.CurrentCulture = CultureInfo.InvariantCulture; // numbers print the same everywhere
        try
        {
            var parse = BuildRoot(output, error).Parse(args);
            if (parse.Action is ParseErrorAction)
            {
                foreach (var e in parse.Errors) error.WriteLine($"graphdl: {e.Message}");
                error.WriteLine("Run 'graphdl --help' (or 'graphdl COMMAND --help') for usage.");
                return ExitCodes.Usage;
            }
            return parse.Invoke(new InvocationConfiguration { Output = output, Error = error });
        }
        finally
        {
            CultureInfo.CurrentCulture = culture;
        }
    }

    static Command BuildRoot(TextWriter output, TextWriter error)
    {
        // A plain Command named graphdl (RootCommand would take the assembly name, GraphDl.Cli, for the usage line).
        var root = new Command("graphdl", """
            graphdl: inspect TensorBoard logs (event files) without TensorBoard.
            LOGDIR is a log directory: every folder under it that holds event files (names containing 'tfevents')
            is a run, named by its path relative to LOGDIR ('.' for LOGDIR itself), as TensorBoard names runs.
            LOGDIR may also be a single event file.
            """);

        var logsCmd = new Command("logs", "List runs, their tags grouped by kind (scalars, histograms, images, text, ...), step ranges, "
            + "last scalar values, graph and run metadata, wall-clock span, and file health (records ok, corrupt records with "
            + "file and byte offset, truncated tail).");
        var logsDir = LogDirArgument();
        logsCmd.Arguments.Add(logsDir);
        logsCmd.SetAction(p => Guard(error, () => LogsCommand.Run(p.GetRequiredValue(logsDir), output, error)));

        var scalarsCmd = new Command("scalars", "Print one scalar tag's series (step, wall time, value) from every run that has it, "
            + "as a table or as CSV with the header run,step,wall_time,value (wall_time in Unix seconds; values print "
            + "exactly: the shortest text that reads back to the stored float32 or float64).");
        var scalarsDir = LogDirArgument();
        var scalarsTag = TagOption();
        var scalarsRun = RunOption();
        var csv = new Option<bool>("--csv") { Description = "Write CSV instead of a table" };
        scalarsCmd.Arguments.Add(scalarsDir);
        scalarsCmd.Options.Add(scalarsTag);
        scalarsCmd.Options.Add(scalarsRun);
        scalarsCmd.Options.Add(csv);
        scalarsCmd.SetAction(p => Guard(error, () => ScalarsCommand.Run(p.GetRequiredValue(scalarsDir), p.GetRequiredValue(scalarsTag),
            p.GetValue(scalarsRun), p.GetValue(csv), output, error)));

        var plotCmd = new Command("plot", "Draw one scalar tag as a PNG line chart, one line per run, with a legend; smoothing is "
            + "TensorBoard's (debiased exponential moving average), drawn over the faint raw line. The font is embedded, "
            + "so it renders on machines without fontconfig.");
        var plotDir = LogDirArgument();
        var plotTag = TagOption();
        var plotRun = RunOption();
        var outFile = new Option<string>("--output", "-o") { Description = "The PNG file to write", Required = true, HelpName = "FILE" };
        var smooth = new Option<double>("--smooth")
        {
            Description = "Smoothing weight in [0, 1), as TensorBoard's slider; 0 draws the raw values only",
            DefaultValueFactory = _ => 0.6,
            CustomParser = r => ParseNumber(r, "--smooth", w => w >= 0 && w < 1, "at least 0 and below 1"),
            HelpName = "W",
        };
        var width = SizeOption("--width", 1000, "Image width in pixels");
        var height = SizeOption("--height", 600, "Image height in pixels");
        plotCmd.Arguments.Add(plotDir);
        foreach (var o in new Option[] { plotTag, plotRun, outFile, smooth, width, height }) plotCmd.Options.Add(o);
        plotCmd.SetAction(p => Guard(error, () => PlotCommand.Run(p.GetRequiredValue(plotDir), p.GetRequiredValue(plotTag),
            p.GetValue(plotRun), p.GetRequiredValue(outFile), p.GetValue(smooth), p.GetValue(width), p.GetValue(height), output, error)));

        var graphCmd = new Command("graph", "Summarize the logged graph of each run (its last graph_def event, as TensorBoard shows): "
            + "node count, data and control inputs, op-type histogram, top-level scopes with node counts, devices.");
        var graphDir = LogDirArgument();
        var graphRun = RunOption();
        graphCmd.Arguments.Add(graphDir);
        graphCmd.Options.Add(graphRun);
        graphCmd.SetAction(p => Guard(error, () => GraphCommand.Run(p.GetRequiredValue(graphDir), p.GetValue(graphRun), output, error)));

        var doctorCmd = new Command("doctor", "Check GPU support: whether a CUDA driver library was found (which file) and its version, "
            + "each GPU's name, memory and compute capability, whether cuBLAS loaded (which file), and what to do about anything "
            + "missing. A machine without a GPU gets a 'no GPU' report and exit code 0 (unless --require-gpu).");
        var requireGpu = new Option<bool>("--require-gpu") { Description = "Exit with code 4 when no GPU is usable" };
        doctorCmd.Options.Add(requireGpu);
        doctorCmd.SetAction(p => Guard(error, () => DoctorCommand.Run(p.GetValue(requireGpu), output)));

        foreach (var c in new[] { logsCmd, scalarsCmd, plotCmd, graphCmd, doctorCmd }) root.Subcommands.Add(c);
        root.Options.Add(new HelpOption());
        root.Options.Add(new VersionOption());

        // Every --help (root and subcommands share the recursive help option) ends with the exit codes.
        foreach (var help in root.Options.OfType<HelpOption>())
            if (help.Action is CommandLineAction inner)
                help.Action = new HelpWithExitCodes(inner);
        return root;
    }

    static Argument<string> LogDirArgument() => new("LOGDIR") { Description = "The log directory (or one event file)" };

    static Option<string> TagOption() => new("--tag", "-t") { Description = "The scalar tag, e.g. loss or train/loss", Required = true, HelpName = "TAG" };

    static Option<string?> RunOption() => new("--run", "-r") { Description = "Only this run (as 'graphdl logs' names it); default: every run", HelpName = "RUN" };

    static Option<int> SizeOption(string name, int value, string description) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => value,
        CustomParser = r => (int)ParseNumber(r, name, v => v == Math.Floor(v) && v is >= 50 and <= 10000, "a whole number from 50 to 10000"),
        HelpName = "PX",
    };

    /// <summary>Parses an option's number with the invariant culture, adding a parse error when it is not one or out of range.</summary>
    static double ParseNumber(ArgumentResult r, string name, Func<double, bool> valid, string range)
    {
        string text = r.Tokens.Count > 0 ? r.Tokens[^1].Value : "";
        if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double v))
            r.AddError($"{name} takes a number, got '{text}'");
        else if (!valid(v))
            r.AddError($"{name} must be {range}, got {text}");
        return v;
    }

    /// <summary>Turns a <see cref="CliException"/> into its message on stderr and its exit code.</summary>
    static int Guard(TextWriter error, Func<int> body)
    {
        try { return body(); }
        catch (CliException ex)
        {
            error.WriteLine($"graphdl: {ex.Message}");
            return ex.ExitCode;
        }
    }

    sealed class HelpWithExitCodes(CommandLineAction inner) : SynchronousCommandLineAction
    {
        public override int Invoke(ParseResult parseResult)
        {
            int code = inner is SynchronousCommandLineAction sync ? sync.Invoke(parseResult) : 0;
            var o = parseResult.InvocationConfiguration.Output;
            o.WriteLine(ExitCodes.HelpText);
            return code;
        }
    }
}
