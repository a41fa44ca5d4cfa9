using GraphDl.Cuda.Native;
using ILGPU.Runtime.Cuda;
using CuBlas = GraphDl.Cuda.Native.CuBlas;

namespace GraphDl.Cuda;

// The cuBLAS handle (bound to the compute stream) and its math mode.
public sealed partial class CudaDevice
{
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
                        if (CuBlas.Create(out var h) == 0)
                        {
                            if (CuBlas.SetStream(h, ((CudaStream)stream).StreamPtr) == 0
                                && CuBlas.SetMathMode(h, allowTf32 ? CuBlas.Tf32TensorOpMath : CuBlas.DefaultMath) == 0) cublas = h;
                            else CuBlas.Destroy(h);
                        }
                    }
                }
                catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException) { cublas = IntPtr.Zero; }
            }
            return cublas == IntPtr.Zero ? null : cublas;
        }
    }

    bool allowTf32;

    /// <summary>Whether float32 matrix products through cuBLAS may use TF32 tensor cores (10-bit mantissa inputs, float32
    /// accumulation), as PyTorch's <c>torch.backends.cuda.matmul.allow_tf32</c>. Off by default: float32 products stay
    /// float32, as on the CPU and in TF1. Applies to MatMul, BatchMatMulV2, the convolutions' and the fused RNNs'
    /// products from the next launch on; the ILGPU kernels (the simulated device) are unaffected.</summary>
    public bool AllowTf32
    {
        get => allowTf32;
        set
        {
            lock (gate)
            {
                allowTf32 = value;
                if (cublas == IntPtr.Zero) return;
                Bind();
                CuBlas.Check(CuBlas.SetMathMode(cublas, value ? CuBlas.Tf32TensorOpMath : CuBlas.DefaultMath), "cublasSetMathMode");
            }
        }
    }
}
