// The README's quick-start program, compiled and run by ReadmeTests (the README block must match this file).
// <quickstart>
using GraphDl;
using GraphDl.Train;

public static class QuickStart
{
    public static float Run()
    {
        var g = new Graph { Seed = 0 };
        // y = 3x + 2 with a little noise, learned by a one-unit linear model.
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "x");
        var y = g.Placeholder(DType.Float32, Shape.Of(-1, 1), "y");
        var w = g.Variable(g.RandomNormal(Shape.Of(1, 1), stddev: 0.1), "w");
        var b = g.Variable(NDArray.From(new float[] { 0 }), "b");
        var prediction = g.MatMul(x, w) + b;
        var loss = g.Mean(g.Square(prediction - y));
        var train = new GradientDescentOptimizer(0.1).Minimize(loss);

        float[] xs = Enumerable.Range(0, 64).Select(i => i / 32f - 1).ToArray();
        float[] ys = xs.Select((v, i) => 3 * v + 2 + 0.01f * MathF.Sin(i)).ToArray();
        var feeds = new[] { (x, NDArray.From(xs, 64, 1)), (y, NDArray.From(ys, 64, 1)) };

        using var session = new Session(g);
        session.Run(g.GlobalVariablesInitializer());
        for (int step = 0; step < 200; step++)
            session.Run([loss], feeds, [train]);
        Console.WriteLine($"w = {w.Eval(session).Item<float>():F2}, b = {b.Eval(session).Item<float>():F2}");
        return session.Run(loss, feeds).Item<float>();
    }
}
// </quickstart>
