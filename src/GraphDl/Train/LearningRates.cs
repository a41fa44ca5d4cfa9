namespace GraphDl.Train;

/// <summary>Learning-rate schedules (TF1's <c>tf.train.*_decay</c>): float32 scalars computed in the graph from the global
/// step, so each run sees the rate for the current step. Arithmetic is in float64, cast to float32 at the end.</summary>
public static class LearningRates
{
    /// <summary><c>lr * decay_rate ^ (step / decay_steps)</c>, the exponent floored when <paramref name="staircase"/>.</summary>
    public static Tensor ExponentialDecay(Graph g, double learningRate, Tensor globalStep, long decaySteps, double decayRate, bool staircase = false)
    {
        CheckSteps(decaySteps);
        if (!(decayRate > 0)) throw new ArgumentOutOfRangeException(nameof(decayRate), decayRate, "decay rate must be positive");
        using var _ = g.NameScope("ExponentialDecay");
        var p = Step(g, globalStep) / (double)decaySteps;
        if (staircase) p = Floor(g, p);
        // decay_rate^p as exp(p ln decay_rate): decay_rate > 0.
        var decayed = learningRate * g.Exp(p * Math.Log(decayRate));
        return g.Cast(decayed, DType.Float32, "learning_rate");
    }

    /// <summary><c>values[0]</c> while step ≤ <c>boundaries[0]</c>, <c>values[i]</c> while <c>boundaries[i-1]</c> &lt; step ≤
    /// <c>boundaries[i]</c>, and the last value after the last boundary.</summary>
    public static Tensor PiecewiseConstant(Graph g, Tensor globalStep, long[] boundaries, double[] values)
    {
        if (values.Length != boundaries.Length + 1)
            throw new ArgumentException($"{values.Length} values for {boundaries.Length} boundaries: need one more value than boundaries");
        for (int i = 1; i < boundaries.Length; i++)
            if (boundaries[i] < boundaries[i - 1]) throw new ArgumentException("boundaries must be increasing");
        CheckStep(globalStep);
        using var _ = g.NameScope("PiecewiseConstant");
        var step = globalStep.DType == DType.Int64 ? globalStep : g.Cast(globalStep, DType.Int64);
        var result = g.Scalar(values[^1], DType.Float32);
        for (int i = boundaries.Length - 1; i >= 0; i--)
            result = g.Where(g.LessEqual(step, g.Scalar(boundaries[i], DType.Int64)), g.Scalar(values[i], DType.Float32), result);
        return g.Identity(result, "learning_rate");
    }

    /// <summary><c>(lr - end_lr) * (1 - step / decay_steps) ^ power + end_lr</c> with the step clipped at
    /// <paramref name="decaySteps"/>; with <paramref name="cycle"/> the horizon instead grows to the next multiple of
    /// <paramref name="decaySteps"/> (<c>decay_steps * ceil(step / decay_steps)</c>, at least one period).</summary>
    public static Tensor PolynomialDecay(Graph g, double learningRate, Tensor globalStep, long decaySteps, double endLearningRate = 0.0001,
        double power = 1.0, bool cycle = false)
    {
        CheckSteps(decaySteps);
        using var _ = g.NameScope("PolynomialDecay");
        var step = Step(g, globalStep);
        Tensor horizon;
        if (cycle)
        {
            var q = step / (double)decaySteps;
            var fl = Floor(g, q);
            var ceil = fl + g.Cast(g.Greater(q, fl), DType.Float64);
            // NOTE: TF1 uses a multiplier of 1 at step 0 (ceil would give 0).
            horizon = g.Maximum(ceil, g.Scalar(1, DType.Float64)) * (double)decaySteps;
        }
        else
        {
            step = g.Minimum(step, g.Scalar(decaySteps, DType.Float64));
            horizon = g.Scalar(decaySteps, DType.Float64);
        }
        var remaining = 1.0 - step / horizon;
        Tensor factor = power == 1 ? remaining
            : power == 0 ? g.Scalar(1, DType.Float64)
            : g.Exp(g.Log(remaining) * power); // remaining ≥ 0; log 0 = -inf gives 0 for power > 0
        var decayed = (learningRate - endLearningRate) * factor + endLearningRate;
        return g.Cast(decayed, DType.Float32, "learning_rate");
    }

    /// <summary><c>lr * ((1 - alpha) * 0.5 * (1 + cos(π * min(step, decay_steps) / decay_steps)) + alpha)</c>.</summary>
    public static Tensor CosineDecay(Graph g, double learningRate, Tensor globalStep, long decaySteps, double alpha = 0.0)
    {
        CheckSteps(decaySteps);
        using var _ = g.NameScope("CosineDecay");
        var step = g.Minimum(Step(g, globalStep), g.Scalar(decaySteps, DType.Float64));
        var t = step / (double)decaySteps;
        var cosine = 0.5 * (1.0 + CosPi(g, t));
        var decayed = (1 - alpha) * cosine + alpha;
        return g.Cast(learningRate * decayed, DType.Float32, "learning_rate");
    }

    static Tensor CosPi(Graph g, Tensor t) => g.Cos(t * Math.PI);

    static Tensor Step(Graph g, Tensor globalStep)
    {
        CheckStep(globalStep);
        return g.Cast(globalStep, DType.Float64);
    }

    static Tensor Floor(Graph g, Tensor x) => g.Floor(x);

    static void CheckStep(Tensor globalStep)
    {
        if (!globalStep.DType.IsNumeric() || (globalStep.Shape.HasRank && globalStep.Shape.Rank != 0))
            throw new ArgumentException($"global step must be a numeric scalar, got {globalStep}");
    }

    static void CheckSteps(long decaySteps)
    {
        if (decaySteps <= 0) throw new ArgumentOutOfRangeException(nameof(decaySteps), decaySteps, "decay steps must be positive");
    }
}
