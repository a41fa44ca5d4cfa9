using GraphDl.Devices;
using GraphDl.Devices.Cpu;

namespace GraphDl.Runtime;

/// <summary>What a kernel sees: its node, its input values, and planned output buffers to fill.</summary>
public sealed class KernelContext
{
    internal Frame frame = null!;
    internal Plan.Step step = null!;

    internal KernelContext(Session session) => Session = session;

    /// <summary>The session running the kernel (variables live there).</summary>
    public Session Session { get; }
    /// <summary>The node whose kernel runs.</summary>
    public Operation Node => step.Node!;
    /// <summary>The node's attributes.</summary>
    public Attrs Attrs => step.Node!.Attrs;
    /// <summary>The device the kernel runs on.</summary>
    public Device Device => step.Device;
    /// <summary>The intra-op worker pool.</summary>
    public WorkerPool Pool => Session.Pool;
    /// <summary>Number of inputs.</summary>
    public int InputCount => step.Inputs.Length;

    /// <summary>The value of input <paramref name="i"/>.</summary>
    public NDArray Input(int i) => frame.Values[step.Inputs[i]] ?? throw Uninitialized(i);

    UninitializedVariableException Uninitialized(int i)
    {
        return UninitializedVariableException.For(step.Node!.Inputs[i].Op.Name, $"read by {step.Node}");
    }

    /// <summary>How many times this node has run in this session before (drives random ops).</summary>
    public long RunCounter => step.Node!.Def.Stateful ? Session.NextCounter(step.Node.Id) : 0;

    /// <summary>A buffer for output <paramref name="i"/> with these dims, reused across steps when it fits.</summary>
    public NDArray Output(int i, ReadOnlySpan<int> dims) => Output(i, dims, step.Node!.Outputs[i].DType);

    /// <summary>A buffer for output <paramref name="i"/> with this dtype and these dims, taken from the frame's pool
    /// (buffers are reused within a run after their last reader, and across runs).</summary>
    public NDArray Output(int i, ReadOnlySpan<int> dims, DType dtype)
    {
        var step = this.step;
        var frame = this.frame;
        int slot = step.OutBase + i;
        // A specialized plan's static buffer, allocated with the frame: the kernel asks for the dims it was planned with.
        if (frame.Bound is { } bound && bound[slot] is { } fixedBuf && fixedBuf.DType == dtype && fixedBuf.dims.AsSpan().SequenceEqual(dims))
        {
            var values = frame.Values;
            if (!ReferenceEquals(values[slot], fixedBuf)) values[slot] = fixedBuf;
            return fixedBuf;
        }
        if (frame.Owned[slot] != null) frame.Release(slot);
        long n = NDArray.Product(dims);
        var device = step.Host ? null : step.Device;
        var buf = frame.Take(slot, dtype, device, n);
        if (buf == null) frame.Preferred[slot] = buf = step.Device.Allocate(dtype, dims);
        var d = frame.Dims[slot];
        if (d == null || d.Length != dims.Length) frame.Dims[slot] = d = new int[dims.Length];
        dims.CopyTo(d);
        // Steady state: the slot's buffer comes back with the slot's dims array already in place (no reference store).
        if (!ReferenceEquals(buf.dims, d)) buf.dims = d;
        buf.size = (int)n;
        frame.Owned[slot] = buf;
        frame.Values[slot] = buf;
        return buf;
    }

    /// <summary>Output <paramref name="i"/> with the same dims as input <paramref name="like"/>.</summary>
    public NDArray OutputLike(int i, int like) => Output(i, Input(like).Dims);

    /// <summary>Passes an existing array through as output <paramref name="i"/> (no copy). Kernels must not write to it afterwards.</summary>
    public void Forward(int i, NDArray value)
    {
        CheckAlias(value);
        frame.Values[step.OutBase + i] = value;
    }

    void CheckAlias(NDArray value)
    {
        if (step.Node!.Def.Aliases) return;
        for (int k = 0; k < step.Inputs.Length; k++)
            if (ReferenceEquals(frame.Values[step.Inputs[k]]?.data, value.data))
                throw new InvalidOperationException($"{step.Node} passes an input buffer through but its OpDef is not marked Aliases");
    }

    /// <summary>Output <paramref name="i"/> as a view of <paramref name="source"/>'s data with other dims (a reshape).</summary>
    public void View(int i, NDArray source, ReadOnlySpan<int> dims)
    {
        CheckAlias(source);
        int slot = step.OutBase + i;
        var v = frame.Views[slot];
        if (v == null || v.DType != source.DType || v.dims.Length != dims.Length)
        {
            v = source.deviceCapacity >= 0 ? new NDArray(source.DType, source.data, dims.ToArray(), source.deviceCapacity)
                : new NDArray(source.DType, source.data, dims.ToArray());
            frame.Views[slot] = v;
        }
        v.data = source.data;
        dims.CopyTo(v.dims);
        v.size = source.size;
        v.device = source.device;
        v.deviceCapacity = source.deviceCapacity;
        frame.Values[slot] = v;
    }

    /// <summary>A kernel-side error that names the node.</summary>
    public SessionRunException Error(string message) => new($"{Node}: {message}");
}
