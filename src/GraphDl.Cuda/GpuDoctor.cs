using GraphDl.Cuda.Native;
using ILGPU;
using ILGPU.Runtime.Cuda;
using CuBlas = GraphDl.Cuda.Native.CuBlas;

namespace GraphDl.Cuda;

/// <summary>What <c>graphdl doctor</c> found: the CUDA driver, each GPU, cuBLAS, what ILGPU sees, and what to do
/// about anything missing. Collecting it never throws on a machine without CUDA.</summary>
public sealed record GpuReport(CudaDriver.DriverInfo Driver, string? CublasPath, string? CublasVersion, int? IlgpuDevices, string? IlgpuError,
    IReadOnlyList<string> Advice)
{
    /// <summary>True when at least one GPU can run GraphDl's kernels.</summary>
    public bool GpuUsable => Driver.Error == null && Driver.Gpus.Count > 0 && (IlgpuDevices ?? 0) > 0;

    /// <summary>Collects the report.</summary>
    public static GpuReport Collect()
    {
        var driver = CudaDriver.Query();
        NativeLibraries.TryLoadCublas(out _, out var cublasPath);
        string? cublasVersion = cublasPath != null ? CuBlas.Version() : null;
        int? ilgpu = null;
        string? ilgpuError = null;
        if (driver.Error == null && driver.Gpus.Count > 0)
        {
            try
            {
                NativeLibraries.RegisterResolvers();
                using var ctx = Context.Create(b => b.Cuda());
                ilgpu = ctx.GetCudaDevices().Count;
            }
            catch (Exception e) { ilgpuError = $"{e.GetType().Name}: {e.Message}"; }
        }
        var advice = new List<string>();
        if (driver.LibraryPath == null)
        {
            advice.Add("No NVIDIA driver library was found, so GraphDl runs everything on the CPU. To use a GPU, install the NVIDIA " +
                       "driver (nvidia-smi must list the GPU); in a container, start it with the GPU exposed (docker run --gpus all ...) " +
                       "so that libcuda.so.1 is mounted.");
        }
        else if (driver.Error != null)
            advice.Add($"The driver library loaded but did not work ({driver.Error}). Check that nvidia-smi works and that the driver and kernel module versions match.");
        else if (driver.Gpus.Count == 0)
            advice.Add("The driver sees no GPU: check nvidia-smi and CUDA_VISIBLE_DEVICES.");
        else
        {
            foreach (var g in driver.Gpus.Where(g => g.Major < 6))
                advice.Add($"GPU {g.Ordinal} ({g.Name}) has compute capability {g.Major}.{g.Minor}; GraphDl needs 6.0 or newer.");
            if (ilgpuError != null || ilgpu == 0)
                advice.Add($"ILGPU could not use the driver ({ilgpuError ?? "it reports no CUDA device"}); GraphDl falls back to the CPU.");
        }
        if (cublasPath == null)
            advice.Add($"cuBLAS was not found (tried {string.Join(", ", NativeLibraries.CublasCandidates)}): on a GPU, MatMul then uses GraphDl's own " +
                       "ILGPU kernel, which is slower. Install the CUDA 13 libraries, or 'pip install nvidia-cublas' and set " +
                       "GRAPHDL_CUDA_LIB_DIRS to the wheel's nvidia/cu13/lib folder.");
        return new(driver, cublasPath, cublasVersion, ilgpu, ilgpuError, advice);
    }

    /// <summary>Writes the report as text.</summary>
    public void Write(TextWriter o)
    {
        o.WriteLine("GraphDl GPU check");
        o.WriteLine($"  CUDA driver:  {(Driver.LibraryPath == null ? "not found" : $"{Driver.LibraryPath} (CUDA {Driver.VersionText})")}");
        if (Driver.LibraryPath != null && Driver.Error != null) o.WriteLine($"  driver error: {Driver.Error}");
        if (Driver.Gpus.Count == 0) o.WriteLine("  GPUs:         none");
        foreach (var g in Driver.Gpus)
            o.WriteLine($"  /gpu:{g.Ordinal}:       {g.Name}, {g.TotalMemoryBytes / (double)(1L << 30):0.0} GiB, compute capability {g.Major}.{g.Minor}, {g.Multiprocessors} SMs");
        o.WriteLine($"  cuBLAS:       {(CublasPath == null ? "not found" : $"{CublasPath}{(CublasVersion != null ? $" (version {CublasVersion})" : "")}")}");
        if (IlgpuDevices != null || IlgpuError != null)
            o.WriteLine($"  ILGPU:        {(IlgpuError ?? $"{IlgpuDevices} CUDA device(s)")}");
        o.WriteLine(GpuUsable ? "Result: GPU available; pass CudaDevice.TryCreate(0, ...) in SessionOptions.Devices to use it."
                              : "Result: no GPU: GraphDl will run on the CPU.");
        foreach (var a in Advice) o.WriteLine($"  - {a}");
    }
}
