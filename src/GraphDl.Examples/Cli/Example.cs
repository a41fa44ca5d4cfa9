using System.CommandLine;

namespace GraphDl.Examples;

/// <summary>
/// One runnable example. A fresh instance is made for every invocation, so option objects can live in fields:
/// declare them in the constructor, list them in <see cref="OwnOptions"/>, and read them with
/// <see cref="ExampleContext.Get{T}(Option{T})"/> inside <see cref="Run"/>.
/// </summary>
public abstract class Example
{
    /// <summary>Command name, e.g. <c>deep-nn</c>; also the default log folder name.</summary>
    public abstract string Name { get; }

    /// <summary>One line for <c>list</c>.</summary>
    public abstract string Description { get; }

    /// <summary>Longer text shown by <c>--help</c> (what the example shows, its data and pass marks).</summary>
    public virtual string Details => Description;

    /// <summary>Default <c>--epochs</c>.</summary>
    public virtual int DefaultEpochs => 10;

    /// <summary>Default <c>--batch-size</c> (0 would mean the whole training set; examples use a positive value).</summary>
    public virtual int DefaultBatchSize => 32;

    /// <summary>Default <c>--learning-rate</c>.</summary>
    public virtual double DefaultLearningRate => 0.01;

    /// <summary>What <c>--data</c> defaults to, for the help text.</summary>
    public virtual string DefaultData => "built-in";

    /// <summary>Variant names; an example with variants writes one sub-folder per variant and gets a <c>--variant</c> option.</summary>
    public virtual IReadOnlyList<string> Variants => [];

    /// <summary>The example's own options (besides the common ones).</summary>
    protected internal virtual IEnumerable<Option> OwnOptions() => [];

    /// <summary>Trains, logs and prints; adds final metrics with <see cref="ExampleContext.Metric"/>.</summary>
    protected internal abstract void Run(ExampleContext ctx);
}
