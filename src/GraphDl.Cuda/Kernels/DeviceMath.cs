using System.Numerics;
using ILGPU;

namespace GraphDl.Cuda.Kernels;

/// <summary>Math for GPU kernels where the device's own function is not accurate enough. ILGPU 1.5.3 compiles a float32
/// <c>T.Tanh</c> to PTX's <c>tanh.approx.f32</c>, whose maximum relative error is 2⁻¹¹ (NVIDIA's PTX ISA notes): about
/// 4.9e-4, thousands of ulps, where the CPU kernels and PyTorch's CUDA tanh are accurate to a few ulps.</summary>
public static class DeviceMath
{
    /// <summary>tanh(x). float64: the device's <c>T.Tanh</c> (ILGPU's software routine). float32, from exp, +, ×, ÷ only:
    /// <list type="bullet">
    /// <item>|x| ≥ 5/8: sign(x)·(1 − 2/(e^{2|x|} + 1)), with no cancellation there (the result is at least 0.55); on a
    /// GPU the exponential is <c>ex2.approx</c> of 2|x|·log₂e, relative error about 2⁻²² plus |x|·2⁻²³ from the
    /// argument's rounding, which moves the result by less than 1e-6 relative for |x| ≤ 9 and not at all beyond (it
    /// rounds to ±1).</item>
    /// <item>2⁻¹² ≤ |x| &lt; 5/8: y = x/16, tanh(y) ≈ y − y³/3 + 2y⁵/15 (the next term is 17y⁷/315, below 2e-10 of y),
    /// then four doublings tanh(2y) = 2t/(1 + t²), each stable and correctly rounded in its three operations.</item>
    /// <item>|x| &lt; 2⁻¹²: x (the x³/3 term is below half an ulp); NaN stays NaN, ±∞ gives ±1, −0 gives −0.</item>
    /// </list>
    /// Observed on the CPU (where exp is .NET's): within 4e-7 relative of the double-precision tanh (test).</summary>
    public static T Tanh<T>(T x) where T : unmanaged, IFloatingPointIeee754<T>
    {
        if (Interop.SizeOf<T>() == 8) return T.Tanh(x);
        T one = T.One, two = one + one, four = two + two, sixteen = four * four;
        T a = x < T.Zero ? -x : x;
        if (a >= (four + one) / (four + four))
        {
            T t = one - two / (T.Exp(two * a) + one);
            return x < T.Zero ? -t : t;
        }
        if (a < one / (sixteen * sixteen * sixteen)) return x;   // also NaN (comparisons are false) and ±0
        T three = two + one;
        T y = x / sixteen, y2 = y * y;
        T r = y + y * y2 * (two / (three * (three + two)) * y2 - one / three);
        for (int i = 0; i < 4; i++) r = two * r / (one + r * r);
        return r;
    }
}
