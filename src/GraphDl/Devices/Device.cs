using GraphDl.Ops;
using GraphDl.Runtime;

namespace GraphDl.Devices;

/// <summary>Where kernels run and buffers live. Public methods validate, then call the protected <c>*Core</c> hooks.</summary>
public abstract class Device
{
    /// <summary>The placement name, e.g. <c>/cpu:0</c> or <c>/gpu:0</c>.</summary>
    public abstract string Name { get; }

    /// <summary>True if buffers of this device are plain host arrays (the CPU).</summary>
    public virtual bool IsHost => false;

    /// <summary>True if this device has a kernel for the op.</summary>
    public abstract bool CanRun(OpDef op);

    /// <summary>True if the kernel of <paramref name="node"/> on this device reads input <paramref name="input"/> on the
    /// host (axes, shapes: small values the launch needs before it starts); the planner then leaves that input on the CPU.</summary>
    public virtual bool InputOnHost(Operation node, int input) => false;

    /// <summary>Copies the box <paramref name="dims"/> between two arrays of this device (offsets and strides in elements,
    /// strides may be zero or negative): the array ops' strided copy (<c>ArrayKernels.StridedCopy</c>) for buffers made
    /// by <see cref="Wrap"/>. Devices whose buffers are host arrays never get this call.</summary>
    public virtual void StridedCopy(NDArray src, int srcOff, ReadOnlySpan<int> srcStrides, NDArray dst, int dstOff,
        ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> dims) =>
        throw new NotSupportedException($"{Name} cannot run strided copies");

    /// <summary>Fills an array of this device with the single value of the host array <paramref name="value"/>, or with
    /// zeros when it is null (the array ops' fills for buffers made by <see cref="Wrap"/>).</summary>
    public virtual void Fill(NDArray array, NDArray? value) => throw new NotSupportedException($"{Name} cannot fill arrays");

    /// <summary>Allocates a buffer on this device.</summary>
    public NDArray Allocate(DType dtype, ReadOnlySpan<int> dims)
    {
        var a = AllocateCore(dtype, dims);
        if (!IsHost) a.device = this;
        return a;
    }

    /// <summary>Releases a buffer of this device.</summary>
    public void Free(NDArray buffer)
    {
        CheckOwn(buffer, nameof(buffer));
        FreeCore(buffer);
    }

    /// <summary>Copies a host array into a buffer of this device of the same dtype and size.</summary>
    public void CopyIn(NDArray host, NDArray destination)
    {
        if (host.device != null) throw new ArgumentException($"CopyIn source must be a host array, it lives on {host.device.Name}");
        CheckOwn(destination, nameof(destination));
        CheckSame(host, destination);
        CopyInCore(host, destination);
    }

    /// <summary>Copies a buffer of this device into a host array of the same dtype and size.</summary>
    public void CopyOut(NDArray source, NDArray host)
    {
        CheckOwn(source, nameof(source));
        if (host.device != null) throw new ArgumentException($"CopyOut destination must be a host array, it lives on {host.device.Name}");
        CheckSame(source, host);
        CopyOutCore(source, host);
    }

    /// <summary>Copies several buffers of this device into host arrays (a run's fetches): a device whose copies are
    /// asynchronous queues them all and waits once.</summary>
    public void CopyOutAll(ReadOnlySpan<(NDArray Source, NDArray Host)> pairs)
    {
        foreach (var (source, host) in pairs)
        {
            CheckOwn(source, "source");
            if (host.device != null) throw new ArgumentException($"CopyOut destination must be a host array, it lives on {host.device.Name}");
            CheckSame(source, host);
        }
        CopyOutAllCore(pairs);
    }

    /// <summary>Several device-to-host copies; by default one <see cref="CopyOutCore"/> after another.</summary>
    protected virtual void CopyOutAllCore(ReadOnlySpan<(NDArray Source, NDArray Host)> pairs)
    {
        foreach (var (source, host) in pairs) CopyOutCore(source, host);
    }

    /// <summary>Waits until all queued work has finished.</summary>
    public void Synchronize() => SynchronizeCore();

