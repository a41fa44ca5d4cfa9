using Google.Protobuf;
using GraphDl.Ops;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

/// <summary>GraphDef export: TF 1.15 node names, op types, inputs and attrs, checked against TensorBoard's golden graph.</summary>
public sealed class GraphDefExportTests
{
    const string Cpu = "/job:localhost/replica:0/task:0/device:CPU:0";

    static readonly string GoldenTrain = Path.Combine(TestContext.CurrentContext.TestDirectory, "Golden", "tensorboard-logdir", "train",
        "events.out.tfevents.1795713133.vm.21732.0");

    /// <summary>The golden logdir's 9-node graph built with GraphDl ops.</summary>
    internal static Graph GoldenGraph()
    {
        var g = new Graph();
        Tensor relu;
        Operation w, b;
        using (g.Device(Cpu))
        {
            Tensor x;
            using (g.NameScope("input")) x = g.Placeholder(DType.Float32, Shape.Of(-1, 4), "x");
            using (g.NameScope("layer1"))
            {
                var wv = g.Const(NDArray.From(Enumerable.Range(0, 12).Select(i => (float)(i * 0.1)).ToArray(), 4, 3), "W");
                var bv = g.Const(NDArray.From(new float[3]), "b");
                (w, b) = (wv.Op, bv.Op);
                relu = g.Relu(g.Add(g.MatMul(x, wv), bv, "add"));
            }
            using (g.NameScope("loss"))
            {
                // TF names the axes constant after its reduction: loss/Mean/reduction_indices.
                var axes = g.Const(NDArray.From(new[] { 0, 1 }), "Mean/reduction_indices");
                g.AddOp(Reduce.Mean, [relu, axes], new Attrs { ["keep_dims"] = false }, "Mean");
            }
        }
        g.Group([w, b], "init");
        return g;
    }

    [Test]
    public void GoldenGraph_SameNamesInputsAttrKeysAndDevices()
    {
        var golden = GraphDef.Parser.ParseFrom(EventFileReader.ReadEvents(GoldenTrain).Single(e => e.WhatCase == Event.WhatOneofCase.GraphDef).GraphDef);
        var mine = GraphDefExport.ToGraphDef(GoldenGraph());
        Assert.That(GraphDefExport.Validate(mine), Is.Empty);
        Assert.That(mine.Node.Select(n => n.Name), Is.EqualTo(golden.Node.Select(n => n.Name)));
        for (int i = 0; i < golden.Node.Count; i++)
        {
            var (want, got) = (golden.Node[i], mine.Node[i]);
            // The golden graph was written by TensorFlow 2 (AddV2); GraphDl writes TF 1.15's op type Add.
            Assert.That(got.Op, Is.EqualTo(want.Op == "AddV2" ? "Add" : want.Op), want.Name);
            Assert.That(got.Input, Is.EqualTo(want.Input), want.Name);
            Assert.That(got.Device, Is.EqualTo(want.Device), want.Name);
            Assert.That(got.Attr.Keys.Order(), Is.EqualTo(want.Attr.Keys.Order()), want.Name);
            foreach (var key in want.Attr.Keys)
                Assert.That(got.Attr[key], Is.EqualTo(want.Attr[key]), $"{want.Name}.{key}");
        }
        Assert.That(mine.Versions.Producer, Is.EqualTo(golden.Versions.Producer));
    }

