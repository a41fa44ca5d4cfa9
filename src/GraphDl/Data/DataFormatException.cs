namespace GraphDl.Data;

/// <summary>A data file is missing, unreadable or malformed; the message names the file and the place.</summary>
public sealed class DataFormatException : GraphDlException
{
    /// <summary>Creates the error with a message and an optional inner exception.</summary>
    public DataFormatException(string message, Exception? inner = null) : base(message, inner) { }
}
