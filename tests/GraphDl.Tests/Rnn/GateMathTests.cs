using GraphDl.Ops;
using NUnit.Framework;

namespace GraphDl.Tests.Rnn;

/// <summary>The fused RNN kernels' single-precision gate functions against double-precision math.</summary>
public class GateMathTests
{
    static float[] Inputs()
    {
        var r = new Random(3);
        var v = new List<float> { 0f, -0f, 1e-8f, -1e-8f, 1e-3f, 0.5f, -0.5f, 9f, -9f, 20f, -20f, 87f, -87f, 88.5f, -88.5f, 100f, -100f, 1e30f, -1e30f };
        for (int i = 0; i < 2000; i++) v.Add((float)(r.NextDouble() * 24 - 12));
        return v.ToArray();
    }

    [Test]
    public void Sigmoid_AndTanh_AreWithinAFewUlpOfDoublePrecision()
    {
        var x = Inputs();
        var s = new float[x.Length];
        var t = new float[x.Length];
        GateMath.Sigmoid<float>(x, s);
        GateMath.Tanh<float>(x, t);
        for (int i = 0; i < x.Length; i++)
        {
            double sr = 1 / (1 + Math.Exp(-(double)x[i])), tr = Math.Tanh(x[i]);
            Assert.That(s[i], Is.EqualTo(sr).Within(3e-7 * Math.Max(sr, 1e-30) + 1e-38), $"sigmoid({x[i]})");
            Assert.That(t[i], Is.EqualTo(tr).Within(2.5e-7), $"tanh({x[i]})");
            Assert.That(s[i], Is.InRange(0f, 1f));
            Assert.That(t[i], Is.InRange(-1f, 1f));
        }
    }

    [Test]
    public void NaN_Propagates_InVectorLanesAndTail([Values(3, 16, 37)] int n)
    {
        var x = Enumerable.Range(0, n).Select(i => i % 5 == 2 ? float.NaN : i * 0.1f - 1).ToArray();
        var s = new float[n];
        var t = new float[n];
        GateMath.Sigmoid<float>(x, s);
        GateMath.Tanh<float>(x, t);
        for (int i = 0; i < n; i++)
        {
            Assert.That(float.IsNaN(s[i]), Is.EqualTo(float.IsNaN(x[i])), $"sigmoid at {i}");
            Assert.That(float.IsNaN(t[i]), Is.EqualTo(float.IsNaN(x[i])), $"tanh at {i}");
        }
        GateMath.Sigmoid<float>([float.PositiveInfinity, float.NegativeInfinity], s);
        Assert.That(s[0], Is.EqualTo(1f));
        Assert.That(s[1], Is.InRange(0f, 1e-38f), "σ(-∞) is 0 to within the smallest normal float");
    }

    /// <summary>A value gives the same bits in a SIMD lane and in the scalar tail, so splitting work never changes results.</summary>
    [Test]
    public void SameBits_AtAnyPosition()
    {
        var x = Inputs();
        var whole = new float[x.Length];
        GateMath.Tanh<float>(x, whole);
        var one = new float[1];
        for (int i = 0; i < x.Length; i += 7)
        {
            GateMath.Tanh<float>(x.AsSpan(i, 1), one);
            Assert.That(one[0], Is.EqualTo(whole[i]), $"tanh({x[i]})");
        }
    }

    [Test]
    public void Float64_KeepsDoublePrecision()
    {
        var x = Inputs().Select(v => (double)v).ToArray();
        var s = new double[x.Length];
        var t = new double[x.Length];
        GateMath.Sigmoid<double>(x, s);
        GateMath.Tanh<double>(x, t);
        for (int i = 0; i < x.Length; i++)
        {
            double sr = 1 / (1 + Math.Exp(-x[i])), tr = Math.Tanh(x[i]);
            Assert.That(s[i], Is.EqualTo(sr).Within(1e-14 * sr), $"sigmoid({x[i]})");
            Assert.That(t[i], Is.EqualTo(tr).Within(1e-15 + 1e-14 * Math.Abs(tr)), $"tanh({x[i]})"); // absolute near 0, as TensorPrimitives
        }
    }

    /// <summary>The single-precision softplus (the logistic loss's kernel) against double precision: a few ulp relative,
    /// including where log1p(u) is tiny (large |x|), at ±∞ and with NaN in vector lanes and in the tail; each element
    /// gives the same bits alone as inside a longer span.</summary>
    [Test]
    public void Softplus_IsWithinAFewUlpOfDoublePrecision_AndPositionIndependent()
    {
        var x = Inputs().Concat([float.PositiveInfinity, float.NegativeInfinity, float.NaN, 1e-30f, -1e-30f, 0.3465736f, -0.3465736f]).ToArray();
        var y = new float[x.Length];
        Assert.That(GateMath.SoftplusF(x, y), Is.True, "this machine has 256- or 512-bit SIMD");
        for (int i = 0; i < x.Length; i++)
        {
            double xd = x[i];
            if (double.IsNaN(xd)) { Assert.That(float.IsNaN(y[i]), $"softplus(NaN) at {i}"); continue; }
            double u = Math.Exp(-Math.Abs(xd));
            double r = Math.Max(xd, 0) + (u < 1e-6 ? u - u * u / 2 : Math.Log(1 + u)); // log1p without cancellation
            if (double.IsInfinity(r)) { Assert.That(y[i], Is.EqualTo((float)r), $"softplus({x[i]})"); continue; }
            Assert.That(y[i], Is.EqualTo(r).Within(3e-7 * r + 1.2e-38), $"softplus({x[i]})"); // below the normal range: absolute
        }
        var one = new float[1];
        for (int i = 0; i < x.Length; i++)
        {
            GateMath.SoftplusF(x.AsSpan(i, 1), one);
            Assert.That(BitConverter.SingleToInt32Bits(one[0]), Is.EqualTo(BitConverter.SingleToInt32Bits(y[i])), $"softplus({x[i]}) alone vs in a span");
        }
    }
}

