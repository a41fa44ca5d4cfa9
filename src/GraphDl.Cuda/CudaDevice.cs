using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.InteropServices;
using GraphDl.Cuda.Kernels;
using GraphDl.Cuda.Memory;
using GraphDl.Cuda.Native;
using GraphDl.Cuda.Streams;
using GraphDl.Devices;
using GraphDl.Ops;
using GraphDl.Runtime;
using ILGPU;
using ILGPU.Runtime;
using ILGPU.Runtime.CPU;
using ILGPU.Runtime.Cuda;
using CuBlas = GraphDl.Cuda.Native.CuBlas;

namespace GraphDl.Cuda;

/// <summary>The allocation behind a GPU array (shared by its views and aliases: they share the array's data box).
/// With streams, <see cref="Scheduled"/> carries the stream positions of its last uses.</summary>
internal sealed class GpuBuffer
{
    public GpuBuffer(MemoryBlock block) => Block = block;
    public GpuBuffer(DeviceBuffer scheduled) { Scheduled = scheduled; Block = scheduled.Block; }
    public readonly MemoryBlock Block;
    public readonly DeviceBuffer? Scheduled;
}

/// <summary>An NVIDIA GPU (<c>/gpu:N</c>) driven through ILGPU: kernels from <see cref="GpuKernels"/>, memory from a
/// <see cref="CachingAllocator"/>. <see cref="CreateSimulated"/> runs the very same kernels on ILGPU's CPU accelerator
/// (slow; for tests on machines without a GPU). Pass it in <see cref="SessionOptions.Devices"/>; nodes placed on
/// <c>/gpu:N</c> whose op has no GPU kernel run on the CPU (soft placement).
/// <para>With streams (the default; <c>GRAPHDL_CUDA_STREAMS=0</c> or <c>streams: false</c> turns them off), kernels run on
/// a compute stream and copies on their own host-to-device and device-to-host streams, ordered by events through a
/// <see cref="StreamScheduler"/>: a feed returns once its bytes are in a staging buffer, a fetch waits for its own copy
/// only. Without streams, every kernel and copy goes on one stream and each copy synchronizes.</para></summary>
public sealed partial class CudaDevice : GraphDl.Devices.Device, IDisposable
{
    readonly Context context;
    readonly Accelerator accelerator;
    readonly AcceleratorStream stream;
    readonly ConcurrentDictionary<MethodInfo, object> loaded = new();
    readonly object gate = new();
    readonly string name;
    string requester = "a copy";
    bool disposed;
    readonly IStreamBackend? streamBackend;
    readonly StreamScheduler? scheduler;
    /// <summary>The kernel running now (under <see cref="gate"/>), whose nested device work joins it.</summary>
    Running? running;

