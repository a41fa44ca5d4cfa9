using System.Runtime.InteropServices;
using System.Text;

namespace GraphDl.Cuda.Native;

/// <summary>The few CUDA driver calls GraphDl makes itself: versions and device facts for <c>graphdl doctor</c>, and the
/// streams, events, pinned memory and asynchronous copies behind <see cref="Streams.CudaStreamBackend"/> (those have
/// not run on a GPU yet). Every call goes through <see cref="NativeLibraries"/>, so a machine without a driver gets a
/// false or an error code, never a load failure.</summary>
public static partial class CudaDriver
{
    const string Lib = "cuda";

    static CudaDriver() => NativeLibraries.RegisterResolvers();

    [LibraryImport(Lib)] private static partial int cuInit(uint flags);
    [LibraryImport(Lib)] private static partial int cuDriverGetVersion(out int version);
    [LibraryImport(Lib)] private static partial int cuDeviceGetCount(out int count);
    [LibraryImport(Lib)] private static partial int cuDeviceGet(out int device, int ordinal);
    [LibraryImport(Lib)] private static unsafe partial int cuDeviceGetName(byte* name, int length, int device);
    [LibraryImport(Lib, EntryPoint = "cuDeviceTotalMem_v2")] private static partial int cuDeviceTotalMem(out nuint bytes, int device);
    [LibraryImport(Lib)] private static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(Lib)] private static partial int cuStreamCreate(out IntPtr stream, uint flags);
    [LibraryImport(Lib, EntryPoint = "cuStreamDestroy_v2")] private static partial int cuStreamDestroy(IntPtr stream);
    [LibraryImport(Lib)] private static partial int cuStreamWaitEvent(IntPtr stream, IntPtr evt, uint flags);
    [LibraryImport(Lib)] private static partial int cuEventCreate(out IntPtr evt, uint flags);
    [LibraryImport(Lib)] private static partial int cuEventRecord(IntPtr evt, IntPtr stream);
    [LibraryImport(Lib)] private static partial int cuEventQuery(IntPtr evt);
    [LibraryImport(Lib)] private static partial int cuEventSynchronize(IntPtr evt);
    [LibraryImport(Lib, EntryPoint = "cuEventDestroy_v2")] private static partial int cuEventDestroy(IntPtr evt);
    [LibraryImport(Lib)] private static partial int cuMemHostAlloc(out IntPtr pointer, nuint bytes, uint flags);
    [LibraryImport(Lib)] private static partial int cuMemFreeHost(IntPtr pointer);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyHtoDAsync_v2")] private static partial int cuMemcpyHtoDAsync(ulong dst, IntPtr src, nuint bytes, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "cuMemcpyDtoHAsync_v2")] private static partial int cuMemcpyDtoHAsync(IntPtr dst, ulong src, nuint bytes, IntPtr stream);

    const uint StreamNonBlocking = 1, EventDisableTiming = 2;
    const int ErrorNotReady = 600;

    static void Check(int rc, string call)
    {
        if (rc != 0) throw new SessionRunException($"{call} failed with CUDA error {rc}{Hint(rc)}");
    }

    /// <summary>A non-blocking stream (never synchronizes with the legacy NULL stream). Needs a current context.</summary>
    internal static IntPtr StreamCreate() { Check(cuStreamCreate(out var s, StreamNonBlocking), "cuStreamCreate"); return s; }
    internal static void StreamDestroy(IntPtr stream) => Check(cuStreamDestroy(stream), "cuStreamDestroy_v2");
    /// <summary>Work enqueued on <paramref name="stream"/> later waits for the event's latest record.</summary>
    internal static void StreamWaitEvent(IntPtr stream, IntPtr evt) => Check(cuStreamWaitEvent(stream, evt, 0), "cuStreamWaitEvent");
    /// <summary>An event without timing (cheaper to record and wait on).</summary>
    internal static IntPtr EventCreate() { Check(cuEventCreate(out var e, EventDisableTiming), "cuEventCreate"); return e; }
    internal static void EventRecord(IntPtr evt, IntPtr stream) => Check(cuEventRecord(evt, stream), "cuEventRecord");
    /// <summary>True when the event's latest record has completed; false while it is pending.</summary>
    internal static bool EventQuery(IntPtr evt)
    {
        int rc = cuEventQuery(evt);
        if (rc == ErrorNotReady) return false;
        Check(rc, "cuEventQuery");
        return true;
    }
    internal static void EventSynchronize(IntPtr evt) => Check(cuEventSynchronize(evt), "cuEventSynchronize");
    internal static void EventDestroy(IntPtr evt) => Check(cuEventDestroy(evt), "cuEventDestroy_v2");
    /// <summary>Page-locked host memory (what makes a copy truly asynchronous).</summary>
    internal static IntPtr MemHostAlloc(long bytes) { Check(cuMemHostAlloc(out var p, (nuint)bytes, 0), $"cuMemHostAlloc of {bytes} bytes"); return p; }
    internal static void MemFreeHost(IntPtr pointer) => Check(cuMemFreeHost(pointer), "cuMemFreeHost");
    internal static void MemcpyHtoDAsync(IntPtr dst, IntPtr src, long bytes, IntPtr stream) =>
        Check(cuMemcpyHtoDAsync((ulong)dst, src, (nuint)bytes, stream), "cuMemcpyHtoDAsync_v2");
    internal static void MemcpyDtoHAsync(IntPtr dst, IntPtr src, long bytes, IntPtr stream) =>
        Check(cuMemcpyDtoHAsync(dst, (ulong)src, (nuint)bytes, stream), "cuMemcpyDtoHAsync_v2");

    const int ComputeCapabilityMajor = 75, ComputeCapabilityMinor = 76, MultiprocessorCount = 16;

    /// <summary>One GPU as the driver describes it.</summary>
    public sealed record GpuInfo(int Ordinal, string Name, long TotalMemoryBytes, int Major, int Minor, int Multiprocessors);

    /// <summary>What the driver says, or why it could not be asked.</summary>
    public sealed record DriverInfo(string? LibraryPath, int Version, IReadOnlyList<GpuInfo> Gpus, string? Error)
    {
        /// <summary>"13.0" from 13000.</summary>
        public string VersionText => Version <= 0 ? "unknown" : $"{Version / 1000}.{Version % 1000 / 10}";
    }

    /// <summary>Loads the driver and lists the GPUs; never throws.</summary>
    public static DriverInfo Query()
    {
        if (!NativeLibraries.TryLoadDriver(out _, out var path))
            return new(null, 0, [], $"no CUDA driver library found (tried {string.Join(", ", NativeLibraries.DriverCandidates)})");
        try
        {
            int rc = cuDriverGetVersion(out int version);
            if (rc != 0) return new(path, 0, [], $"cuDriverGetVersion failed with CUDA error {rc}");
            rc = cuInit(0);
            if (rc != 0) return new(path, version, [], $"cuInit failed with CUDA error {rc}{Hint(rc)}");
            rc = cuDeviceGetCount(out int count);
            if (rc != 0) return new(path, version, [], $"cuDeviceGetCount failed with CUDA error {rc}");
            var gpus = new List<GpuInfo>();
            for (int i = 0; i < count; i++)
            {
                if (cuDeviceGet(out int dev, i) != 0) continue;
                cuDeviceTotalMem(out nuint mem, dev);
                cuDeviceGetAttribute(out int major, ComputeCapabilityMajor, dev);
                cuDeviceGetAttribute(out int minor, ComputeCapabilityMinor, dev);
                cuDeviceGetAttribute(out int sms, MultiprocessorCount, dev);
                gpus.Add(new(i, Name(dev), (long)mem, major, minor, sms));
            }
            return new(path, version, gpus, null);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException or BadImageFormatException)
        {
            return new(path, 0, [], $"{path} is not a usable CUDA driver: {e.Message}");
        }
    }

    static unsafe string Name(int dev)
    {
        byte* buf = stackalloc byte[256];
        if (cuDeviceGetName(buf, 256, dev) != 0) return "unknown";
        int n = 0;
        while (n < 256 && buf[n] != 0) n++;
        return Encoding.UTF8.GetString(buf, n);
    }

    static string Hint(int rc) => rc switch
    {
        100 => " (CUDA_ERROR_NO_DEVICE: the driver sees no GPU; check nvidia-smi and CUDA_VISIBLE_DEVICES)",
        35 => " (CUDA_ERROR_INSUFFICIENT_DRIVER: the driver is older than the CUDA runtime needs)",
        999 => " (CUDA_ERROR_UNKNOWN: often a driver/kernel-module mismatch; try nvidia-smi)",
        _ => "",
    };
}
