using System.Buffers.Binary;
using System.Numerics;

namespace GraphDl.Summaries;

/// <summary>CRC-32C (Castagnoli) and the TFRecord CRC mask.</summary>
public static class Crc32C
{
    const uint MaskDelta = 0xA282EAD8;

    /// <summary>The standard CRC-32C of <paramref name="data"/> (init and final XOR 0xFFFFFFFF).</summary>
    public static uint Compute(ReadOnlySpan<byte> data)
    {
        // BitOperations.Crc32C is a raw accumulate step (hardware crc32 where available).
        uint crc = 0xFFFFFFFF;
        int i = 0;
        for (; i + 8 <= data.Length; i += 8)
            crc = BitOperations.Crc32C(crc, BinaryPrimitives.ReadUInt64LittleEndian(data[i..]));
        for (; i < data.Length; i++)
            crc = BitOperations.Crc32C(crc, data[i]);
        return crc ^ 0xFFFFFFFF;
    }

    /// <summary>Masks a CRC as TFRecord stores it: rotate right by 15, add 0xA282EAD8.</summary>
    public static uint Mask(uint crc) => BitOperations.RotateRight(crc, 15) + MaskDelta;

    /// <summary>Inverse of <see cref="Mask"/>.</summary>
    public static uint Unmask(uint masked) => BitOperations.RotateLeft(masked - MaskDelta, 15);

    /// <summary>The masked CRC-32C of <paramref name="data"/>.</summary>
    public static uint Masked(ReadOnlySpan<byte> data) => Mask(Compute(data));
}
