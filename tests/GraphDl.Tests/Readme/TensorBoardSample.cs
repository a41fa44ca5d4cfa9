// The README's TensorBoard program, compiled and run by ReadmeTests (the README block must match this file).
// <tensorboard>
using GraphDl;
using GraphDl.Summaries;
using GraphDl.Train;

public static class TensorBoardSample
{
    public static void Run(string logDir)
    {
        var g = new Graph { Seed = 0 };
        Tensor x, y;
        using (g.NameScope("input"))
        {
            x = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "x");
            y = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
        }
        var prediction = g.Dense(x, 1, name: "linear");              // variables linear/kernel, linear/bias
        var loss = g.Mean(g.Square(prediction - y), name: "mse");
        var train = new GradientDescentOptimizer(0.1).Minimize(loss); // nodes under gradients/ and GradientDescent/

        // Summary ops are graph nodes; merge-all gathers the SUMMARIES collection into one op.
        g.ScalarSummary("train/loss", loss);
        foreach (var v in g.TrainableVariables) g.HistogramSummary("weights/" + v.Name, v.Value);
        var summaries = g.MergeAllSummaries()!;

        float[] xs = Enumerable.Range(0, 64).Select(i => i / 32f - 1).ToArray();
        var feeds = new[] { (x, NDArray.From(xs, 64, 1)), (y, NDArray.From(xs.Select(v => 3 * v + 2).ToArray(), 64, 1)) };

        using var writer = new FileWriter(Path.Combine(logDir, "run1"), g); // the graph, for the Graphs tab
        using var session = new Session(g);
        session.Run(g.GlobalVariablesInitializer());
        for (int step = 1; step <= 100; step++)
        {
            NDArray serialized;
            if (step == 1)
            {
                // One traced step: per-node times, memory and shapes for the "Session runs" view, and a Chrome trace.
                var trace = new StepTrace();
                serialized = session.Run([summaries], feeds, [train], new RunOptions { TraceLevel = RunTraceLevel.FullTrace }, trace)[0];
                writer.AddRunMetadata(RunMetadataExport.ToRunMetadata(trace), "step_1", step);
                File.WriteAllText(Path.Combine(logDir, "run1", "trace.json"), RunMetadataExport.ToChromeTrace(trace));
            }
            else
                serialized = session.Run([summaries], feeds, [train])[0];
            writer.AddSummary(serialized, step);                          // the merged summary's bytes
        }
        writer.AddScalar("final/loss", session.Run(loss, feeds).Item<float>(), 100); // any value computed outside the graph
    }                                                                     // Dispose flushes
}
// </tensorboard>
