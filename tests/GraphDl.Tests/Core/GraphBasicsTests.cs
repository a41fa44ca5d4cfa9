using NUnit.Framework;

namespace GraphDl.Tests.Core;

public class GraphBasicsTests
{
    [Test]
    public void Session_Run_ComputesArithmeticWithBroadcasting()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var b = g.Const(NDArray.From(new float[] { 1, 2, 3 }));
        var y = x * 2.0 + b;
        using var s = new Session(g);
        var r = s.Run(y, (x, new float[,] { { 1, 1, 1 }, { 2, 2, 2 } }));
        Assert.That(r.ToArray<float>(), Is.EqualTo(new float[] { 3, 4, 5, 5, 6, 7 }));
        Assert.That(r.Dims.ToArray(), Is.EqualTo(new[] { 2, 3 }));
    }

    [Test]
    public void MatMul_InnerMismatch_NamesNodeShapesAndCallerLine()
    {
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Of(-1, 3));
        var w = g.Const(NDArray.Zeros(DType.Float32, 4, 10));
        GraphBuildException? e = null;
        using (g.NameScope("dense"))
            e = Assert.Throws<GraphBuildException>(() => g.MatMul(a, w));
        Assert.That(e!.Message, Does.StartWith("MatMul 'dense/MatMul': inner dimensions differ, [?,3] x [4,10] (GraphBasicsTests.cs:"));
    }

    [Test]
    public void Operator_BadBroadcast_NamesTheLineOfTheTest()
    {
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Of(2, 3));
        var b = g.Placeholder(DType.Float32, Shape.Of(4));
        int line = 0;
        var e = Assert.Throws<GraphBuildException>(() => { line = Line(); _ = a * b; });
        Assert.That(e!.Message, Does.Contain("Mul 'Mul'"));
        Assert.That(e.Message, Does.Contain("[2,3] and [4]"));
        Assert.That(e.Message, Does.EndWith($"(GraphBasicsTests.cs:{line})"));
    }

    static int Line([System.Runtime.CompilerServices.CallerLineNumber] int n = 0) => n;

    [Test]
    public void Gradients_OfCube_GiveFirstAndSecondDerivative()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float64, Shape.Scalar, "x");
        var y = x * x * x;
        var dy = g.Gradient(y, x)!;
        var d2y = g.Gradient(dy, x)!;
        using var s = new Session(g);
        var r = s.Run([dy, d2y], (x, 2.0));
        Assert.That(r[0].Item<double>(), Is.EqualTo(12.0).Within(1e-12));
        Assert.That(r[1].Item<double>(), Is.EqualTo(12.0).Within(1e-12));
        Assert.That(dy.Op.Name, Does.StartWith("gradients/"));
    }

    [Test]
    public void Variable_TrainsByAssignSub()
    {
        var g = new Graph();
        var w = g.Variable(NDArray.From(new float[] { 5f }), "w");
        var loss = g.Sum(g.Square(w.Value));
        var grad = g.Gradient(loss, w.Value)!;
        var step = w.AssignSub(grad * 0.1);
        using var s = new Session(g);
        Assert.Throws<UninitializedVariableException>(() => s.Run(loss));
        s.Run(g.GlobalVariablesInitializer());
        for (int i = 0; i < 50; i++) s.Run(step);
        Assert.That(w.Eval(s).ToArray<float>()[0], Is.EqualTo(5f * MathF.Pow(0.8f, 50)).Within(1e-6));
    }

    [Test]
    public void Feed_Missing_NamesThePlaceholder()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 2), "inputs");
        var y = g.Sum(x);
        using var s = new Session(g);
        var e = Assert.Throws<FeedException>(() => s.Run(y));
        Assert.That(e!.Message, Does.Contain("'inputs'"));
        var e2 = Assert.Throws<FeedException>(() => s.Run(y, (x, new float[] { 1, 2, 3 })));
        Assert.That(e2!.Message, Does.Contain("[3]").And.Contain("[?,2]").And.Contain("'inputs'"));
    }
}
