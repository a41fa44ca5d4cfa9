using System.Reflection;
using System.Runtime.InteropServices;

namespace GraphDl.Cuda.Native;

/// <summary>Finds the CUDA driver and cuBLAS by file name. <c>DllImport("cuda")</c> never probes the versioned
/// <c>libcuda.so.1</c> that driver installs provide, so GraphDl loads the libraries itself and answers ILGPU's and its own
/// imports with the handles. Nothing here throws when a library is missing.</summary>
public static class NativeLibraries
{
    /// <summary>Driver library names, tried in order.</summary>
    public static IReadOnlyList<string> DriverCandidates { get; } = OperatingSystem.IsWindows()
        ? ["nvcuda.dll"]
        : ["libcuda.so.1", "libcuda.so"];

    /// <summary>cuBLAS names, tried in order (CUDA 13 first); each is also tried in every directory of
    /// <c>GRAPHDL_CUDA_LIB_DIRS</c> (':'-separated, e.g. the pip wheel's <c>nvidia/cu13/lib</c>).</summary>
    public static IReadOnlyList<string> CublasCandidates { get; } = OperatingSystem.IsWindows()
        ? ["cublas64_13.dll", "cublas64_12.dll"]
        : ["libcublas.so.13", "libcublas.so.12", "libcublas.so"];

    static readonly object Gate = new();
    static (IntPtr handle, string? path, bool tried) driver, cublas;
    static bool resolverSet;

    /// <summary>The places a name is tried: the extra directories first, then the loader's own search.</summary>
    public static IEnumerable<string> Probes(IEnumerable<string> names, string? extraDirs)
    {
        var dirs = (extraDirs ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        foreach (var n in names)
        {
            foreach (var d in dirs) yield return Path.Combine(d, n);
            yield return n;
        }
    }

    static (IntPtr, string?) TryLoadFirst(IEnumerable<string> names)
    {
        foreach (var p in Probes(names, Environment.GetEnvironmentVariable("GRAPHDL_CUDA_LIB_DIRS")))
            if (NativeLibrary.TryLoad(p, out var h)) return (h, p);
        return (IntPtr.Zero, null);
    }

    /// <summary>The CUDA driver library, or false (and no exception) when there is none.</summary>
    public static bool TryLoadDriver(out IntPtr handle, out string? path)
    {
        lock (Gate)
        {
            if (!driver.tried) { var (h, p) = TryLoadFirst(DriverCandidates); driver = (h, p, true); }
            (handle, path) = (driver.handle, driver.path);
            return handle != IntPtr.Zero;
        }
    }

    /// <summary>cuBLAS, or false when it cannot be loaded.</summary>
    public static bool TryLoadCublas(out IntPtr handle, out string? path)
    {
        lock (Gate)
        {
            if (!cublas.tried) { var (h, p) = TryLoadFirst(CublasCandidates); cublas = (h, p, true); }
            (handle, path) = (cublas.handle, cublas.path);
            return handle != IntPtr.Zero;
        }
    }

    /// <summary>Answers ILGPU's and GraphDl.Cuda's <c>"cuda"</c>/<c>"cublas"</c> imports with the libraries found above.
    /// Idempotent; a resolver someone else set on ILGPU first is left alone.</summary>
    public static void RegisterResolvers()
    {
        lock (Gate)
        {
            if (resolverSet) return;
            resolverSet = true;
            Set(typeof(ILGPU.Context).Assembly);
            Set(typeof(NativeLibraries).Assembly);
        }
    }

    static void Set(Assembly assembly)
    {
        try { NativeLibrary.SetDllImportResolver(assembly, Resolve); }
        catch (InvalidOperationException) { /* the assembly already has a resolver */ }
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        if (name is "cuda" or "nvcuda" && TryLoadDriver(out var h, out _)) return h;
        if (name == "cublas" && TryLoadCublas(out var b, out _)) return b;
        return IntPtr.Zero;
    }
}
