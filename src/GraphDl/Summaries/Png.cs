using System.Buffers.Binary;
using System.IO.Compression;

namespace GraphDl.Summaries;

/// <summary>A minimal PNG encoder: 8-bit grayscale, grayscale+alpha, RGB or RGBA, no interlacing, one IDAT chunk.</summary>
public static class Png
{
    static readonly uint[] s_crcTable = BuildCrcTable();

    /// <summary>Encodes row-major interleaved pixels (<paramref name="channels"/> = 1, 2, 3 or 4 bytes per pixel).</summary>
    public static byte[] Encode(ReadOnlySpan<byte> pixels, int height, int width, int channels)
    {
        if (channels is < 1 or > 4) throw new ArgumentOutOfRangeException(nameof(channels), channels, "PNG needs 1 to 4 channels");
        if (height <= 0 || width <= 0) throw new ArgumentException($"image size {height}x{width} must be positive");
        int stride = width * channels;
        if (pixels.Length != (long)stride * height)
            throw new ArgumentException($"{pixels.Length} bytes do not fill a {height}x{width}x{channels} image");
        byte colorType = channels switch { 1 => 0, 2 => 4, 3 => 2, _ => 6 };

        using var idat = new MemoryStream();
        using (var z = new ZLibStream(idat, CompressionLevel.Optimal, leaveOpen: true))
        {
            Span<byte> filter = [0];
            for (int y = 0; y < height; y++)
            {
                z.Write(filter);
                z.Write(pixels.Slice(y * stride, stride));
            }
        }

        using var png = new MemoryStream();
        png.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        Span<byte> ihdr = stackalloc byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr[4..], height);
        ihdr[8] = 8;          // bit depth
        ihdr[9] = colorType;
        ihdr[10] = 0;         // deflate
        ihdr[11] = 0;         // adaptive filtering
        ihdr[12] = 0;         // no interlace
        WriteChunk(png, "IHDR"u8, ihdr);
        WriteChunk(png, "IDAT"u8, idat.GetBuffer().AsSpan(0, (int)idat.Length));
        WriteChunk(png, "IEND"u8, []);
        return png.ToArray();
    }

    static void WriteChunk(Stream s, ReadOnlySpan<byte> type, ReadOnlySpan<byte> data)
    {
        Span<byte> word = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(word, data.Length);
        s.Write(word);
        s.Write(type);
        s.Write(data);
        uint crc = Crc32(0xFFFFFFFFu, type);
        crc = Crc32(crc, data) ^ 0xFFFFFFFFu;
        BinaryPrimitives.WriteUInt32BigEndian(word, crc);
        s.Write(word);
    }

    static uint Crc32(uint crc, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data) crc = s_crcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        return crc;
    }

    static uint[] BuildCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
