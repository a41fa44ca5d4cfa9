using System.Runtime.InteropServices;

namespace GraphDl.Cuda.Native;

/// <summary>GraphDl's own thin cuBLAS binding (ILGPU.Algorithms' wrapper only knows cuBLAS 10-12). Resolved through
/// <see cref="NativeLibraries"/> (<c>libcublas.so.13</c> first). Not exercised in CI: no GPU there; the argument
/// mapping it relies on is <see cref="GemmMapping"/>, which is tested.</summary>
public static partial class CuBlas
{
    const string Lib = "cublas";

    static CuBlas() => NativeLibraries.RegisterResolvers();

    /// <summary>cublasMath_t: CUBLAS_DEFAULT_MATH (float32 GEMMs in float32), CUBLAS_PEDANTIC_MATH (float32 and no
    /// reduced-precision shortcuts at all), CUBLAS_TF32_TENSOR_OP_MATH (float32 GEMMs may use TF32 tensor cores).</summary>
    public const int PedanticMath = 2, Tf32TensorOpMath = 3, DefaultMath = 0;

    [LibraryImport(Lib, EntryPoint = "cublasCreate_v2")] internal static partial int Create(out IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasDestroy_v2")] internal static partial int Destroy(IntPtr handle);
    [LibraryImport(Lib, EntryPoint = "cublasGetVersion_v2")] internal static partial int GetVersion(IntPtr handle, out int version);
    [LibraryImport(Lib, EntryPoint = "cublasGetProperty")] internal static partial int GetProperty(int type, out int value);
    [LibraryImport(Lib, EntryPoint = "cublasSetStream_v2")] internal static partial int SetStream(IntPtr handle, IntPtr stream);
    [LibraryImport(Lib, EntryPoint = "cublasSetMathMode")] internal static partial int SetMathMode(IntPtr handle, int mode);
    [LibraryImport(Lib, EntryPoint = "cublasSgemm_v2")]
    internal static partial int Sgemm(IntPtr handle, CublasOp ta, CublasOp tb, int m, int n, int k, in float alpha,
        IntPtr a, int lda, IntPtr b, int ldb, in float beta, IntPtr c, int ldc);
    [LibraryImport(Lib, EntryPoint = "cublasDgemm_v2")]
    internal static partial int Dgemm(IntPtr handle, CublasOp ta, CublasOp tb, int m, int n, int k, in double alpha,
        IntPtr a, int lda, IntPtr b, int ldb, in double beta, IntPtr c, int ldc);
    [LibraryImport(Lib, EntryPoint = "cublasSgemmStridedBatched")]
    internal static partial int SgemmStridedBatched(IntPtr handle, CublasOp ta, CublasOp tb, int m, int n, int k, in float alpha,
        IntPtr a, int lda, long strideA, IntPtr b, int ldb, long strideB, in float beta, IntPtr c, int ldc, long strideC, int batch);

    [LibraryImport(Lib, EntryPoint = "cublasDgemmStridedBatched")]
    internal static partial int DgemmStridedBatched(IntPtr handle, CublasOp ta, CublasOp tb, int m, int n, int k, in double alpha,
        IntPtr a, int lda, long strideA, IntPtr b, int ldb, long strideB, in double beta, IntPtr c, int ldc, long strideC, int batch);

    /// <summary>Row-major <c>C_i = op(A_i)·op(B_i)</c> for <paramref name="count"/> matrices at the given element strides
    /// (<see cref="GemmMapping.StridedBatch"/>; 0: the same matrix for every i), in float32 or float64.</summary>
    public static void RowMajorGemmStridedBatched(IntPtr handle, bool f64, int m, int n, int k, bool ta, bool tb, IntPtr a, long strideA,
        IntPtr b, long strideB, IntPtr c, long strideC, int count)
    {
        var g = GemmMapping.RowMajor(m, n, k, ta, tb);
        if (f64)
            Check(DgemmStridedBatched(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1.0, b, g.Lda, strideB, a, g.Ldb, strideA, 0.0, c, g.Ldc, strideC, count),
                "cublasDgemmStridedBatched");
        else
            Check(SgemmStridedBatched(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1f, b, g.Lda, strideB, a, g.Ldb, strideA, 0f, c, g.Ldc, strideC, count),
                "cublasSgemmStridedBatched");
    }

    /// <summary>Row-major <c>C = op(A)·op(B)</c> in float32 on the handle's stream (device pointers).</summary>
    public static void RowMajorSgemm(IntPtr handle, int m, int n, int k, bool ta, bool tb, IntPtr a, IntPtr b, IntPtr c)
    {
        var g = GemmMapping.RowMajor(m, n, k, ta, tb);
        Check(Sgemm(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1f, b, g.Lda, a, g.Ldb, 0f, c, g.Ldc), "cublasSgemm_v2");
    }

    /// <summary>Row-major <c>C = op(A)·op(B)</c> in float64.</summary>
    public static void RowMajorDgemm(IntPtr handle, int m, int n, int k, bool ta, bool tb, IntPtr a, IntPtr b, IntPtr c)
    {
        var g = GemmMapping.RowMajor(m, n, k, ta, tb);
        Check(Dgemm(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1.0, b, g.Lda, a, g.Ldb, 0.0, c, g.Ldc), "cublasDgemm_v2");
    }

    /// <summary>Row-major <c>C = op(A)·op(B) + beta·C</c> in float32 on matrices inside larger arrays (row lengths lda, ldb,
    /// ldc as stored; see <see cref="GemmMapping.RowMajor(int, int, int, bool, bool, int, int, int)"/>).</summary>
    public static void RowMajorSgemm(IntPtr handle, int m, int n, int k, bool ta, bool tb, IntPtr a, int lda, IntPtr b, int ldb, float beta, IntPtr c, int ldc)
    {
        var g = GemmMapping.RowMajor(m, n, k, ta, tb, lda, ldb, ldc);
        Check(Sgemm(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1f, b, g.Lda, a, g.Ldb, beta, c, g.Ldc), "cublasSgemm_v2");
    }

    /// <summary>Row-major <c>C = op(A)·op(B) + beta·C</c> in float64 on matrices inside larger arrays.</summary>
    public static void RowMajorDgemm(IntPtr handle, int m, int n, int k, bool ta, bool tb, IntPtr a, int lda, IntPtr b, int ldb, double beta, IntPtr c, int ldc)
    {
        var g = GemmMapping.RowMajor(m, n, k, ta, tb, lda, ldb, ldc);
        Check(Dgemm(handle, g.OpA, g.OpB, g.M, g.N, g.K, 1.0, b, g.Lda, a, g.Ldb, beta, c, g.Ldc), "cublasDgemm_v2");
    }

    /// <summary>The loaded cuBLAS's version as "major.minor.patch" (no GPU or handle needed), or null.</summary>
    public static string? Version()
    {
        try
        {
            if (GetProperty(0, out int major) != 0 || GetProperty(1, out int minor) != 0 || GetProperty(2, out int patch) != 0) return null;
            return $"{major}.{minor}.{patch}";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { return null; }
    }

    /// <summary>Throws a typed error naming the call for a non-zero cublasStatus_t.</summary>
    public static void Check(int status, string call)
    {
        if (status != 0) throw new SessionRunException($"{call} failed with cuBLAS status {status}");
    }
}
