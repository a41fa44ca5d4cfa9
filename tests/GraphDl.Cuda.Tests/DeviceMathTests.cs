using GraphDl.Cuda.Kernels;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary><see cref="DeviceMath.Tanh{T}"/>, the float32 tanh the GPU kernels use instead of <c>tanh.approx.f32</c>,
/// run here as plain .NET code against the double-precision tanh.</summary>
public class DeviceMathTests
{
    [Test]
    public void Tanh_Float32_IsWithin1e6RelativeOfTheDoubleTanh_OnADenseGridAndTheEdges()
    {
        var xs = new List<float>();
        for (int i = -120000; i <= 120000; i++) xs.Add(i * 1e-4f);                        // [-12, 12], both branches
        for (int e = -149; e <= 7; e++) { xs.Add(MathF.ScaleB(1f, e)); xs.Add(-MathF.ScaleB(1.37f, e)); }   // subnormals up
        foreach (float edge in new[] { 0.625f, 1f / 4096 })                                   // branch boundaries
            for (int k = -3; k <= 3; k++) xs.Add(BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(edge) + k));
        double worst = 0; float at = 0;
        foreach (float x in xs)
        {
            double want = Math.Tanh(x), got = DeviceMath.Tanh(x);
            double rel = want == 0 ? Math.Abs(got) : Math.Abs(got - want) / Math.Abs(want);
            if (rel > worst) { worst = rel; at = x; }
        }
        TestContext.Out.WriteLine($"largest relative error {worst:G3} at x = {at:R} over {xs.Count} points");
        Assert.That(worst, Is.LessThanOrEqualTo(1e-6), $"at x = {at:R}");
        Assert.That(float.IsNaN(DeviceMath.Tanh(float.NaN)));
        Assert.That(DeviceMath.Tanh(float.PositiveInfinity), Is.EqualTo(1f));
        Assert.That(DeviceMath.Tanh(float.NegativeInfinity), Is.EqualTo(-1f));
        Assert.That(float.IsNegative(DeviceMath.Tanh(-0f)) && DeviceMath.Tanh(-0f) == 0, "tanh(-0) = -0");
        Assert.That(DeviceMath.Tanh(100f), Is.EqualTo(1f));
    }

    [Test]
    public void Tanh_Float64_IsTheDevicesTanh()
    {
        foreach (double x in new[] { -3.5, -0.1, 1e-9, 0.3, 2.0, 40.0 })
            Assert.That(DeviceMath.Tanh(x), Is.EqualTo(Math.Tanh(x)));
    }
}
