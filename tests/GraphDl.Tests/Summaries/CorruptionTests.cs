using Google.Protobuf;
using GraphDl.Summaries;
using GraphDl.Summaries.Proto;
using NUnit.Framework;

namespace GraphDl.Tests.Summaries;

public sealed class CorruptionTests
{
    TempDir _dir = null!;
    string _path = null!;
    long[] _starts = null!; // byte offset of each of the three records

    [SetUp]
    public void WriteThreeEvents()
    {
        _dir = new TempDir();
        _path = _dir.File("events.out.tfevents.test");
        var events = new[]
        {
            new Event { WallTime = 1, FileVersion = "brain.Event:2" },
            new Event { WallTime = 2, Step = 1, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "a", SimpleValue = 1 } } } },
            new Event { WallTime = 3, Step = 2, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "a", SimpleValue = 2 } } } },
        };
        using var w = new RecordWriter(File.Create(_path));
        _starts = new long[events.Length];
        long offset = 0;
        for (int i = 0; i < events.Length; i++)
        {
            _starts[i] = offset;
            var bytes = events[i].ToByteArray();
            w.Write(bytes);
            offset += bytes.Length + RecordWriter.FrameOverhead;
        }
    }

    [TearDown]
    public void Cleanup() => _dir.Dispose();

    void FlipByte(long offset)
    {
        var bytes = File.ReadAllBytes(_path);
        bytes[offset] ^= 0x40;
        File.WriteAllBytes(_path, bytes);
    }

    void Truncate(long length)
    {
        using var fs = new FileStream(_path, FileMode.Open);
        fs.SetLength(length);
    }

    [Test]
    public void IntactFileReadsAllEvents() =>
        Assert.That(EventFileReader.ReadEvents(_path, tolerateTruncatedTail: false).Select(e => e.Step), Is.EqualTo(new long[] { 0, 1, 2 }));

    [TestCase(0, RecordDamage.HeaderCrcMismatch)]   // length byte
    [TestCase(9, RecordDamage.HeaderCrcMismatch)]   // length CRC byte
    [TestCase(14, RecordDamage.PayloadCrcMismatch)] // payload byte
    public void FlippedByteNamesFileAndRecordOffset(int offsetInRecord, RecordDamage damage)
    {
        FlipByte(_starts[1] + offsetInRecord);
        foreach (bool tolerant in new[] { false, true }) // corruption is never tolerated, only truncation
        {
            var ex = Assert.Throws<CorruptRecordException>(() => EventFileReader.ReadEvents(_path, tolerant).ToList())!;
            Assert.That(ex.Damage, Is.EqualTo(damage));
            Assert.That(ex.FilePath, Is.EqualTo(_path));
            Assert.That(ex.Offset, Is.EqualTo(_starts[1]));
            Assert.That(ex.Message, Does.Contain(_path).And.Contain($"offset {_starts[1]}"));
            Assert.That(ex, Is.InstanceOf<GraphDlException>());
        }
    }

    [Test]
    public void FlippedPayloadCrcByteIsDetected()
    {
        FlipByte(_starts[2] - 1); // last byte of record 1's footer
        var ex = Assert.Throws<CorruptRecordException>(() => EventFileReader.ReadEvents(_path).ToList())!;
        Assert.That((ex.Damage, ex.Offset), Is.EqualTo((RecordDamage.PayloadCrcMismatch, _starts[1])));
    }

    [TestCase(5)]   // inside the header
    [TestCase(12)]  // header complete, no payload
    [TestCase(-1)]  // footer one byte short
    public void TruncatedTailIsToleratedOrRaised(int keep)
    {
        long length = keep >= 0 ? _starts[2] + keep : new FileInfo(_path).Length + keep;
        Truncate(length);

        Assert.That(EventFileReader.ReadEvents(_path, tolerateTruncatedTail: true).Select(e => e.Step), Is.EqualTo(new long[] { 0, 1 }));

        var ex = Assert.Throws<CorruptRecordException>(() => EventFileReader.ReadEvents(_path, tolerateTruncatedTail: false).ToList())!;
        Assert.That((ex.Damage, ex.Offset), Is.EqualTo((RecordDamage.Truncated, _starts[2])));
        Assert.That(ex.Message, Does.Contain(_path));
    }

    [Test]
    public void TolerantReaderResumesOnceTheTailIsComplete()
    {
        var full = File.ReadAllBytes(_path);
        Truncate(_starts[2] + 20);
        using var reader = RecordReader.Open(_path, tolerateTruncatedTail: true);
        Assert.That(reader.ReadAll().Count(), Is.EqualTo(2));
        Assert.That(reader.Offset, Is.EqualTo(_starts[2]));

        using (var fs = new FileStream(_path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite))
            fs.Write(full.AsSpan((int)_starts[2] + 20));

        Assert.That(reader.TryRead(out var payload), Is.True);
        Assert.That(Event.Parser.ParseFrom(payload).Step, Is.EqualTo(2));
        Assert.That(reader.TryRead(out _), Is.False);
    }

    [Test]
    public void FrameWithInvalidEventPayloadIsReported()
    {
        byte[] notAnEvent = [0x1a, 0x02, 0xC3, 0x28]; // field 3 (string) with invalid UTF-8
        File.AppendAllBytes(_path, RecordWriter.Frame(notAnEvent));
        long start = _starts[2] + new Event { WallTime = 3, Step = 2, Summary = new Summary { Value = { new Summary.Types.Value { Tag = "a", SimpleValue = 2 } } } }.CalculateSize() + RecordWriter.FrameOverhead;
        var ex = Assert.Throws<CorruptRecordException>(() => EventFileReader.ReadEvents(_path).ToList())!;
        Assert.That((ex.Damage, ex.Offset), Is.EqualTo((RecordDamage.InvalidPayload, start)));
    }
}
