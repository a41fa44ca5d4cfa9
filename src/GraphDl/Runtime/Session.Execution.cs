using GraphDl.Runtime;

namespace GraphDl;

/// <summary>The step loops of a run: untraced, traced (with each step's timing), and the planner's copies between
/// devices.</summary>
public sealed partial class Session
{
    void Execute(Plan plan, Frame frame, StepTrace? trace)
    {
        if (trace != null) { ExecuteTraced(plan, frame, trace); return; }
        // The untraced loop: no clock reads, the CPU kernel delegate called directly, one protected region for all steps.
        var ctx = frame.Context;
        var values = frame.Values;
        if (plan.BufferOf == null)
        {
            var constSlots = plan.ConstSlots;
            var constValues = plan.ConstValues;
            for (int c = 0; c < constSlots.Length; c++) values[constSlots[c]] = constValues[c];
        }
        var steps = plan.RunSteps;
        int k = 0;
        try
        {
            for (; k < steps.Length; k++)
            {
                var step = steps[k];
                ctx.step = step;
                if (step.Cpu is { } kernel) kernel(ctx);
                else if (step.Node == null) { RunCopy(step, frame); continue; }
                else step.Device.Run(ctx);
                var release = step.Release;
                for (int r = 0; r < release.Length; r++) frame.Release(release[r]);
            }
        }
        catch (GraphDlException) { throw; }
        catch (Exception e) when (e is not OutOfMemoryException && steps[k].Node != null)
        {
            throw new SessionRunException($"{steps[k].Node} failed on {steps[k].Device.Name}: {e.Message}", e);
        }
    }

    void ExecuteTraced(Plan plan, Frame frame, StepTrace trace)
    {
        var ctx = frame.Context;
        // A specialized plan's folded values (the general plan's constants also run as steps below, which store the same).
        for (int c = 0; c < plan.ConstSlots.Length; c++) frame.Values[plan.ConstSlots[c]] = plan.ConstValues[c];
        foreach (var step in plan.Steps)
        {
            ctx.step = step;
            long start = System.Diagnostics.Stopwatch.GetTimestamp();
            long wallMicros = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
            // A device's work is asynchronous (GPU streams): a traced run waits for each device step, so that a node's
            // duration is its launch and its execution, not just the launch.
            if (step.Node == null)
            {
                RunCopy(step, frame);
                if (!step.Host) step.Device.Synchronize();
                Record(trace, step, frame, start, wallMicros);
                continue;
            }
            try
            {
                step.Device.Run(ctx);
                if (!step.Host) step.Device.Synchronize();
            }
            catch (GraphDlException) { throw; }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new SessionRunException($"{step.Node} failed on {step.Device.Name}: {e.Message}", e);
            }
            Record(trace, step, frame, start, wallMicros);
            foreach (var s in step.Release) frame.Release(s);
        }
    }

    static void Record(StepTrace trace, Plan.Step step, Frame frame, long start, long wallMicros)
    {
        long nanos = (long)(System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds * 1e6);
        int count = step.Node?.Outputs.Length ?? 1;
        var outs = new List<(DType, int[])>();
        long bytes = 0;
        for (int i = 0; i < count; i++)
        {
            var v = frame.Values[step.OutBase + i];
            if (v == null) continue;
            outs.Add((v.DType, v.Dims.ToArray()));
            if (ReferenceEquals(frame.Owned[step.OutBase + i], v) || ReferenceEquals(frame.Bound?[step.OutBase + i], v) || step.Node == null)
                bytes += (long)v.Size * v.DType.Size();
        }
        string name = step.Node?.Name ?? $"_copy_to_{step.Device.Name.Trim('/').Replace(':', '_')}/{step.Inputs[0]}";
        trace.Nodes.Add(new NodeTrace(name, step.Node?.Type ?? "_Copy", step.Device.Name, wallMicros, Math.Max(nanos, 1), outs, bytes,
            Environment.CurrentManagedThreadId));
    }

    static void RunCopy(Plan.Step step, Frame frame)
    {
        var src = frame.Values[step.Inputs[0]] ?? throw UninitializedVariableException.For(step.CopyOf?.Op.Name, $"copied to {step.Device.Name}");
        var dst = frame.Copies[step.OutBase];
        // A constant's device copy is made once per frame: its value never changes (Const keeps its own clone).
        if (step.ConstCopy && dst != null && ReferenceEquals(frame.CopiedConst[step.OutBase], src))
        {
            frame.Values[step.OutBase] = dst;
            return;
        }
        if (dst == null || !dst.SameLayout(src.DType, src.dims))
        {
            // A new shape (a feed with another batch size): the old destination goes back to its device first.
            if (dst != null && !step.Host) step.Device.Free(dst);
            frame.Copies[step.OutBase] = dst = step.Host ? NDArray.Zeros(src.DType, src.dims) : step.Device.Allocate(src.DType, src.dims);
        }
        if (step.Host) step.CopyFrom!.CopyOut(src, dst);
        else step.Device.CopyIn(src, dst);
        frame.CopiedConst[step.OutBase] = step.ConstCopy ? src : null;
        frame.Values[step.OutBase] = dst;
    }
}
