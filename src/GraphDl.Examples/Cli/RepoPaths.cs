namespace GraphDl.Examples;

/// <summary>Finds the repository root the way <see cref="GraphDl.Data.DataPaths"/> finds <c>data/</c>.</summary>
public static class RepoPaths
{
    /// <summary>
    /// The nearest folder above the current directory (then above the program's base directory) that holds
    /// <c>GraphDl.sln</c> or a <c>data/</c> folder; the current directory when there is none.
    /// </summary>
    public static string Root()
    {
        var starts = new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory }
            .Select(p => Path.GetFullPath(p).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
            .Distinct();
        foreach (string marker in new[] { "GraphDl.sln", "data" })
            foreach (string start in starts)
                for (DirectoryInfo? dir = new(start); dir != null; dir = dir.Parent)
                {
                    string candidate = Path.Combine(dir.FullName, marker);
                    if (File.Exists(candidate) || Directory.Exists(candidate))
                        return dir.FullName;
                }
        return Directory.GetCurrentDirectory();
    }

    /// <summary>Default log folder of an example: <c>&lt;repo root&gt;/logs/&lt;example&gt;</c>.</summary>
    public static string DefaultLogDir(string example) => Path.Combine(Root(), "logs", example);
}
