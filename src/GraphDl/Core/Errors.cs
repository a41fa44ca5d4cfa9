namespace GraphDl;

/// <summary>Base class for errors raised by GraphDl with a message meant for the user.</summary>
public class GraphDlException : Exception
{
    /// <summary>Creates the error with a message and an optional inner exception.</summary>
    public GraphDlException(string message, Exception? inner = null) : base(message, inner) { }
}
