using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

public sealed class RecordFormatTests
{
    static byte[] Hex(string s) => Convert.FromHexString(string.Concat(s.Where(c => !char.IsWhiteSpace(c))));

    static byte[] Framed(Event e)
    {
        using var ms = new MemoryStream();
        using (var w = new RecordWriter(ms, leaveOpen: true)) w.Write(e.ToByteArray());
        return ms.ToArray();
    }

    // Worked examples: shared/docs/tensorboard-format.md, section 1.4.
    [Test]
    public void FileVersionEventIsFramedByteForByte()
    {
        var e = new Event { WallTime = 1700000000.0, FileVersion = "brain.Event:2" };
        Assert.That(Framed(e), Is.EqualTo(Hex("""
            18 00 00 00 00 00 00 00   a3 7f 4b 22
            09 00 00 00 40 fc 54 d9 41
            1a 0d 62 72 61 69 6e 2e 45 76 65 6e 74 3a 32
            ec ed 8f 9d
            """)));
    }

    [Test]
    public void ScalarEventIsFramedByteForByte()
    {
        var e = new Event
        {
            WallTime = 1700000001.0,
            Step = 3,
            Summary = new Summary { Value = { new Summary.Types.Value { Tag = "loss", SimpleValue = 0.5f } } },
        };
        Assert.That(Framed(e), Is.EqualTo(Hex("""
            1a 00 00 00 00 00 00 00   12 9b d8 2d
            09 00 00 40 40 fc 54 d9 41
            10 03
            2a 0d
            0a 0b
            0a 04 6c 6f 73 73
            15 00 00 00 3f
            2f 13 6d 5e
            """)));
    }

    [Test]
    public void NegativeStepIsATenByteVarint() =>
        Assert.That(new Event { Step = -1 }.ToByteArray(), Is.EqualTo(Hex("10 ff ff ff ff ff ff ff ff ff 01")));

    [Test]
    public void ReaderReturnsWhatWriterWrote()
    {
        var payloads = new[] { Array.Empty<byte>(), new byte[] { 1 }, Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray() };
        using var ms = new MemoryStream();
        using (var w = new RecordWriter(ms, leaveOpen: true))
            foreach (var p in payloads) w.Write(p);
        Assert.That(ms.Length, Is.EqualTo(payloads.Sum(p => p.Length + RecordWriter.FrameOverhead)));

        ms.Position = 0;
        using var r = new RecordReader(ms);
        Assert.That(r.ReadAll().ToList(), Is.EqualTo(payloads));
        Assert.That(r.Offset, Is.EqualTo(ms.Length));
    }
}
