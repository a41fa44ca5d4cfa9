using System.IO.Compression;

namespace GraphDl.Examples;

/// <summary>A minimal PNG writer (8-bit greyscale, no filtering) for example outputs.</summary>
public static class Png
{
    static readonly uint[] CrcTable = MakeCrcTable();

    /// <summary>Writes <paramref name="pixels"/> (row-major, <paramref name="width"/> x <paramref name="height"/>) as a greyscale PNG.</summary>
    public static void WriteGray(string path, ReadOnlySpan<byte> pixels, int width, int height)
    {
        if (pixels.Length != width * height) throw new ArgumentException($"{pixels.Length} pixels for a {width}x{height} image");
        using var raw = new MemoryStream();
        using (var z = new ZLibStream(raw, CompressionLevel.Optimal, leaveOpen: true))
            for (int r = 0; r < height; r++)
            {
                z.WriteByte(0); // filter: none
                z.Write(pixels.Slice(r * width, width));
            }
        using var f = File.Create(path);
        f.Write([0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A]);
        var ihdr = new byte[13];
        BigEndian(ihdr, 0, (uint)width);
        BigEndian(ihdr, 4, (uint)height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 0; // colour type: greyscale
        Chunk(f, "IHDR", ihdr);
        Chunk(f, "IDAT", raw.ToArray());
        Chunk(f, "IEND", []);
    }

    /// <summary>Scales floats to 0..255 linearly from their minimum to their maximum (a constant image becomes mid-grey).</summary>
    public static byte[] ToBytes(ReadOnlySpan<float> v)
    {
        float lo = float.PositiveInfinity, hi = float.NegativeInfinity;
        foreach (float x in v) { lo = Math.Min(lo, x); hi = Math.Max(hi, x); }
        var b = new byte[v.Length];
        for (int i = 0; i < v.Length; i++) b[i] = hi > lo ? (byte)Math.Round(255 * (v[i] - lo) / (hi - lo)) : (byte)128;
        return b;
    }

    static void Chunk(Stream s, string type, byte[] data)
    {
        var head = new byte[8];
        BigEndian(head, 0, (uint)data.Length);
        for (int i = 0; i < 4; i++) head[4 + i] = (byte)type[i];
        s.Write(head);
        s.Write(data);
        uint crc = 0xFFFFFFFF;
        foreach (byte b in head.AsSpan(4)) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        foreach (byte b in data) crc = CrcTable[(crc ^ b) & 0xFF] ^ (crc >> 8);
        var tail = new byte[4];
        BigEndian(tail, 0, crc ^ 0xFFFFFFFF);
        s.Write(tail);
    }

    static void BigEndian(byte[] b, int o, uint v)
    {
        b[o] = (byte)(v >> 24); b[o + 1] = (byte)(v >> 16); b[o + 2] = (byte)(v >> 8); b[o + 3] = (byte)v;
    }

    static uint[] MakeCrcTable()
    {
        var t = new uint[256];
        for (uint n = 0; n < 256; n++)
        {
            uint c = n;
            for (int k = 0; k < 8; k++) c = (c & 1) != 0 ? 0xEDB88320 ^ (c >> 1) : c >> 1;
            t[n] = c;
        }
        return t;
    }
}
