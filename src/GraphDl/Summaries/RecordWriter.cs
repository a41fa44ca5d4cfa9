using System.Buffers.Binary;

namespace GraphDl.Summaries;

/// <summary>Writes TFRecord frames: u64 length, masked CRC of it, payload, masked CRC of the payload.</summary>
public sealed class RecordWriter : IDisposable
{
    /// <summary>Bytes a record adds around its payload (8 + 4 + 4).</summary>
    public const int FrameOverhead = 16;

    readonly Stream _stream;
    readonly bool _leaveOpen;

    /// <summary>Wraps a writable stream; it is disposed with the writer unless <paramref name="leaveOpen"/>.</summary>
    public RecordWriter(Stream stream, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!stream.CanWrite) throw new ArgumentException("Stream is not writable.", nameof(stream));
        _stream = stream;
        _leaveOpen = leaveOpen;
    }

    /// <summary>Writes one framed record.</summary>
    public void Write(ReadOnlySpan<byte> payload) => _stream.Write(Frame(payload));

    /// <summary>Flushes the underlying stream to the operating system.</summary>
    public void Flush() => _stream.Flush();

    /// <summary>Returns the complete framed record for <paramref name="payload"/>.</summary>
    public static byte[] Frame(ReadOnlySpan<byte> payload)
    {
        var buf = new byte[payload.Length + FrameOverhead];
        var span = buf.AsSpan();
        BinaryPrimitives.WriteUInt64LittleEndian(span, (ulong)payload.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(span[8..], Crc32C.Masked(span[..8]));
        payload.CopyTo(span[12..]);
        BinaryPrimitives.WriteUInt32LittleEndian(span[(12 + payload.Length)..], Crc32C.Masked(payload));
        return buf;
    }

    /// <summary>Disposes the stream unless the writer was told to leave it open.</summary>
    public void Dispose()
    {
        if (!_leaveOpen) _stream.Dispose();
    }
}
