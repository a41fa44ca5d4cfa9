namespace GraphDl.Examples;

/// <summary>A bad command line or option value found while an example starts; the runner prints it and exits with code 2.</summary>
public sealed class UsageException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>Exit code the runner returns for this error.</summary>
    public const int ExitCode = 2;
}
