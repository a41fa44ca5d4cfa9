using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Memory;
using GraphDl.Cuda.Native;
using GraphDl.Devices;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using CuBlas = GraphDl.Cuda.Native.CuBlas;

namespace GraphDl.Cuda;

/// <summary>The allocation behind a GPU array.</summary>
internal sealed class GpuBuffer(MemoryBlock block)
{
    public readonly MemoryBlock Block = block;
}

/// <summary>An NVIDIA GPU (<c>/gpu:N</c>) driven through ILGPU: kernels from <see cref="GpuKernels"/>, memory from a
/// <see cref="CachingAllocator"/>. <see cref="CreateSimulated"/> runs the very same kernels on ILGPU's CPU accelerator
/// (slow; for tests on machines without a GPU). Pass it in <see cref="SessionOptions.Devices"/>; nodes placed on
/// <c>/gpu:N</c> whose op has no GPU kernel run on the CPU (soft placement).</summary>
public sealed class CudaDevice : GraphDl.Devices.Device, IDisposable
{
    readonly Context context;
    readonly Accelerator accelerator;
    readonly AcceleratorStream stream;
    readonly ConcurrentDictionary<MethodInfo, object> loaded = new();
    readonly object gate = new();
    readonly string name;
    string requester = "a copy";
    bool disposed;

    CudaDevice(Context context, Accelerator accelerator, int ordinal, GpuMemoryOptions? memory, bool simulated)
    {
        this.context = context;
        this.accelerator = accelerator;
        IsSimulated = simulated;
        name = $"/gpu:{ordinal}";
        stream = accelerator.CreateStream();
        Allocator = new CachingAllocator(new IlgpuMemoryBackend(accelerator), memory, name);
        int groupSize = Math.Min(256, accelerator.MaxNumThreadsPerGroup);
        GroupSize = groupSize;
        MaxGroups = simulated ? 4 : Math.Max(1, accelerator.NumMultiprocessors) * 32;
    }

