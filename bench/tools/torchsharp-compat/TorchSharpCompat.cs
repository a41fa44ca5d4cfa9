using System.Buffers.Binary;
using System.Diagnostics;
using System.Text;

namespace Bench.Driver;

/// <summary>
/// Makes TorchSharp 0.107 load on a system whose libstdc++ predates GLIBCXX_3.4.32 (Debian 12, GCC 12): builds the
/// one-symbol shim (ios_init_shim.cpp, with g++) for LD_PRELOAD, and marks the GLIBCXX_3.4.32 version need of the
/// build output's copy of libLibTorchSharp.so weak, so the loader accepts the older libstdc++. The NuGet cache is never
/// touched. On a system whose libstdc++ has GLIBCXX_3.4.32 nothing is done.
/// </summary>
public static class TorchSharpCompat
{
    const string Version = "GLIBCXX_3.4.32";

    /// <summary>Prepares the TorchSharp worker's output folder; returns the LD_PRELOAD value to start it with, or null if none is needed.</summary>
    public static string? Prepare(string torchBinDir, string toolsDir, Action<string> log)
    {
        if (SystemHas(Version, log))
        {
            log($"libstdc++ has {Version}: TorchSharp runs as shipped");
            return null;
        }
        var lib = Path.Combine(torchBinDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(lib)) throw new FileNotFoundException($"{lib} not found: build bench/GraphDl.Bench.sln first", lib);
        var changed = WeakenVersionNeed(lib, Version);
        log(changed ? $"marked {Version} weak in {lib}" : $"{Version} already weak in {lib}");

        var buildDir = Path.Combine(toolsDir, "build");
        Directory.CreateDirectory(buildDir);
        var shim = Path.Combine(buildDir, "ios_init_shim.so");
        var src = Path.Combine(toolsDir, "ios_init_shim.cpp");
        var map = Path.Combine(toolsDir, "ios_init_shim.map");
        if (!File.Exists(shim) || File.GetLastWriteTimeUtc(shim) < File.GetLastWriteTimeUtc(src) || File.GetLastWriteTimeUtc(shim) < File.GetLastWriteTimeUtc(map))
        {
            var psi = new ProcessStartInfo("g++", ["-O2", "-shared", "-fPIC", $"-Wl,--version-script={map}", "-o", shim, src])
            { RedirectStandardError = true };
            using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start g++");
            string err = p.StandardError.ReadToEnd();
            p.WaitForExit();
            if (p.ExitCode != 0) throw new InvalidOperationException($"g++ failed building the TorchSharp shim:\n{err}");
            log($"built {shim}");
        }
        return Path.GetFullPath(shim);
    }

    /// <summary>True when the libstdc++ the loader would pick defines the version (its name appears in the file).</summary>
    static bool SystemHas(string version, Action<string> log)
    {
        string? path = null;
        try
        {
            var psi = new ProcessStartInfo("ldconfig", ["-p"]) { RedirectStandardOutput = true };
            using var p = Process.Start(psi)!;
            foreach (var line in p.StandardOutput.ReadToEnd().Split('\n'))
                if (line.Contains("libstdc++.so.6 ", StringComparison.Ordinal) && line.Contains("x86-64", StringComparison.Ordinal) && line.Contains("=> ", StringComparison.Ordinal))
                { path = line[(line.IndexOf("=> ", StringComparison.Ordinal) + 3)..].Trim(); break; }
            p.WaitForExit();
        }
        catch (System.ComponentModel.Win32Exception) { }
        path ??= new[] { "/lib/x86_64-linux-gnu/libstdc++.so.6", "/usr/lib64/libstdc++.so.6", "/usr/lib/libstdc++.so.6" }.FirstOrDefault(File.Exists);
        if (path == null) { log("no libstdc++.so.6 found; assuming the work-around is needed"); return false; }
        var bytes = File.ReadAllBytes(path);
        return bytes.AsSpan().IndexOf(Encoding.ASCII.GetBytes(version + "\0")) >= 0;
    }

    /// <summary>Sets VER_FLG_WEAK on the named version need of an ELF64 little-endian shared object, in place; false if it was already weak.</summary>
    public static bool WeakenVersionNeed(string path, string version)
    {
        var data = File.ReadAllBytes(path);
        var d = data.AsSpan();
        if (!d[..4].SequenceEqual("\u007fELF"u8) || d[4] != 2 || d[5] != 1) throw new InvalidDataException($"{path}: not a little-endian ELF64 file");
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(d[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(d[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(d[0x3C..]);
        const uint ShtGnuVerneed = 0x6FFFFFFE;
        const ushort VerFlgWeak = 0x2;
        long Sec(int i, int field) => shoff + (long)i * shentsize + field;
        for (int i = 0; i < shnum; i++)
        {
            if (BinaryPrimitives.ReadUInt32LittleEndian(d[(int)Sec(i, 4)..]) != ShtGnuVerneed) continue;
            long off = (long)BinaryPrimitives.ReadUInt64LittleEndian(d[(int)Sec(i, 0x18)..]);
            int link = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[(int)Sec(i, 0x28)..]);
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(d[(int)Sec(i, 0x2C)..]); // sh_info: number of Verneed entries
            long strtab = (long)BinaryPrimitives.ReadUInt64LittleEndian(d[(int)Sec(link, 0x18)..]);
            string Str(uint o)
            {
                int start = (int)(strtab + o);
                int end = Array.IndexOf(data, (byte)0, start);
                return Encoding.ASCII.GetString(data, start, end - start);
            }
            for (int n = 0; n < count; n++)
            {
                // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32
                int cnt = BinaryPrimitives.ReadUInt16LittleEndian(d[(int)(off + 2)..]);
                uint aux = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(off + 8)..]);
                uint next = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(off + 12)..]);
                long a = off + aux;
                for (int k = 0; k < cnt; k++)
                {
                    // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32
                    ushort flags = BinaryPrimitives.ReadUInt16LittleEndian(d[(int)(a + 4)..]);
                    uint name = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(a + 8)..]);
                    uint anext = BinaryPrimitives.ReadUInt32LittleEndian(d[(int)(a + 12)..]);
                    if (Str(name) == version)
                    {
                        if ((flags & VerFlgWeak) != 0) return false;
                        BinaryPrimitives.WriteUInt16LittleEndian(d[(int)(a + 4)..], (ushort)(flags | VerFlgWeak));
                        File.WriteAllBytes(path, data);
                        return true;
                    }
                    if (anext == 0) break;
                    a += anext;
                }
                if (next == 0) break;
                off += next;
            }
            throw new InvalidDataException($"{path}: needs no {version}");
        }
        throw new InvalidDataException($"{path}: no version-needs section");
    }
}
