using GraphDl.Runtime;

namespace GraphDl;

/// <summary>Plans specialized on feed dims (<see cref="SessionOptions.OptimizePlans"/>): the observed first run, lookup and
/// publication; <see cref="PlanSpecializer"/> builds them.</summary>
public sealed partial class Session
{
    /// <summary>The first run of a plan with new feed dims: the untraced loop, recording each step's outputs for
    /// <see cref="PlanSpecializer"/>.</summary>
    static void ExecuteObserved(Plan plan, Frame frame, Observation observe)
    {
        var ctx = frame.Context;
        var values = frame.Values;
        for (int c = 0; c < plan.ConstSlots.Length; c++) values[plan.ConstSlots[c]] = plan.ConstValues[c];
        foreach (var step in plan.RunSteps)
        {
            ctx.step = step;
            if (step.Node == null) RunCopy(step, frame);
            else
            {
                try { step.Device.Run(ctx); }
                catch (GraphDlException) { throw; }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    throw new SessionRunException($"{step.Node} failed on {step.Device.Name}: {e.Message}", e);
                }
            }
            observe.Record(step, values);
            foreach (var s in step.Release) frame.Release(s);
        }
    }

    /// <summary>The specialization of <paramref name="plan"/> for the dims of these feeds, or null if there is none yet.</summary>
    static Plan? FindSpecialization(Plan plan, (Tensor, NDArray)[] feeds)
    {
        var specs = plan.Specializations;
        for (int k = 0; k < specs.Length; k++)
        {
            var dims = specs[k].FeedDims;
            bool same = true;
            for (int i = 0; i < feeds.Length && same; i++)
            {
                var t = feeds[i].Item1;
                same = feeds[i].Item2.Dims.SequenceEqual(dims[FeedIndex(plan, i, t)]);
            }
            if (same) return specs[k].Plan;
        }
        return null;
    }

    /// <summary>Builds and publishes the specialization of <paramref name="plan"/> for these feeds' dims from its first run.</summary>
    void Specialize(Plan plan, (Tensor, NDArray)[] feeds, Observation seen)
    {
        var dims = new int[plan.Feeds.Length][];
        for (int i = 0; i < feeds.Length; i++)
        {
            var t = feeds[i].Item1;
            dims[FeedIndex(plan, i, t)] = feeds[i].Item2.Dims.ToArray();
        }
        lock (plan)
        {
            if (FindSpecialization(plan, feeds) != null || plan.Specializations.Length >= Plan.MaxSpecializations) return;
            var special = PlanSpecializer.Build(plan, Graph, dims, seen) ?? plan;
            plan.Specializations = [.. plan.Specializations, new Plan.Specialization(dims, special)];
        }
    }
}