    /// <summary>Runs the kernel of <c>context.Node</c>; inputs are already on this device.</summary>
    public void Run(KernelContext context) => RunCore(context);

    /// <summary>Whether <paramref name="next"/>, planned on this device right after the nodes of <paramref name="batch"/>
    /// (consecutive steps of a run, all on this device), can run in the same launch as they do (a GPU updating many
    /// variables in one kernel). The planner then hands the whole batch to <see cref="Run"/> as one step. False by
    /// default.</summary>
    public virtual bool CanBatch(IReadOnlyList<Operation> batch, Operation next) => false;

    /// <summary>Whether <paramref name="next"/>, planned on this device right after <paramref name="first"/> and the
    /// only reader of its output in the run (the planner checks that: not fetched, no other consumer), can run in one
    /// kernel with it, the output never stored (a bias add and the ReLU after it). The planner then hands both to
    /// <see cref="Run"/> as one step. False by default.</summary>
    public virtual bool CanFuse(Operation first, Operation next) => false;

    /// <summary>Wraps an allocation of this device as an array of <paramref name="dims"/> whose buffer holds
    /// <paramref name="capacity"/> elements (for devices whose memory is not a host array).</summary>
    protected static NDArray Wrap<TBuffer>(DType dtype, ReadOnlySpan<int> dims, TBuffer buffer, long capacity) where TBuffer : class =>
        new(dtype, new TBuffer[] { buffer }, dims.ToArray(), capacity);

    /// <summary>The allocation behind an array made by <see cref="Wrap"/>.</summary>
    protected static TBuffer Unwrap<TBuffer>(NDArray array) where TBuffer : class =>
        array.deviceCapacity >= 0 && array.data is TBuffer[] box ? box[0]
            : throw new ArgumentException($"array {array.DType.Name()}{Shape.Format(array.Dims)} is not a buffer of this kind of device");

    /// <summary>Allocation hook.</summary>
    protected abstract NDArray AllocateCore(DType dtype, ReadOnlySpan<int> dims);
    /// <summary>Release hook.</summary>
    protected virtual void FreeCore(NDArray buffer) { }
    /// <summary>Host-to-device hook.</summary>
    protected abstract void CopyInCore(NDArray host, NDArray destination);
    /// <summary>Device-to-host hook.</summary>
    protected abstract void CopyOutCore(NDArray source, NDArray host);
    /// <summary>Synchronize hook.</summary>
    protected virtual void SynchronizeCore() { }
    /// <summary>Kernel hook.</summary>
    protected abstract void RunCore(KernelContext context);

    void CheckOwn(NDArray a, string what)
    {
        if (IsHost ? a.device != null : a.device != this)
            throw new ArgumentException($"{what} lives on {a.device?.Name ?? "the host"}, not on {Name}");
    }

    static void CheckSame(NDArray a, NDArray b)
    {
        if (a.DType != b.DType || a.Size != b.Size)
            throw new ArgumentException($"copy between {a.DType.Name()}{Shape.Format(a.Dims)} and {b.DType.Name()}{Shape.Format(b.Dims)}");
    }

    /// <inheritdoc/>
    public override string ToString() => Name;
}

/// <summary>The CPU: host arrays, managed SIMD kernels.</summary>
public sealed class CpuDevice : Device
{
    /// <summary>The CPU device.</summary>
    public static readonly CpuDevice Instance = new();
    /// <inheritdoc/>
    public override string Name => "/cpu:0";
    /// <inheritdoc/>
    public override bool IsHost => true;
    /// <inheritdoc/>
    public override bool CanRun(OpDef op) => true;
    /// <inheritdoc/>
    protected override NDArray AllocateCore(DType dtype, ReadOnlySpan<int> dims) => NDArray.Zeros(dtype, dims.ToArray());
    /// <inheritdoc/>
    protected override void CopyInCore(NDArray host, NDArray destination) => Array.Copy(host.data, destination.data, host.Size);
    /// <inheritdoc/>
    protected override void CopyOutCore(NDArray source, NDArray host) => Array.Copy(source.data, host.data, source.Size);
    /// <inheritdoc/>
    protected override void RunCore(KernelContext context) => context.Node.Def.Cpu(context);
}
