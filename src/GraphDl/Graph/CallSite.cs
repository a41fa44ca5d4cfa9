using System.Diagnostics;

namespace GraphDl;

/// <summary>Finds the user's source line that led to an error: the first stack frame outside GraphDl.</summary>
internal static class CallSite
{
    static readonly System.Reflection.Assembly Self = typeof(CallSite).Assembly;

    /// <summary><c> (Program.cs:42)</c>, or empty when no frame with a file is found.</summary>
    public static string Describe()
    {
        var trace = new StackTrace(1, fNeedFileInfo: true);
        foreach (var frame in trace.GetFrames())
        {
            var m = frame.GetMethod();
            if (m == null || m.DeclaringType?.Assembly == Self) continue;
            var file = frame.GetFileName();
            if (file == null) continue;
            return $" ({Path.GetFileName(file)}:{frame.GetFileLineNumber()})";
        }
        return "";
    }
}
