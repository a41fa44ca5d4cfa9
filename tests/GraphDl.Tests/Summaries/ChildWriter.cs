using System.Globalization;
using GraphDl.Summaries;

namespace GraphDl.Tests.Summaries;

/// <summary>Entry point of the test assembly when started as a child process (<c>dotnet exec GraphDl.Tests.dll write-events DIR</c>):
/// writes scalars through a <see cref="FileWriter"/> forever, flushing every 10 steps and printing <c>flushed STEP</c>,
/// until it is killed. The test runner itself never calls it.</summary>
public static class ChildWriter
{
    /// <summary>Runs the child role named by <paramref name="args"/>; returns 2 for unknown arguments.</summary>
    public static int Main(string[] args)
    {
        if (args.Length != 2 || args[0] != "write-events") return 2;
        using var w = new FileWriter(args[1], flushInterval: TimeSpan.FromHours(1));
        Console.Out.WriteLine("file " + w.FilePath);
        Console.Out.Flush();
        var payload = new string('x', 300); // bigger records make a torn write more likely when killed
        for (long step = 0; step < 1_000_000; step++) // bounded, in case nobody kills it
        {
            w.AddScalar("x", step, step);
            w.AddText("t", payload + step.ToString(CultureInfo.InvariantCulture), step);
            if (step % 10 == 9)
            {
                w.Flush();
                Console.Out.WriteLine("flushed " + step.ToString(CultureInfo.InvariantCulture));
                Console.Out.Flush();
                Thread.Sleep(1);
            }
        }
        return 0;
    }
}
