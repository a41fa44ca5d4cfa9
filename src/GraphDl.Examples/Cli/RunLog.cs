using System.Text;
using GraphDl.Summaries;

namespace GraphDl.Examples;

/// <summary>The TensorBoard event file of one run (or one variant of a run), with the example's tag conventions.</summary>
public sealed class RunLog : IDisposable
{
    readonly EventFileWriter _writer;

    internal RunLog(string dir, IEnumerable<(string Name, string Value)> hparams)
    {
        Dir = dir;
        _writer = new EventFileWriter(dir);
        var md = new StringBuilder("| option | value |\n| --- | --- |\n");
        foreach (var (name, value) in hparams)
            md.Append("| ").Append(name).Append(" | ").Append(value.Replace("|", "\\|")).Append(" |\n");
        _writer.AddText("hparams", md.ToString(), 0);
        _writer.Flush();
    }

    /// <summary>Folder holding the event file.</summary>
    public string Dir { get; }

    /// <summary>Full path of the event file.</summary>
    public string FilePath => _writer.FilePath;

    /// <summary>Logs a scalar (the epoch is the step by convention).</summary>
    public void Scalar(string tag, double value, long step) => _writer.AddScalar(tag, value, step);

    /// <summary>Logs a Markdown text.</summary>
    public void Text(string tag, string markdown, long step = 0) => _writer.AddText(tag, markdown, step);

    /// <summary>Pushes buffered events to disk.</summary>
    public void Flush() => _writer.Flush();

    /// <summary>Flushes and closes the event file.</summary>
    public void Dispose() => _writer.Dispose();
}
