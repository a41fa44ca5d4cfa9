using GraphDl.Ops;

namespace GraphDl.Cuda;

/// <summary>The checked-in list of ops that have no GPU kernel, each with the reason. Nodes of these ops placed on
/// <c>/gpu:N</c> run on the CPU (soft placement) and the planner copies their inputs and outputs across. A test fails
/// for any op in <see cref="OpCatalog.All"/> that has neither a GPU kernel nor an entry here (and for an entry whose op
/// has a GPU kernel).</summary>
public static class CpuOnlyOps
{
    const string HostValue = "its value comes from the host (feed or constant); the planner copies it to the GPU where a GPU op reads it";
    const string HostMeta = "reads only dims and yields a small int tensor that host-side operands (axes, shapes) use; a GPU placement would need host-memory outputs in the planner";
    const string Normal = "Box-Muller in double (log, cos): the CPU uses .NET's Math.Log and Math.Cos, a GPU its own device math, " +
        "which may differ in the last bits, so a seeded graph would draw device-dependent values (float64 outputs almost always, " +
        "float32 outputs rarely); a GPU kernel needs one correctly rounded log and cos shared by both devices, which would change the CPU's stream";
    const string Shuffle = "a sequential Fisher-Yates shuffle (each swap depends on the previous ones) of whole rows; a GPU kernel would only " +
        "gather rows after a host-side permutation";
    const string Summary = "summary ops build protobuf strings on the host";

    /// <summary>Every CPU-only op and why.</summary>
    public static readonly IReadOnlyDictionary<OpDef, string> Reasons = new Dictionary<OpDef, string>
    {
        [StateOps.Const] = HostValue, [StateOps.Placeholder] = HostValue, [StateOps.PlaceholderWithDefault] = HostValue,
        [StateOps.NoOp] = "computes nothing",
        [Reduce.ReducedShape] = HostMeta,
        [ShapeOps.Shape] = HostMeta, [ShapeOps.Size] = HostMeta, [ArrayOps.Rank] = HostMeta, [ConcatOps.ConcatOffset] = HostMeta,
        [ArrayOps.InvertPermutation] = HostMeta, [SequenceOps.Range] = HostMeta,
        [RandomOps.RandomStandardNormal] = Normal, [RandomOps.TruncatedNormal] = Normal, [RandomOps.RandomShuffle] = Shuffle,
        [SummaryOps.ScalarSummary] = Summary, [SummaryOps.HistogramSummary] = Summary, [SummaryOps.ImageSummary] = Summary,
        [SummaryOps.TensorSummaryV2] = Summary, [SummaryOps.MergeSummary] = Summary,
    };
}
