using GraphDl.Cuda.Kernels;

namespace GraphDl.Cuda;

// Fewer launches per step: optimizer updates batched into multi-tensor launches, and a bias add fused with its ReLU. The
// planner asks CanBatch/CanFuse when it builds a plan; RunCore picks the batched or fused kernel for such steps.
public sealed partial class CudaDevice
{
    /// <summary>Whether consecutive optimizer updates of variables on this device run as one kernel launch (a
    /// multi-tensor apply: an SGD step over 6 variables is 1 launch, not 6). Read when a run plan is built (plans built
    /// before a change keep what they had). On unless <c>GRAPHDL_CUDA_BATCH_UPDATES=0</c>. Traced runs launch each update
    /// by itself, so that each node has its own timing.</summary>
    public bool BatchUpdates { get; set; } = Environment.GetEnvironmentVariable("GRAPHDL_CUDA_BATCH_UPDATES") != "0";

    /// <summary>Batched update launches so far, and the updates they made (<see cref="BatchUpdates"/>).</summary>
    public long BatchedLaunches => batchedLaunches;
    /// <inheritdoc cref="BatchedLaunches"/>
    public long BatchedUpdates => batchedUpdates;
    internal long batchedLaunches, batchedUpdates;

    /// <inheritdoc/>
    public override bool CanBatch(IReadOnlyList<Operation> batch, Operation next) => BatchUpdates && ApplyOp.CanBatch(batch, next);

    /// <summary>Whether a bias add (Add of a vector along the last axis, or BiasAdd) and the ReLU that is the only reader
    /// of its sum run as one kernel, the sum never stored (bit for bit the two kernels' result). Read when a run plan is
    /// built. On unless <c>GRAPHDL_CUDA_FUSE=0</c>. Traced runs launch each node by itself.</summary>
    public bool FuseOps { get; set; } = Environment.GetEnvironmentVariable("GRAPHDL_CUDA_FUSE") != "0";

    /// <summary>Fused launches so far (<see cref="FuseOps"/>).</summary>
    public long FusedLaunches => fusedLaunches;
    internal long fusedLaunches;

    /// <inheritdoc/>
    public override bool CanFuse(Operation first, Operation next) => FuseOps && FusedOp.CanFuse(first, next);
}
