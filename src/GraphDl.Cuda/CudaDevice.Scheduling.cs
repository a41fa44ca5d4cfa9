using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Streams;
using GraphDl.Runtime;

namespace GraphDl.Cuda;

// How a kernel runs as one piece of compute work on the stream scheduler: its declared reads and writes, and the work it
// does through the device while it runs (allocations, strided copies, fills, uploads, frees).
public sealed partial class CudaDevice
{
    /// <summary>What a kernel in progress uses: buffers it reads and writes (marked with its stream position when its
    /// launch returns) and frees held until then.</summary>
    sealed class Running
    {
        public readonly List<DeviceBuffer> Reads = [], Writes = [];
        public readonly List<DeviceBuffer> Frees = [];
        public readonly List<StagingBuffer> Stagings = [];
        public bool Uses(DeviceBuffer b) => Reads.Contains(b) || Writes.Contains(b);
    }

    /// <summary>Adds a buffer that nested work of the running kernel uses, ordering the compute stream after what it
    /// depends on first.</summary>
    void Join(Running run, DeviceBuffer b, bool write)
    {
        scheduler!.ComputeUses(b, write);
        (write ? run.Writes : run.Reads).Add(b);
    }

    /// <summary>Runs a kernel as one piece of compute work: it waits for the copies that wrote its GPU inputs (and, for
    /// the inputs an op updates in place, for copies still reading them); what it allocates, writes through the device
    /// (strided copies, fills, uploads) or returns as new outputs is marked with its stream position; what it frees goes
    /// back once that position is known.</summary>
    /// A batch or a fused chain (<see cref="Plan.Step.Batch"/>, <see cref="Plan.Step.Chain"/>) is one piece of compute
    /// work with the reads and writes of all its steps.
    void RunScheduled(KernelContext context, GpuKernel kernel)
    {
        var run = new Running();
        var leader = context.step;
        var values = context.frame.Values;
        foreach (var step in leader.Members)
        {
            int refs = step.Node!.Def.RefInputs;
            for (int i = 0; i < step.Inputs.Length; i++)
                if (values[step.Inputs[i]] is { } a && a.device == this)
                {
                    var b = Scheduled(a);
                    var list = i < refs ? run.Writes : run.Reads;
                    if (!list.Contains(b)) list.Add(b);
                }
        }
        running = run;
        try
        {
            scheduler!.Kernel(leader.Node!.Name, run.Reads, run.Writes, _ =>
            {
                kernel(context, this);
                foreach (var step in leader.Members)
                {
                    context.step = step;
                    MarkOutputs(context, run);
                }
            });
        }
        finally
        {
            context.step = leader;
            running = null;
            foreach (var st in run.Stagings) scheduler!.ReleaseAfterLastKernel(st);
            foreach (var b in run.Frees) scheduler!.Free(b);
        }
    }

    /// <summary>Adds the kernel's new outputs (buffers from the frame's pool written by its launches) to its writes. Such a
    /// buffer was last written by compute work or read by a copy the host has waited for, so the compute stream is
    /// already ordered after its other uses; anything else is a bug here, reported rather than left as a race.</summary>
    void MarkOutputs(KernelContext context, Running run)
    {
        var step = context.step;
        var frame = context.frame;
        int outputs = context.Node.Outputs.Length;
        for (int i = 0; i < outputs; i++)
        {
            int slot = step.OutBase + i;
            if (frame.Values[slot] is not { } v || v.device != this || !ReferenceEquals(frame.Owned[slot], v)) continue;
            var b = Scheduled(v);
            if (run.Uses(b)) continue;
            if (!scheduler!.IsComputeOrdered(b, write: true))
                throw new InvalidOperationException($"{context.Node}: output {i} reuses a buffer another stream may still use");
            run.Writes.Add(b);
        }
    }
}
