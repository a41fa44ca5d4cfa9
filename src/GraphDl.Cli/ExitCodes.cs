namespace GraphDl.Cli;

/// <summary>The documented exit codes of <c>graphdl</c>.</summary>
public static class ExitCodes
{
    /// <summary>Everything was read and printed.</summary>
    public const int Ok = 0;

    /// <summary>Corrupt records were found (reported on stderr or in the health section); what was readable was still printed.</summary>
    public const int CorruptData = 1;

    /// <summary>A bad command line: unknown command or option, a missing or invalid value, an unknown run or tag, an unwritable output file.</summary>
    public const int Usage = 2;

    /// <summary>Nothing to read: the log directory is missing, holds no event files, or (graph) no run logged a graph.</summary>
    public const int NoLogs = 3;

    /// <summary><c>doctor --require-gpu</c> found no usable GPU.</summary>
    public const int NoGpu = 4;

    /// <summary>The exit-code table shown at the end of every --help.</summary>
    public const string HelpText = """
        Exit codes:
          0  ok
          1  corrupt records found (each reported with file and byte offset; everything readable is still shown)
          2  usage error: bad command line or option value, unknown --run or --tag, output file not writable
          3  nothing to read: LOGDIR missing, no event files (names containing 'tfevents') in it, or no graph logged
          4  doctor --require-gpu: no usable GPU
        """;
}

/// <summary>A failure that ends a command with a message on stderr and a documented exit code.</summary>
public sealed class CliException(int exitCode, string message) : Exception(message)
{
    /// <summary>The exit code to return.</summary>
    public int ExitCode { get; } = exitCode;
}
