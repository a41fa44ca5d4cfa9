namespace GraphDl.Data;

/// <summary>Locates the repository's <c>data/</c> folder, so examples and tests find their files from any working directory.</summary>
public static class DataPaths
{
    /// <summary>Name of the data folder searched for.</summary>
    public const string FolderName = "data";

    /// <summary>
    /// Full path of <c>data/<paramref name="relative"/></c> (a file or a folder): walks up from the current
    /// directory, then from <see cref="AppContext.BaseDirectory"/>, and returns the first match (nearest first).
    /// Throws <see cref="DataFormatException"/> listing where it looked when nothing is found.
    /// </summary>
    public static string Find(string relative)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(relative);
        if (Path.IsPathRooted(relative))
            throw new ArgumentException($"DataPaths.Find takes a path relative to data/, not '{relative}'.", nameof(relative));

        var starts = new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory }
            .Select(p => Path.GetFullPath(p).TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar))
            .Distinct()
            .ToArray();
        foreach (string start in starts)
        {
            for (DirectoryInfo? dir = new(start); dir != null; dir = dir.Parent)
            {
                string candidate = Path.Combine(dir.FullName, FolderName, relative);
                if (File.Exists(candidate) || Directory.Exists(candidate))
                    return Path.GetFullPath(candidate);
            }
        }
        throw new DataFormatException(
            $"Could not find {FolderName}/{relative} in {string.Join(" or ", starts)} or any folder above them. " +
            "Run from inside the GraphDl repository, or pass the file with --data PATH.");
    }

    /// <summary>
    /// The path given on the command line (<c>--data</c>) when there is one, which must exist; otherwise
    /// <see cref="Find"/> of the default relative path.
    /// </summary>
    public static string Resolve(string? userPath, string defaultRelative)
    {
        if (string.IsNullOrWhiteSpace(userPath))
            return Find(defaultRelative);
        string full = Path.GetFullPath(userPath);
        if (!File.Exists(full) && !Directory.Exists(full))
            throw new DataFormatException($"--data {userPath}: no such file or folder ({full}).");
        return full;
    }
}
