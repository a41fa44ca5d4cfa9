namespace GraphDl;

/// <summary>Base of every error GraphDl raises on purpose.</summary>
public class GraphDlException : Exception
{
    /// <summary>Creates the error with its message.</summary>
    public GraphDlException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A node could not be added: bad shapes, dtypes or attributes. The message names the node, the op,
/// the input shapes and the caller's source line.</summary>
public sealed class GraphBuildException : GraphDlException
{
    /// <summary>Creates the error.</summary>
    public GraphBuildException(string message) : base(message) { }
}

/// <summary>A <c>Session.Run</c> call was given feeds or fetches it cannot use, or a kernel met bad values.</summary>
public class SessionRunException : GraphDlException
{
    /// <summary>Creates the error.</summary>
    public SessionRunException(string message, Exception? inner = null) : base(message, inner) { }
}

/// <summary>A feed is missing, unknown, or of the wrong dtype or shape; names the placeholder.</summary>
public sealed class FeedException : SessionRunException
{
    /// <summary>Creates the error.</summary>
    public FeedException(string message) : base(message) { }
}

/// <summary>A variable was read before it was initialized; names the variable.</summary>
public sealed class UninitializedVariableException : SessionRunException
{
    /// <summary>Creates the error.</summary>
    public UninitializedVariableException(string message) : base(message) { }

    /// <summary>The error for reading <paramref name="name"/> before it has a value; <paramref name="how"/> says where
    /// (read by a node, fetched, copied to a device).</summary>
    internal static UninitializedVariableException For(string? name, string? how = null) =>
        new($"Attempting to use uninitialized value {name}{(how == null ? "" : $" ({how})")}: run its initializer " +
            "(GlobalVariablesInitializer) or Load a value first");
}

/// <summary>Raised inside shape rules; the graph wraps it with the node, op and call site.</summary>
internal sealed class ShapeError(string message) : Exception(message);