    /// <summary>Opens GPU <paramref name="ordinal"/>, or returns null with the reason (no driver, no GPU, ...). Never
    /// throws on a machine without CUDA.</summary>
    public static CudaDevice? TryCreate(int ordinal, out string reason, GpuMemoryOptions? memory = null)
    {
        var driver = CudaDriver.Query();
        if (driver.Error != null) { reason = driver.Error; return null; }
        if (ordinal < 0 || ordinal >= driver.Gpus.Count)
        {
            reason = $"/gpu:{ordinal} does not exist: the driver ({driver.LibraryPath}, CUDA {driver.VersionText}) reports {driver.Gpus.Count} GPU(s)";
            return null;
        }
        Context? ctx = null;
        try
        {
            NativeLibraries.RegisterResolvers();
            ctx = Context.Create(b => b.Cuda().EnableAlgorithms());
            var devices = ctx.GetCudaDevices();
            if (ordinal >= devices.Count)
            {
                reason = $"ILGPU found {devices.Count} CUDA device(s) although the driver reports {driver.Gpus.Count}";
                ctx.Dispose();
                return null;
            }
            var acc = ctx.CreateCudaAccelerator(ordinal);
            reason = "";
            return new CudaDevice(ctx, acc, ordinal, memory, simulated: false);
        }
        catch (Exception e)
        {
            ctx?.Dispose();
            reason = $"opening /gpu:{ordinal} failed: {e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    /// <summary>A <c>/gpu:N</c> device whose kernels run on ILGPU's CPU accelerator: the GPU code paths, bit for bit the
    /// same kernels, without a GPU. Slow (each simulated GPU thread is an OS thread); for tests at small shapes.</summary>
    public static CudaDevice CreateSimulated(int ordinal = 0, GpuMemoryOptions? memory = null, CPUDevice? preset = null)
    {
        var ctx = Context.Create(b => b.CPU(preset ?? CPUDevice.Default).EnableAlgorithms());
        return new CudaDevice(ctx, ctx.CreateCPUAccelerator(0), ordinal, memory, simulated: true);
    }

    /// <inheritdoc/>
    public override string Name => name;
    /// <summary>True when the kernels run on ILGPU's CPU accelerator.</summary>
    public bool IsSimulated { get; }
    /// <summary>The accelerator's name (the GPU model, or ILGPU's CPU accelerator).</summary>
    public string AcceleratorName => accelerator.Name;
    /// <summary>The device's memory in bytes (for a simulated device, what ILGPU's CPU accelerator reports).</summary>
    public long TotalMemoryBytes => accelerator.MemorySize;
    /// <summary>The caching allocator (statistics, <see cref="CachingAllocator.ReleaseCached"/>).</summary>
    public CachingAllocator Allocator { get; }
    internal Accelerator Accelerator => accelerator;
    internal AcceleratorStream Stream => stream;
    internal int GroupSize { get; }
    internal int MaxGroups { get; }

    /// <inheritdoc/>
    public override bool CanRun(OpDef op) => GpuKernels.Has(op);
    /// <inheritdoc/>
    public override bool InputOnHost(Operation node, int input) => GpuKernels.InputOnHost(node, input);

    /// <inheritdoc/>
    public override void StridedCopy(NDArray src, int srcOff, ReadOnlySpan<int> srcStrides, NDArray dst, int dstOff,
        ReadOnlySpan<int> dstStrides, ReadOnlySpan<int> dims)
    {
        if (src.DType != dst.DType) throw new ArgumentException($"strided copy from {src.DType.Name()} to {dst.DType.Name()}");
        lock (gate)
        {
            Bind();
            MiscOp.StridedCopy(this, src, srcOff, srcStrides, dst, dstOff, dstStrides, dims);
        }
    }

    /// <inheritdoc/>
    public override void Fill(NDArray array, NDArray? value)
    {
        lock (gate)
        {
            Bind();
            if (array.Size == 0) return;
            if (value == null) { Bytes(array).MemSetToZero(stream); return; }
            MiscOp.FillWith(this, array, value);
        }
    }

    /// <inheritdoc/>
    protected override NDArray AllocateCore(DType dtype, ReadOnlySpan<int> dims)
    {
        if (dtype is DType.String) throw new SessionRunException($"{name} cannot hold string tensors ({requester})");
        long n = 1;
        foreach (var d in dims) n *= d;
        int es = dtype.Size();
        MemoryBlock block;
        lock (gate)
        {
            Bind();
            block = Allocator.Allocate(n * es, requester);
            // All bits set: NaN in every float, -1 in every integer; a kernel that leaves an element unwritten shows.
            if (PoisonNewBuffers && n > 0) IlgpuMemoryBackend.View(block, block.Size).MemSet(stream, 0xFF);
        }
        return Wrap(dtype, dims, new GpuBuffer(block), block.Size / es);
    }

    /// <inheritdoc/>
    protected override void FreeCore(NDArray buffer)
    {
        // Kernels queued on the stream may still read the block; the allocator reuses it only for work queued later.
        lock (gate) Allocator.Free(Unwrap<GpuBuffer>(buffer).Block);
    }

    /// <summary>The bytes of a GPU array.</summary>
    internal static ArrayView<byte> Bytes(NDArray a) => IlgpuMemoryBackend.View(Unwrap<GpuBuffer>(a).Block, (long)a.Size * a.DType.Size());

    /// <summary>A GPU array's elements as a view.</summary>
    internal static ArrayView<T> View<T>(NDArray a) where T : unmanaged
    {
        var block = Unwrap<GpuBuffer>(a).Block;
        return IlgpuMemoryBackend.View(block, block.Size).Cast<T>().SubView(0, a.Size);
    }

    /// <summary>The device address of a GPU array (for cuBLAS).</summary>
    internal static IntPtr Pointer(NDArray a)
    {
        var block = Unwrap<GpuBuffer>(a).Block;
        return ((MemoryBuffer1D<byte, Stride1D.Dense>)block.Segment.Handle).NativePtr + (nint)block.Offset;
    }

    /// <inheritdoc/>
    protected override void CopyInCore(NDArray host, NDArray destination)
    {
        lock (gate)
        {
            Bind();
            var bytes = MemoryMarshal.AsBytes(HostSpan(host));
            if (bytes.Length == 0) return;
            Bytes(destination).CopyFromCPU(stream, ref MemoryMarshal.GetReference(bytes), bytes.Length);
            // The host array belongs to the caller: finish reading it before returning (a pinned staging ring comes later).
            stream.Synchronize();
        }
    }

    /// <inheritdoc/>
    protected override void CopyOutCore(NDArray source, NDArray host)
    {
        lock (gate)
        {
            Bind();
            var bytes = MemoryMarshal.AsBytes(HostSpan(host));
            if (bytes.Length == 0) return;
            Bytes(source).CopyToCPU(stream, ref MemoryMarshal.GetReference(bytes), bytes.Length);
            stream.Synchronize();
        }
    }

    static Span<byte> HostSpan(NDArray a) => a.DType switch
    {
        DType.Float32 => MemoryMarshal.AsBytes(a.AsSpan<float>()),
        DType.Float64 => MemoryMarshal.AsBytes(a.AsSpan<double>()),
        DType.Int32 => MemoryMarshal.AsBytes(a.AsSpan<int>()),
        DType.Int64 => MemoryMarshal.AsBytes(a.AsSpan<long>()),
        DType.UInt8 => a.AsSpan<byte>(),
        DType.Bool => MemoryMarshal.AsBytes(a.AsSpan<bool>()),
        _ => throw new SessionRunException($"cannot copy {a.DType.Name()} tensors to or from a GPU"),
    };

    /// <inheritdoc/>
    protected override void SynchronizeCore()
    {
        lock (gate)
        {
            Bind();
            stream.Synchronize();
        }
    }

    /// <inheritdoc/>
    protected override void RunCore(KernelContext context)
    {
        var kernel = GpuKernels.Get(context.Node.Def)
            ?? throw context.Error($"{context.Node.Type} has no GPU kernel (the planner should have placed it on the CPU)");
        lock (gate)
        {
            Bind();
            requester = context.Node.Name;
            try
            {
                kernel(context, this);
                if (IsSimulated || SyncEachOp) stream.Synchronize();
            }
            finally { requester = "a copy"; }
        }
    }

    IntPtr cublas;
    bool cublasTried;

    /// <summary>The cuBLAS handle bound to this device's stream, or null (simulated device, or cuBLAS not found).</summary>
    internal IntPtr? Cublas
    {
        get
        {
            if (!cublasTried)
            {
                cublasTried = true;
                try
                {
                    if (!IsSimulated && NativeLibraries.TryLoadCublas(out _, out _))
                    {
                        accelerator.Bind();
                        if (CuBlas.Create(out var h) == 0 && CuBlas.SetStream(h, ((CudaStream)stream).StreamPtr) == 0) cublas = h;
                    }
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { cublas = IntPtr.Zero; }
            }
            return cublas == IntPtr.Zero ? null : cublas;
        }
    }

    /// <summary>Makes the accelerator's context current on the calling thread (Session.Run may come from any thread;
    /// cuBLAS and the driver act on the current context).</summary>
    void Bind() => accelerator.Bind();

    /// <summary>Fill each new buffer with NaN bits (tests: catches elements a kernel never writes).</summary>
    internal bool PoisonNewBuffers { get; set; }

    /// <summary>Synchronize after every op so that an error points at the op that caused it (<c>GRAPHDL_CUDA_SYNC=1</c>).</summary>
    public bool SyncEachOp { get; init; } = Environment.GetEnvironmentVariable("GRAPHDL_CUDA_SYNC") == "1";

    /// <summary>A kernel compiled for this accelerator (cached per kernel method).</summary>
    internal T Load<T>(Delegate kernel, Func<Accelerator, T> load) where T : class =>
        (T)loaded.GetOrAdd(kernel.Method, _ => load(accelerator));

    /// <summary>A grid-stride launch shape for <paramref name="n"/> work items.</summary>
    internal KernelConfig Config(long n)
    {
        long groups = Math.Clamp((n + GroupSize - 1) / GroupSize, 1, MaxGroups);
        return new KernelConfig((int)groups, GroupSize);
    }

    /// <summary>A temporary buffer for a kernel's scratch use, returned with <see cref="FreeTemp"/>.</summary>
    internal NDArray Temp(DType dtype, ReadOnlySpan<int> dims) => Allocate(dtype, dims);
    internal void FreeTemp(NDArray a) => Free(a);

    /// <summary>Releases the accelerator and its memory.</summary>
    public void Dispose()
    {
        if (disposed) return;
        disposed = true;
        stream.Synchronize();
        if (cublas != IntPtr.Zero) CuBlas.Destroy(cublas);
        stream.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
