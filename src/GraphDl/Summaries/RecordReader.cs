using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;

namespace GraphDl.Summaries;

/// <summary>Reads TFRecord frames, checking both masked CRCs.</summary>
/// <remarks>
/// CRC mismatches always raise <see cref="CorruptRecordException"/>. A record cut short by the end of
/// the stream raises too, unless the reader tolerates a truncated tail (a file still being written, as
/// TensorBoard reads it): then reading stops there and <see cref="Offset"/> stays at that record's start.
/// </remarks>
public sealed class RecordReader : IDisposable
{
    readonly Stream _stream;
    readonly bool _leaveOpen;
    readonly byte[] _header = new byte[12];

    /// <summary>Where records come from, used in error messages.</summary>
    public string Source { get; }

    /// <summary>Whether a record cut short by the end of the stream ends reading quietly.</summary>
    public bool TolerateTruncatedTail { get; }

    /// <summary>Byte offset of the next record to read.</summary>
    public long Offset { get; private set; }

    /// <summary>Wraps a readable stream positioned at a record boundary.</summary>
    public RecordReader(Stream stream, string source = "<stream>", bool tolerateTruncatedTail = false, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanRead) throw new ArgumentException("Stream is not readable.", nameof(stream));
        _stream = stream;
        _leaveOpen = leaveOpen;
        Source = source;
        TolerateTruncatedTail = tolerateTruncatedTail;
        Offset = stream.CanSeek ? stream.Position : 0;
    }

    /// <summary>Opens a file for reading while another process may still be appending to it.</summary>
    public static RecordReader Open(string path, bool tolerateTruncatedTail = false) =>
        new(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete),
            path, tolerateTruncatedTail);

    /// <summary>Reads the next payload; false at a clean end (or a tolerated truncated tail).</summary>
    public bool TryRead([NotNullWhen(true)] out byte[]? payload)
    {
        payload = null;
        long start = Offset;
        int got = ReadFully(_header);
        if (got == 0) return false;
        if (got < _header.Length) return Truncated(start, $"header has {got} of 12 bytes");

        uint expected = BinaryPrimitives.ReadUInt32LittleEndian(_header.AsSpan(8));
        uint actual = Crc32C.Masked(_header.AsSpan(0, 8));
        if (expected != actual)
            throw new CorruptRecordException(Source, start, RecordDamage.HeaderCrcMismatch,
                $"length CRC is 0x{expected:X8}, computed 0x{actual:X8}");

        ulong length = BinaryPrimitives.ReadUInt64LittleEndian(_header);
        if (_stream.CanSeek && length + 4 > (ulong)Math.Max(0, _stream.Length - _stream.Position))
            return Truncated(start, $"payload of {length} bytes runs past the end of the stream");
        if (length > (ulong)Array.MaxLength - 4)
            throw new CorruptRecordException(Source, start, RecordDamage.Truncated, $"record length {length} is too large");

        var body = new byte[(int)length + 4];
        got = ReadFully(body);
        if (got < body.Length) return Truncated(start, $"payload and footer have {got} of {body.Length} bytes");

        var data = body.AsSpan(0, (int)length);
        expected = BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan((int)length));
        actual = Crc32C.Masked(data);
        if (expected != actual)
            throw new CorruptRecordException(Source, start, RecordDamage.PayloadCrcMismatch,
                $"payload CRC is 0x{expected:X8}, computed 0x{actual:X8}");

        Offset = start + 12 + body.Length;
        payload = data.ToArray();
        return true;
    }

    /// <summary>Reads every remaining payload.</summary>
    public IEnumerable<byte[]> ReadAll()
    {
        while (TryRead(out var payload)) yield return payload;
    }

    bool Truncated(long start, string detail)
    {
        if (!TolerateTruncatedTail)
            throw new CorruptRecordException(Source, start, RecordDamage.Truncated, detail);
        if (_stream.CanSeek) _stream.Position = start; // a later TryRead retries once more bytes arrive
        return false;
    }

    int ReadFully(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer[total..]);
            if (n == 0) break;
            total += n;
        }
        return total;
    }

    /// <summary>Disposes the stream unless the reader was told to leave it open.</summary>
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
