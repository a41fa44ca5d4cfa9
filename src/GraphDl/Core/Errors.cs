namespace GraphDl.Core;

/// <summary>Base type of every error GraphDl raises on purpose.</summary>
public class GraphDlException : Exception
{
    /// <summary>Creates an error with a message and an optional cause.</summary>
    public GraphDlException(string message, Exception? inner = null) : base(message, inner) { }
}
