using System.Runtime.InteropServices;
using System.Text;

namespace GraphDl.Cuda.Native;

/// <summary>The few CUDA driver calls GraphDl makes itself (versions and device facts for <c>graphdl doctor</c>; events
/// and stream waits come with the stream work). Every call goes through <see cref="NativeLibraries"/>, so a machine
/// without a driver gets a false or an error code, never a load failure.</summary>
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
