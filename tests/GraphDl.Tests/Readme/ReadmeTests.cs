using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Readme;

public class ReadmeTests
{
    static string Block(string text, string open, string close)
    {
        int a = text.IndexOf(open, StringComparison.Ordinal), b = a < 0 ? -1 : text.IndexOf(close, a + open.Length, StringComparison.Ordinal);
        Assert.That(a, Is.GreaterThanOrEqualTo(0), $"marker {open} missing");
        Assert.That(b, Is.GreaterThan(a), $"marker {close} missing");
        return text[(a + open.Length)..b].Trim().Replace("\r\n", "\n");
    }

    [Test]
    public void QuickStart_InTheReadme_IsTheProgramThisTestRuns()
    {
        string root = Path.GetDirectoryName(DataPaths.Find("README.md"))!;
        string readme = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "README.md"));
        string source = File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "tests", "GraphDl.Tests", "Readme", "QuickStart.cs"));
        var fromReadme = Block(readme, "```csharp", "```");
        var fromFile = Block(source, "// <quickstart>", "// </quickstart>");
        Assert.That(fromReadme, Is.EqualTo(fromFile));
    }

    [Test]
    public void QuickStart_LearnsTheLine()
    {
        float loss = QuickStart.Run();
        Assert.That(loss, Is.LessThan(1e-3f));
    }
}
