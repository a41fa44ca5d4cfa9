namespace GraphDl;

/// <summary>How much a run records (TF1's <c>RunOptions.trace_level</c>).</summary>
public enum RunTraceLevel
{
    /// <summary>Nothing.</summary>
    NoTrace,
    /// <summary>Per-node start, duration, device and outputs.</summary>
    FullTrace,
}

/// <summary>Options for one <c>Session.Run</c> call (TF1's <c>RunOptions</c>).</summary>
public sealed class RunOptions
{
    /// <summary>What to record.</summary>
    public RunTraceLevel TraceLevel { get; init; }
}

/// <summary>One kernel's record in a traced run.</summary>
/// <param name="Node">The node name (for copies: <c>_copy_to_&lt;device&gt;</c> plus the source slot).</param>
/// <param name="OpType">The op type, or <c>_Copy</c>.</param>
/// <param name="Device">Where it ran.</param>
/// <param name="StartMicros">Start, in microseconds since the Unix epoch.</param>
/// <param name="DurationNanos">How long the kernel took.</param>
/// <param name="Outputs">Each output's dtype and dims.</param>
/// <param name="OutputBytes">Bytes of the outputs the kernel produced.</param>
/// <param name="ThreadId">The managed thread that ran it.</param>
public sealed record NodeTrace(string Node, string OpType, string Device, long StartMicros, long DurationNanos,
    IReadOnlyList<(DType DType, int[] Dims)> Outputs, long OutputBytes, int ThreadId);

/// <summary>What a traced run recorded (TF1's <c>RunMetadata.step_stats</c>, before serialization).</summary>
public sealed class StepTrace
{
    /// <summary>Kernels in the order they ran.</summary>
    public List<NodeTrace> Nodes { get; } = [];
    /// <summary>Wall time of the whole run.</summary>
    public TimeSpan Elapsed { get; internal set; }
}
