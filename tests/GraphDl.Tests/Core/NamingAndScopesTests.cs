using NUnit.Framework;

namespace GraphDl.Tests.Core;

public class NamingAndScopesTests
{
    [Test]
    public void Names_AreUniqueTfStyle_InsideNameScopes()
    {
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Of(2, 2), "a");
        Tensor m1, m2, m3;
        using (g.NameScope("dense")) { m1 = g.MatMul(a, a); m2 = g.MatMul(a, a); }
        using (g.NameScope("dense")) m3 = g.MatMul(a, a);
        Assert.That(m1.Op.Name, Is.EqualTo("dense/MatMul"));
        Assert.That(m2.Op.Name, Is.EqualTo("dense/MatMul_1"));
        Assert.That(m3.Op.Name, Is.EqualTo("dense_1/MatMul"));
        Assert.That(m1.Name, Is.EqualTo("dense/MatMul:0"));
        Assert.That(g.GetTensor("dense/MatMul_1:0"), Is.SameAs(m2));
        using (g.NameScope("dense/")) Assert.That(g.Identity(a).Op.Name, Is.EqualTo("dense/Identity"));
    }

    [Test]
    public void NameEndingInSlash_NamesTheOpExactlyThatScope()
    {
        // TF's convention: `with tf.name_scope("loss") as scope: ...; op(name=scope)` makes the node `loss`, helpers under `loss/`.
        var g = new Graph();
        var a = g.Placeholder(DType.Float32, Shape.Of(2), "a");
        Tensor helper, op, op2;
        using (g.NameScope("loss")) { helper = g.Identity(a); op = g.Identity(helper, g.CurrentScope); }
        using (g.NameScope("loss")) op2 = g.Identity(a, g.CurrentScope);
        Assert.That((helper.Op.Name, op.Op.Name, op2.Op.Name), Is.EqualTo(("loss/Identity", "loss", "loss_1")));
        Assert.That(g.GetOperation("loss"), Is.SameAs(op.Op));
        // Nested: the scope name is absolute, and a later plain "loss" is made unique past it.
        using (g.NameScope("outer")) using (g.NameScope("loss")) Assert.That(g.Identity(a, g.CurrentScope).Op.Name, Is.EqualTo("outer/loss"));
        Assert.That(g.Identity(a, "loss").Op.Name, Is.EqualTo("loss_2"));
        // Not made unique again: a taken name is an error, and so is a bare "/".
        var dup = Assert.Throws<GraphBuildException>(() => g.Identity(a, "loss/"));
        Assert.That(dup!.Message, Does.Contain("already has an operation named 'loss'"));
        Assert.Throws<GraphBuildException>(() => g.Identity(a, "/"));
        Assert.That(g.Identity(a, "fresh/").Op.Name, Is.EqualTo("fresh"));
        Assert.That(g.Identity(a, "fresh").Op.Name, Is.EqualTo("fresh_1"));
    }

    [Test]
    public void GetVariable_FollowsTf1ReuseRules()
    {
        var g = new Graph();
        Variable w;
        using (g.VariableScope("layer")) w = g.GetVariable("w", Shape.Of(3, 4));
        Assert.That(w.Name, Is.EqualTo("layer/w"));
        var dup = Assert.Throws<GraphBuildException>(() => { using (g.VariableScope("layer")) g.GetVariable("w", Shape.Of(3, 4)); });
        Assert.That(dup!.Message, Does.Contain("layer/w already exists"));
        using (g.VariableScope("layer", reuse: Reuse.Yes)) Assert.That(g.GetVariable("w", Shape.Of(3, 4)), Is.SameAs(w));
        var missing = Assert.Throws<GraphBuildException>(() => { using (g.VariableScope("other", reuse: Reuse.Yes)) g.GetVariable("w", Shape.Of(3, 4)); });
        Assert.That(missing!.Message, Does.Contain("other/w does not exist"));
        using (g.VariableScope("layer", reuse: Reuse.Auto))
        {
            Assert.That(g.GetVariable("w", Shape.Of(3, 4)), Is.SameAs(w));
            Assert.That(g.GetVariable("b", Shape.Of(4)).Name, Is.EqualTo("layer/b"));
        }
        var shape = Assert.Throws<GraphBuildException>(() => { using (g.VariableScope("layer", reuse: Reuse.Yes)) g.GetVariable("w", Shape.Of(4, 4)); });
        Assert.That(shape!.Message, Does.Contain("[4,4]").And.Contain("[3,4]"));
        // variable names ignore name scopes, as in TF1
        using (g.NameScope("outer")) using (g.VariableScope("v")) Assert.That(g.GetVariable("k", Shape.Of(1)).Name, Is.EqualTo("v/k"));
    }

    [Test]
    public void Collections_TrackVariablesAndRegularizers()
    {
        var g = new Graph();
        var t = g.Variable(NDArray.From(new float[] { 1 }), "t");
        var n = g.Variable(NDArray.From(new float[] { 1 }), "n", trainable: false);
        g.GetVariable("r", Shape.Of(2), regularizer: w => g.Sum(g.Square(w)));
        Assert.That(g.GlobalVariables.Select(v => v.Name), Is.EqualTo(new[] { "t", "n", "r" }));
        Assert.That(g.TrainableVariables.Select(v => v.Name), Is.EqualTo(new[] { "t", "r" }));
        Assert.That(g.GetCollection<Tensor>(GraphKeys.RegularizationLosses), Has.Count.EqualTo(1));
        g.AddToCollection(GraphKeys.UpdateOps, t.Op);
        Assert.That(g.GetCollection<Operation>(GraphKeys.UpdateOps), Is.EqualTo(new[] { t.Op }));
    }

    [Test]
    public void ControlDependencies_OrderSideEffects()
    {
        var g = new Graph();
        var v = g.Variable(NDArray.From(new float[] { 1 }), "v");
        var inc = v.AssignAdd(g.Const(NDArray.From(new float[] { 1 })));
        Tensor read;
        using (g.ControlDependencies(inc.Op)) read = g.Identity(v.Value);
        Assert.That(read.Op.ControlInputs, Does.Contain(inc.Op));
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        s.Run(read);
        s.Run(read);
        Assert.That(v.Eval(s).ToArray<float>(), Is.EqualTo(new float[] { 3 }));
    }

    [Test]
    public void PlaceholderWithDefault_UsesTheDefaultUnlessFed()
    {
        var g = new Graph();
        var training = g.PlaceholderWithDefault(g.Const(false), Shape.Scalar, "training");
        var y = g.Where(training, g.Const(1f), g.Const(0f));
        using var s = new Session(g);
        Assert.That(s.Run(y).Item<float>(), Is.EqualTo(0f));
        Assert.That(s.Run(y, (training, true)).Item<float>(), Is.EqualTo(1f));
    }

    [Test]
    public void DTypes_AndCasts()
    {
        var g = new Graph();
        var f = g.Const(NDArray.From(new float[] { 1.7f, -1.7f, 0 }));
        using var s = new Session(g);
        Assert.That(s.Run(g.Cast(f, DType.Int32)).ToArray<int>(), Is.EqualTo(new[] { 1, -1, 0 }));
        Assert.That(s.Run(g.Cast(f, DType.Int64)).ToArray<long>(), Is.EqualTo(new long[] { 1, -1, 0 }));
        Assert.That(s.Run(g.Cast(f, DType.Bool)).ToArray<bool>(), Is.EqualTo(new[] { true, true, false }));
        Assert.That(s.Run(g.Cast(g.Cast(f, DType.Bool), DType.UInt8)).ToArray<byte>(), Is.EqualTo(new byte[] { 1, 1, 0 }));
        Assert.That(s.Run(g.Cast(f, DType.Float64)).ToArray<double>()[0], Is.EqualTo((double)1.7f));
        Assert.That(s.Run(g.Const("text")).Item<string>(), Is.EqualTo("text"));
        var e = Assert.Throws<GraphBuildException>(() => _ = f + g.Const(NDArray.From(new double[] { 1, 2, 3 })));
        Assert.That(e!.Message, Does.Contain("float32").And.Contain("float64"));
        var i = g.Const(NDArray.From(new[] { 7, 8 }));
        Assert.That(s.Run(i * 2.0 + 1.0).ToArray<int>(), Is.EqualTo(new[] { 15, 17 }));
    }

    [Test]
    public void NDArray_ConvertsToAndFromClrArrays()
    {
        NDArray m = new float[,] { { 1, 2, 3 }, { 4, 5, 6 } };
        Assert.That(m.Dims.ToArray(), Is.EqualTo(new[] { 2, 3 }));
        Assert.That((float[,])m.ToMultiDimArray(), Is.EqualTo(new float[,] { { 1, 2, 3 }, { 4, 5, 6 } }));
        Assert.That(m.GetValue<float>(1, 2), Is.EqualTo(6f));
        Assert.That(m.AsSpan<float>().ToArray(), Is.EqualTo(new float[] { 1, 2, 3, 4, 5, 6 }));
        Assert.That((double[])NDArray.From(new double[] { 1, 2 }), Is.EqualTo(new double[] { 1, 2 }));
        Assert.That(NDArray.From(new[] { 1, 2, 3, 4 }, 2, 2).ToFloatArray(), Is.EqualTo(new float[] { 1, 2, 3, 4 }));
        Assert.Throws<ArgumentException>(() => NDArray.From(new float[5], 2, 2));
        Assert.Throws<InvalidCastException>(() => m.AsSpan<double>());
    }
}

public class VariableAndSpanTests
{
    [Test]
    public void Variable_FromInitializer_AndSpans()
    {
        var g = new Graph();
        var v = g.Variable(GraphDl.Train.Initializers.Constant(2.5), Shape.Of(2, 3), DType.Float64, "v", trainable: false);
        Assert.That(v.Name, Is.EqualTo("v"));
        Assert.That(v.Trainable, Is.False);
        using var s = new Session(g);
        s.Run(g.GlobalVariablesInitializer());
        var r = v.Eval(s);
        Span<double> buf = stackalloc double[6];
        r.CopyTo(buf);
        Assert.That(buf.ToArray(), Has.All.EqualTo(2.5));
        ReadOnlySpan<float> src = [1, 2, 3, 4];
        var a = NDArray.FromSpan(src, 2, 2);
        Assert.That(a.GetValue<float>(1, 0), Is.EqualTo(3f));
    }
}
