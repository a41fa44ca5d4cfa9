using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>The CNN GPU kernels check their operands at run time with the op files' own checks: bad shapes that only show
/// when the graph runs (placeholders of unknown shape) raise the CPU kernel's error, same type and message, naming the node.</summary>
public class CnnErrorTests
{
    static NDArray R(params int[] dims) => NDArray.From(new float[dims.Aggregate(1, (a, b) => a * b)], dims);

    public static IEnumerable<TestCaseData> Cases()
    {
        var pool = new Attrs { ["ksize"] = new[] { 1, 3, 3, 1 }, ["strides"] = new[] { 1, 2, 2, 1 }, ["padding"] = "SAME", ["data_format"] = "NHWC" };
        yield return new TestCaseData("BiasAdd length mismatch", (Func<Graph, Tensor[], Tensor>)((g, t) => g.BiasAdd(t[0], t[1])),
            new[] { R(2, 3), R(4) }, "bias must be a vector").SetArgDisplayNames("BiasAdd length mismatch");
        yield return new TestCaseData("MaxPoolGrad grad of the wrong shape", (Func<Graph, Tensor[], Tensor>)((g, t) =>
            g.AddOp(PoolOps.MaxPoolGrad, [t[0], t[1], t[1]], pool).Outputs[0]), new[] { R(1, 5, 5, 2), R(1, 2, 3, 2) }, "does not match").SetArgDisplayNames("MaxPoolGrad grad of the wrong shape");
        yield return new TestCaseData("Conv2D VALID window larger than the input", (Func<Graph, Tensor[], Tensor>)((g, t) => g.Conv2D(t[0], t[1])),
            new[] { R(1, 2, 5, 1), R(3, 3, 1, 2) }, "VALID window larger than the input").SetArgDisplayNames("Conv2D VALID window larger than the input");
        yield return new TestCaseData("Conv2DBackpropInput out_backprop of the wrong shape", (Func<Graph, Tensor[], Tensor>)((g, t) =>
            g.Conv2DBackpropInput(g.Const(NDArray.From(new[] { 1, 5, 5, 1 })), t[0], t[1], padding: "SAME")),
            new[] { R(3, 3, 1, 2), R(1, 5, 4, 2) }, "out_backprop").SetArgDisplayNames("Conv2DBackpropInput out_backprop of the wrong shape");
        yield return new TestCaseData("LRN of rank 3", (Func<Graph, Tensor[], Tensor>)((g, t) => g.Lrn(t[0])), new[] { R(2, 3, 4) }, "rank 4").SetArgDisplayNames("LRN of rank 3");
    }

    [TestCaseSource(nameof(Cases))]
    public void BadShapeAtRunTime_RaisesTheCpuError(string name, Func<Graph, Tensor[], Tensor> build, NDArray[] inputs, string expect) =>
        ErrorParity.AssertSameErrorOnGpu(name, build, inputs, expect);
}