    CudaDevice(Context context, Accelerator accelerator, int ordinal, GpuMemoryOptions? memory, bool simulated, bool streams, int? scheduleSeed)
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
        if (streams)
        {
            accelerator.Bind();
            streamBackend = simulated
                ? new SimulatedStreamBackend(stream, stream.Synchronize, scheduleSeed)
                : new CudaStreamBackend(((CudaStream)stream).StreamPtr, DevicePointer);
            scheduler = new StreamScheduler(streamBackend, Allocator);
        }
    }

    /// <summary>Streams on unless <c>GRAPHDL_CUDA_STREAMS=0</c>.</summary>
    static bool StreamsByDefault => Environment.GetEnvironmentVariable("GRAPHDL_CUDA_STREAMS") != "0";

    /// <summary>Opens GPU <paramref name="ordinal"/>, or returns null with the reason (no driver, no GPU, ...). Never
    /// throws on a machine without CUDA. <paramref name="streams"/>: separate compute and copy streams ordered by events
    /// (null: on unless <c>GRAPHDL_CUDA_STREAMS=0</c>); false: one stream, synchronous copies.</summary>
    public static CudaDevice? TryCreate(int ordinal, out string reason, GpuMemoryOptions? memory = null, bool? streams = null)
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
            return new CudaDevice(ctx, acc, ordinal, memory, simulated: false, streams ?? StreamsByDefault, null);
        }
        catch (Exception e)
        {
            ctx?.Dispose();
            reason = $"opening /gpu:{ordinal} failed: {e.GetType().Name}: {e.Message}";
            return null;
        }
    }

    /// <summary>A <c>/gpu:N</c> device whose kernels run on ILGPU's CPU accelerator: the GPU code paths, bit for bit the
    /// same kernels, without a GPU. Slow (each simulated GPU thread is an OS thread); for tests at small shapes.
    /// With <paramref name="streams"/> (null: on unless <c>GRAPHDL_CUDA_STREAMS=0</c>) its copies go through a
    /// <see cref="SimulatedStreamBackend"/>, which defers them until something waits for them;
    /// <paramref name="scheduleSeed"/> also runs queued copies early at random points.</summary>
    public static CudaDevice CreateSimulated(int ordinal = 0, GpuMemoryOptions? memory = null, CPUDevice? preset = null,
        bool? streams = null, int? scheduleSeed = null)
    {
        var ctx = Context.Create(b => b.CPU(preset ?? CPUDevice.Default).EnableAlgorithms());
        return new CudaDevice(ctx, ctx.CreateCPUAccelerator(0), ordinal, memory, simulated: true, streams ?? StreamsByDefault, scheduleSeed);
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
    /// <summary>True when kernels and copies run on separate streams ordered by events (see the class remarks).</summary>
    public bool UsesStreams => scheduler != null;
    /// <summary>The stream scheduler (null without streams): event and host-sync figures in <see cref="StreamScheduler.Stats"/>.</summary>
    public StreamScheduler? Streams => scheduler;
    /// <summary>The simulated device's stream backend (null on a GPU or without streams).</summary>
    internal SimulatedStreamBackend? SimulatedStreams => streamBackend as SimulatedStreamBackend;
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
            if (scheduler == null) { MiscOp.StridedCopy(this, src, srcOff, srcStrides, dst, dstOff, dstStrides, dims); return; }
            var (s, d) = (Scheduled(src), Scheduled(dst));
            if (running is { } run)
            {
                // Part of a running kernel (an array op's CPU logic): on the compute stream, ordered now.
                Join(run, s, write: false);
                Join(run, d, write: true);
                MiscOp.StridedCopy(this, src, srcOff, srcStrides, dst, dstOff, dstStrides, dims);
                return;
            }
            // Copied into spans: the launch runs inside Kernel, after this method's spans could be used.
            int[] ss = srcStrides.ToArray(), ds = dstStrides.ToArray(), dm = dims.ToArray();
            scheduler.Kernel("strided copy", [s], [d], _ => MiscOp.StridedCopy(this, src, srcOff, ss, dst, dstOff, ds, dm));
        }
    }

    /// <inheritdoc/>
    public override void Fill(NDArray array, NDArray? value)
    {
        lock (gate)
        {
            Bind();
            if (array.Size == 0) return;
            void Launch()
            {
                if (value == null) Bytes(array).MemSetToZero(stream);
                else MiscOp.FillWith(this, array, value);
            }
            if (scheduler == null) Launch();
            else if (running is { } run) { Join(run, Scheduled(array), write: true); Launch(); }
            else scheduler.Kernel("fill", [], [Scheduled(array)], _ => Launch());
        }
    }

    /// <inheritdoc/>
    protected override NDArray AllocateCore(DType dtype, ReadOnlySpan<int> dims)
    {
        if (dtype is DType.String) throw new SessionRunException($"{name} cannot hold string tensors ({requester})");
        long n = 1;
        foreach (var d in dims) n *= d;
        int es = dtype.Size();
        GpuBuffer buffer;
        lock (gate)
        {
            Bind();
            if (scheduler == null)
            {
                var block = Allocator.Allocate(n * es, requester);
                if (PoisonNewBuffers && n > 0) Poison(block);
                buffer = new GpuBuffer(block);
            }
            else
            {
                var b = scheduler.Allocate(n * es, requester);
                // The poison is compute work writing the buffer: a copy into it is ordered after it.
                if (running is { } run)
                {
                    // Inside a kernel (an output or a temporary): on the compute stream now, and marked as the kernel's
                    // write, so that a free of it waits for the whole kernel.
                    if (PoisonNewBuffers && n > 0) Poison(b.Block);
                    run.Writes.Add(b);
                }
                else if (PoisonNewBuffers && n > 0) scheduler.Kernel("poison", [], [b], _ => Poison(b.Block));
                buffer = new GpuBuffer(b);
            }
        }
        return Wrap(dtype, dims, buffer, buffer.Block.Size / es);
    }

    /// <summary>All bits set: NaN in every float, -1 in every integer; a kernel that leaves an element unwritten shows.</summary>
    void Poison(MemoryBlock block) => IlgpuMemoryBackend.View(block, block.Size).MemSet(stream, 0xFF);

    /// <inheritdoc/>
    protected override void FreeCore(NDArray buffer)
    {
        lock (gate)
        {
            // Without streams: kernels queued on the stream may still read the block; the allocator reuses it only for
            // work queued later.
            if (scheduler == null) { Allocator.Free(Unwrap<GpuBuffer>(buffer).Block); return; }
            var b = Scheduled(buffer);
            // Inside a kernel: held until the kernel has its stream position (later launches of it may still use the block).
            if (running is { } run) { run.Frees.Add(b); return; }
            scheduler.Free(b);
            scheduler.Reclaim();
        }
    }

    /// <summary>The scheduler's buffer behind a GPU array (streams on).</summary>
    static DeviceBuffer Scheduled(NDArray a) =>
        Unwrap<GpuBuffer>(a).Scheduled ?? throw new InvalidOperationException("a GPU array without a stream-scheduled buffer");

    static IntPtr DevicePointer(MemoryBlock block) =>
        ((MemoryBuffer1D<byte, Stride1D.Dense>)block.Segment.Handle).NativePtr + (nint)block.Offset;

    /// <summary>The bytes of a GPU array.</summary>
    internal static ArrayView<byte> Bytes(NDArray a) => IlgpuMemoryBackend.View(Unwrap<GpuBuffer>(a).Block, (long)a.Size * a.DType.Size());

    /// <summary>A GPU array's elements as a view.</summary>
    internal static ArrayView<T> View<T>(NDArray a) where T : unmanaged
    {
        var block = Unwrap<GpuBuffer>(a).Block;
        return IlgpuMemoryBackend.View(block, block.Size).Cast<T>().SubView(0, a.Size);
    }

    /// <summary>The device address of a GPU array (for cuBLAS).</summary>
    internal static IntPtr Pointer(NDArray a) => DevicePointer(Unwrap<GpuBuffer>(a).Block);

    /// <inheritdoc/>
    protected override void CopyInCore(NDArray host, NDArray destination)
    {
        lock (gate)
        {
            Bind();
            var bytes = MemoryMarshal.AsBytes(HostSpan(host));
            if (bytes.Length == 0) return;
            if (scheduler != null && running is { } run)
            {
                // Inside a kernel (lengths or indices it uploads): through a staging buffer, on the compute stream in order
                // with the kernel's launches, without waiting; the staging buffer is reusable once the kernel completes.
                var d = Scheduled(destination);
                Join(run, d, write: true);
                var st = scheduler.AcquireStaging(bytes.Length);
                try
                {
                    bytes.CopyTo(StagingBytes(st, bytes.Length));
                    scheduler.UploadOnCompute(st, d, bytes.Length);
                }
                catch { scheduler.Release(st); throw; }
                run.Stagings.Add(st);
                return;
            }
            else if (scheduler != null)
            {
                // The host array belongs to the caller: it is copied into a staging buffer now, and the H2D stream copies
                // that to the device later; the first kernel reading the buffer waits for it.
                var d = Scheduled(destination);
                var st = scheduler.AcquireStaging(bytes.Length);
                try { bytes.CopyTo(StagingBytes(st, bytes.Length)); }
                catch { scheduler.Release(st); throw; }
                scheduler.CopyToDevice(st, d, bytes.Length);
                return;
            }
            Bytes(destination).CopyFromCPU(stream, ref MemoryMarshal.GetReference(bytes), bytes.Length);
            // The host array belongs to the caller: finish reading it before returning.
            stream.Synchronize();
        }
    }

    /// <inheritdoc/>
    /// <remarks>With streams: each copy goes through a staging buffer on the D2H stream, after the work that wrote its
    /// source; up to <see cref="StreamScheduler.MaxStaging"/> of them are queued at a time and the host waits once, for the
    /// last (the stream runs them in order).</remarks>
    protected override void CopyOutAllCore(ReadOnlySpan<(NDArray Source, NDArray Host)> pairs)
    {
        lock (gate)
        {
            if (scheduler == null || running != null) { base.CopyOutAllCore(pairs); return; }
            Bind();
            var held = new StagingBuffer?[scheduler.MaxStaging];
            for (int start = 0; start < pairs.Length; start += held.Length)
            {
                int n = Math.Min(held.Length, pairs.Length - start);
                try
                {
                    var last = default(StreamPosition);
                    for (int k = 0; k < n; k++)
                    {
                        var (source, host) = pairs[start + k];
                        int bytes = MemoryMarshal.AsBytes(HostSpan(host)).Length;
                        if (bytes == 0) continue;
                        held[k] = scheduler.AcquireStaging(bytes);
                        last = scheduler.CopyToHost(Scheduled(source), held[k]!, bytes);
                    }
                    scheduler.WaitFor(last);
                    for (int k = 0; k < n; k++)
                        if (held[k] is { } st)
                        {
                            var bytes = MemoryMarshal.AsBytes(HostSpan(pairs[start + k].Host));
                            StagingBytes(st, bytes.Length).CopyTo(bytes);
                        }
                }
                finally
                {
                    for (int k = 0; k < n; k++)
                        if (held[k] is { } st) { scheduler.Release(st); held[k] = null; }
                }
            }
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
            if (scheduler != null && running is { } run) Join(run, Scheduled(source), write: false);
            else if (scheduler != null)
            {
                CopyOutAllCore([(source, host)]);
                return;
            }
            Bytes(source).CopyToCPU(stream, ref MemoryMarshal.GetReference(bytes), bytes.Length);
            stream.Synchronize();
        }
    }

    /// <summary>The first <paramref name="bytes"/> bytes of a staging buffer: a managed array (simulated) or pinned host
    /// memory (CUDA).</summary>
    static unsafe Span<byte> StagingBytes(StagingBuffer b, int bytes) => b.Handle switch
    {
        byte[] managed => managed.AsSpan(0, bytes),
        IntPtr pinned => new Span<byte>((void*)pinned, bytes),
        _ => throw new InvalidOperationException($"unknown staging memory {b.Handle.GetType().Name}"),
    };

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
            if (scheduler != null) scheduler.Synchronize();
            else stream.Synchronize();
        }
    }

    /// <inheritdoc/>
    protected override void RunCore(KernelContext context)
    {
        var kernel = (context.step.Chain != null ? FusedOp.BiasRelu : context.step.Batch != null ? ApplyOp.Batched(context.Node.Def) : GpuKernels.Get(context.Node.Def))
            ?? throw context.Error($"{context.Node.Type} has no GPU kernel (the planner should have placed it on the CPU)");
        lock (gate)
        {
            Bind();
            requester = context.Node.Name;
            try
            {
                if (scheduler == null)
                {
                    kernel(context, this);
                    if (IsSimulated || SyncEachOp) stream.Synchronize();
                    return;
                }
                RunScheduled(context, kernel);
                if (SyncEachOp) scheduler.Synchronize();
            }
            finally { requester = "a copy"; }
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
        lock (gate)
        {
            if (disposed) return;
            disposed = true;
            Bind();
            scheduler?.Dispose();                         // synchronizes all three streams first
            (streamBackend as IDisposable)?.Dispose();    // the copy streams
        }
        stream.Synchronize();
        if (cublas != IntPtr.Zero) CuBlas.Destroy(cublas);
        stream.Dispose();
        accelerator.Dispose();
        context.Dispose();
    }
}
