using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class DataPathsTests
{
    [Test]
    public void FindsRepoDataFromTestBinFolder()
    {
        string p = DataPaths.Find("iris.csv");
        Assert.That(File.Exists(p), Is.True);
        Assert.That(Path.GetFileName(Path.GetDirectoryName(p)), Is.EqualTo("data"));
        Assert.That(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "README.md")), Is.True, "the repo's data/README.md sits beside it");
    }

    [Test, NonParallelizable]
    public void FindsFromAnySubfolderOfTheRepo()
    {
        string repoData = Path.GetDirectoryName(DataPaths.Find("iris.csv"))!;
        string sub = Path.Combine(Path.GetDirectoryName(repoData)!, "src");
        string old = Directory.GetCurrentDirectory();
        try
        {
            Directory.SetCurrentDirectory(sub);
            Assert.That(DataPaths.Find("iris.csv"), Is.EqualTo(Path.Combine(repoData, "iris.csv")));
        }
        finally
        {
            Directory.SetCurrentDirectory(old);
        }
    }

    [Test]
    public void MissingFileGivesClearError()
    {
        var e = Assert.Throws<DataFormatException>(() => DataPaths.Find("no-such-file.csv"))!;
        Assert.That(e.Message, Does.Contain("data/no-such-file.csv").And.Contain("--data"));
        Assert.Throws<ArgumentException>(() => DataPaths.Find(Path.GetFullPath("x.csv")));
    }

    [Test]
    public void ResolvePrefersUserPath()
    {
        string iris = DataPaths.Find("iris.csv");
        Assert.That(DataPaths.Resolve(iris, "diabetes.csv"), Is.EqualTo(iris));
        Assert.That(DataPaths.Resolve(null, "iris.csv"), Is.EqualTo(iris));
        Assert.Throws<DataFormatException>(() => DataPaths.Resolve("/definitely/not/here.csv", "iris.csv"));
    }
}
