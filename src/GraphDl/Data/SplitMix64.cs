namespace GraphDl.Data;

/// <summary>
/// SplitMix64 (Steele, Lea and Flood 2014; constants as in Vigna's reference <c>splitmix64.c</c>):
/// a tiny, fully specified 64-bit generator, so a seed gives the same numbers on every .NET
/// version and platform (unlike <see cref="System.Random"/>, whose algorithm may change).
/// </summary>
public struct SplitMix64
{
    private const ulong Gamma = 0x9E3779B97F4A7C15UL;
    private ulong _state;

    /// <summary>Starts the generator at the given seed.</summary>
    public SplitMix64(ulong seed) => _state = seed;

    /// <summary>The SplitMix64 output function: a bijective 64-bit mix, usable as a hash to derive seeds.</summary>
    public static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Next 64 random bits.</summary>
    public ulong NextUInt64()
    {
        _state += Gamma;
        return Mix(_state);
    }

    /// <summary>Uniform integer in <c>[0, maxExclusive)</c>, unbiased (Lemire's multiply-and-reject method).</summary>
    public int NextInt(int maxExclusive)
    {
        if (maxExclusive <= 0)
            throw new ArgumentOutOfRangeException(nameof(maxExclusive), maxExclusive, "Must be positive.");
        uint bound = (uint)maxExclusive;
        ulong m = (ulong)(uint)(NextUInt64() >> 32) * bound;
        uint low = (uint)m;
        if (low < bound)
        {
            uint threshold = (uint)(-bound) % bound;
            while (low < threshold)
            {
                m = (ulong)(uint)(NextUInt64() >> 32) * bound;
                low = (uint)m;
            }
        }
        return (int)(m >> 32);
    }

    /// <summary>Uniform double in <c>[0, 1)</c> with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