    [Test]
    public void TrainingGraph_GradientsAndOptimizerScopes_NoDanglingInputs()
    {
        var g = new Graph { Seed = 1 };
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 3), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "labels");
        var h = g.Dense(x, 4, t => g.Relu(t), name: "hidden");
        var logits = g.Dense(h, 2, name: "logits");
        var loss = g.Mean(g.SparseSoftmaxCrossEntropyWithLogits(y, logits), name: "loss");
        var train = new AdamOptimizer(0.01).Minimize(loss);
        g.ScalarSummary("train/loss", loss);
        g.MergeAllSummaries();
        g.GlobalVariablesInitializer();
        using (g.ControlDependencies(train)) g.NoOp("after_train");

        var def = GraphDefExport.ToGraphDef(g);
        Assert.That(GraphDefExport.Validate(def), Is.Empty);
        Assert.That(def.Node, Has.Count.EqualTo(g.Operations.Count));
        var names = def.Node.Select(n => n.Name).ToList();
        Assert.That(names, Has.Some.StartsWith("gradients/"));
        Assert.That(names, Has.Some.StartsWith("Adam/"));
        Assert.That(names, Has.Some.StartsWith("hidden/"));
        Assert.That(def.Node.Single(n => n.Name == "after_train").Input, Is.EqualTo(new[] { "^" + train.Name }));
        var matmul = def.Node.First(n => n.Op == "MatMul");
        Assert.That(matmul.Attr["_output_shapes"].List.Shape.Single().Dim.Select(d => d.Size), Is.EqualTo(new long[] { -1, 4 }));
        Assert.That(matmul.Attr["T"].Type, Is.EqualTo(DataType.DtFloat));
        Assert.That(def.Node.Where(n => n.Attr.Keys.Any(k => k.StartsWith('_') && k != "_output_shapes")), Is.Empty);
        var placeholder = def.Node.Single(n => n.Name == "x");
        Assert.That(placeholder.Attr["shape"].Shape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { -1, 3 }));
        Assert.That(placeholder.Attr["dtype"].Type, Is.EqualTo(DataType.DtFloat));
        Assert.That(def.Node.Single(n => n.Op == "VariableV2" && n.Name == "hidden/kernel").Attr.Keys,
            Is.SupersetOf(new[] { "dtype", "shape", "_output_shapes" }));
        var summary = def.Node.Single(n => n.Op == "ScalarSummary");
        Assert.That(summary.Attr["T"].Type, Is.EqualTo(DataType.DtFloat));
        // TF1's layout: the summary node is named by its tag, its helpers sit under it (one box in the Graphs tab).
        Assert.That((summary.Name, summary.Input[0], summary.Input[1]), Is.EqualTo(("train/loss", "train/loss/tags", "loss")));
        Assert.That(def.Node.Single(n => n.Op == "MergeSummary").Input, Is.EqualTo(new[] { "train/loss" }));
        // The exported graph is a valid protobuf that round-trips.
        Assert.That(GraphDef.Parser.ParseFrom(def.ToByteArray()), Is.EqualTo(def));
    }

    [Test]
    public void Inputs_IndexSuffixAndUnknownRank()
    {
        var g = new Graph();
        var v = g.Placeholder(DType.Float64, null, "v");
        var parts = g.Split(g.Placeholder(DType.Float64, Shape.Of(4, 2), "m"), 2, 0);
        g.Add(parts[1], parts[0], "sum");
        var def = GraphDefExport.ToGraphDef(g);
        Assert.That(def.Node.Single(n => n.Name == "sum").Input, Is.EqualTo(new[] { parts[1].Op.Name + ":1", parts[0].Op.Name }));
        Assert.That(def.Node.Single(n => n.Name == "v").Attr["_output_shapes"].List.Shape.Single().UnknownRank, Is.True);
        Assert.That(def.Node.Single(n => n.Name == "v").Attr["shape"].Shape.UnknownRank, Is.True);
        Assert.That(def.Node.Single(n => n.Op == "Split").Attr["_output_shapes"].List.Shape, Has.Count.EqualTo(2));
        Assert.That(GraphDefExport.Validate(def), Is.Empty);
    }

    [Test]
    public void Attrs_ConvertedByType()
    {
        Assert.That(ProtoConvert.ToAttrValue(true)!.B, Is.True);
        Assert.That(ProtoConvert.ToAttrValue(7)!.I, Is.EqualTo(7));
        Assert.That(ProtoConvert.ToAttrValue(7L)!.I, Is.EqualTo(7));
        Assert.That(ProtoConvert.ToAttrValue(0.5)!.F, Is.EqualTo(0.5f));
        Assert.That(ProtoConvert.ToAttrValue("SAME")!.S.ToStringUtf8(), Is.EqualTo("SAME"));
        Assert.That(ProtoConvert.ToAttrValue(DType.Int64)!.Type, Is.EqualTo(DataType.DtInt64));
        Assert.That(ProtoConvert.ToAttrValue(new[] { 1, 2, 2, 1 })!.List.I, Is.EqualTo(new long[] { 1, 2, 2, 1 }));
        Assert.That(ProtoConvert.ToAttrValue(Shape.Of(-1, 5))!.Shape.Dim.Select(d => d.Size), Is.EqualTo(new long[] { -1, 5 }));
        var t = ProtoConvert.ToAttrValue(NDArray.From(new[] { 1.5f, 2f }))!.Tensor;
        Assert.That((t.Dtype, t.TensorContent.Length), Is.EqualTo((DataType.DtFloat, 8)));
        Assert.That(ProtoConvert.ToAttrValue(NDArray.Scalar(3L))!.Tensor.Int64Val, Is.EqualTo(new[] { 3L }));
        Assert.That(ProtoConvert.ToAttrValue(NDArray.Scalar("é"))!.Tensor.StringVal.Single().ToStringUtf8(), Is.EqualTo("é"));
        Assert.That(ProtoConvert.ToAttrValue(new object()), Is.Null);
    }

    [Test]
    public void Validate_FindsDanglingAndDuplicateNames()
    {
        var def = new GraphDef();
        def.Node.Add(new NodeDef { Name = "a", Op = "Const" });
        def.Node.Add(new NodeDef { Name = "a", Op = "Const" });
        def.Node.Add(new NodeDef { Name = "b", Op = "Neg", Input = { "ghost:0", "^nobody" } });
        var problems = GraphDefExport.Validate(def);
        Assert.That(problems, Has.Some.Contain("duplicate node name 'a'"));
        Assert.That(problems, Has.Some.Contain("'ghost:0' names no node"));
        Assert.That(problems, Has.Some.Contain("'^nobody' names no node"));
    }

    [Test]
    public void Device_Canonical()
    {
        Assert.That(GraphDefExport.CanonicalDevice("/cpu:0"), Is.EqualTo("/device:CPU:0"));
        Assert.That(GraphDefExport.CanonicalDevice("/gpu:1"), Is.EqualTo("/device:GPU:1"));
        Assert.That(GraphDefExport.CanonicalDevice(Cpu), Is.EqualTo(Cpu));
        Assert.That(GraphDefExport.CanonicalDevice(null), Is.Empty);
    }
}
