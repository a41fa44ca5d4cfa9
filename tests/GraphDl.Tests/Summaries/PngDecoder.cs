using System.Buffers.Binary;
using System.IO.Compression;

namespace GraphDl.Tests.Summaries;

/// <summary>A PNG decoder written from the PNG specification for the tests, independent of GraphDl's encoder: it handles
/// every filter type (the encoder only writes filter 0), several IDAT chunks, checks chunk CRCs, and is itself checked
/// on the PNGs of TensorBoard's golden logdir. 8-bit, non-interlaced images only.</summary>
static class PngDecoder
{
    public sealed record Image(int Width, int Height, int Channels, byte[] Pixels);

    public static Image Decode(ReadOnlySpan<byte> png)
    {
        ReadOnlySpan<byte> sig = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (!png[..8].SequenceEqual(sig)) throw new InvalidDataException("not a PNG signature");
        int pos = 8, width = 0, height = 0, channels = 0;
        using var idat = new MemoryStream();
        bool end = false;
        while (!end)
        {
            int len = BinaryPrimitives.ReadInt32BigEndian(png[pos..]);
            var type = png.Slice(pos + 4, 4);
            var data = png.Slice(pos + 8, len);
            uint crc = BinaryPrimitives.ReadUInt32BigEndian(png[(pos + 8 + len)..]);
            if (crc != Crc(png.Slice(pos + 4, len + 4))) throw new InvalidDataException($"bad CRC in chunk {System.Text.Encoding.ASCII.GetString(type)}");
            switch (System.Text.Encoding.ASCII.GetString(type))
            {
                case "IHDR":
                    width = BinaryPrimitives.ReadInt32BigEndian(data);
                    height = BinaryPrimitives.ReadInt32BigEndian(data[4..]);
                    if (data[8] != 8) throw new NotSupportedException($"bit depth {data[8]}");
                    channels = data[9] switch { 0 => 1, 4 => 2, 2 => 3, 6 => 4, _ => throw new NotSupportedException($"color type {data[9]}") };
                    if (data[12] != 0) throw new NotSupportedException("interlaced");
                    break;
                case "IDAT": idat.Write(data); break;
                case "IEND": end = true; break;
            }
            pos += 12 + len;
        }
        idat.Position = 0;
        using var z = new ZLibStream(idat, CompressionMode.Decompress);
        using var raw = new MemoryStream();
        z.CopyTo(raw);
        var bytes = raw.ToArray();
        int stride = width * channels;
        if (bytes.Length != height * (stride + 1)) throw new InvalidDataException($"{bytes.Length} decompressed bytes for {height} rows of {stride}");
        var pixels = new byte[height * stride];
        for (int y = 0; y < height; y++)
        {
            int filter = bytes[y * (stride + 1)];
            for (int x = 0; x < stride; x++)
            {
                int v = bytes[y * (stride + 1) + 1 + x];
                int a = x >= channels ? pixels[y * stride + x - channels] : 0;
                int b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
                int c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
                v += filter switch
                {
                    0 => 0,
                    1 => a,
                    2 => b,
                    3 => (a + b) / 2,
                    4 => Paeth(a, b, c),
                    _ => throw new InvalidDataException($"filter {filter}"),
                };
                pixels[y * stride + x] = (byte)v;
            }
        }
        return new Image(width, height, channels, pixels);
    }

    static int Paeth(int a, int b, int c)
    {
        int p = a + b - c, pa = Math.Abs(p - a), pb = Math.Abs(p - b), pc = Math.Abs(p - c);
        return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }

    static uint Crc(ReadOnlySpan<byte> data)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte d in data)
        {
            crc ^= d;
            for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xEDB88320u & (uint)-(int)(crc & 1));
        }
        return ~crc;
    }
}
