using GraphDl.Cuda;

namespace GraphDl.Cli;

/// <summary><c>graphdl doctor [--require-gpu]</c>: GPU support report (driver, GPUs, cuBLAS, advice).</summary>
public static class DoctorCommand
{
    /// <summary>Prints the report; returns 0, or <see cref="ExitCodes.NoGpu"/> with <paramref name="requireGpu"/> and no usable GPU.</summary>
    public static int Run(bool requireGpu, TextWriter output)
    {
        var report = GpuReport.Collect();
        report.Write(output);
        return requireGpu && !report.GpuUsable ? ExitCodes.NoGpu : ExitCodes.Ok;
    }
}
