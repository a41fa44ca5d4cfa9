using System.Text;
using GraphDl.Summaries;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

public sealed class Crc32CTests
{
    // Published vectors: shared/docs/tensorboard-format.md, section 1.2.
    [Test]
    public void CheckString() => Assert.That(Crc32C.Compute(Encoding.ASCII.GetBytes("123456789")), Is.EqualTo(0xE3069283u));

    [Test]
    public void ThirtyTwoZeroBytes() => Assert.That(Crc32C.Compute(new byte[32]), Is.EqualTo(0x8A9136AAu));

    [Test]
    public void ThirtyTwoFfBytes() => Assert.That(Crc32C.Compute(Enumerable.Repeat((byte)0xFF, 32).ToArray()), Is.EqualTo(0x62A8AB43u));

    [Test]
    public void Bytes0To31() => Assert.That(Crc32C.Compute(Enumerable.Range(0, 32).Select(i => (byte)i).ToArray()), Is.EqualTo(0x46DD794Eu));

    [Test]
    public void MaskOfZero() => Assert.That(Crc32C.Mask(0), Is.EqualTo(0xA282EAD8u));

    [Test]
    public void MaskedCrcOfZeroLengthField() => Assert.That(Crc32C.Masked(new byte[8]), Is.EqualTo(0x07980329u));

    [TestCase(0u)]
    [TestCase(1u)]
    [TestCase(0xE3069283u)]
    [TestCase(0xFFFFFFFFu)]
    public void UnmaskInvertsMask(uint crc) => Assert.That(Crc32C.Unmask(Crc32C.Mask(crc)), Is.EqualTo(crc));

    [Test]
    public void MatchesTableReferenceForEveryTailLength()
    {
        var rng = new Random(7);
        for (int n = 0; n <= 40; n++)
        {
            var data = new byte[n];
            rng.NextBytes(data);
            Assert.That(Crc32C.Compute(data), Is.EqualTo(TableCrc(data)), $"length {n}");
        }
    }

    static uint TableCrc(byte[] data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in data)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? (crc >> 1) ^ 0x82F63B78 : crc >> 1;
        }
        return crc ^ 0xFFFFFFFF;
    }
}
