using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using Bench;
using Bench.Driver;

// BenchDriver [--rounds N] [--warmup S] [--measure S] [--groups g1,g2] [--out FILE] [--no-profile] | --update-readme
// Runs each group of rows as one GraphDl process and one TorchSharp process per round (never both at once), alternating
// which engine goes first, and writes the side-by-side table (stdout and FILE, default bench/results.md).
var inv = CultureInfo.InvariantCulture;
int rounds = 5;
double warmup = 2, measure = 0.5;
string[] groups = Harness.Groups;
string? outFile = null;
bool profile = true;
for (int i = 0; i < args.Length; i++)
{
    string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{args[i]} needs a value");
    switch (args[i])
    {
        case "--rounds": rounds = int.Parse(Next(), inv); break;
        case "--warmup": warmup = double.Parse(Next(), inv); break;
        case "--measure": measure = double.Parse(Next(), inv); break;
        case "--groups": groups = Next().Split(',', StringSplitOptions.RemoveEmptyEntries); break;
        case "--out": outFile = Next(); break;
        case "--no-profile": profile = false; break;
        case "--update-readme":
            {
                // Copies bench/results.md into README.md's results section (what a default run does at its end).
                var dir = FindBenchDir();
                UpdateReadme(dir, File.ReadAllText(Path.Combine(dir, "results.md")), s => Console.Error.WriteLine("[bench] " + s));
                return 0;
            }
        default:
            Console.Error.WriteLine("usage: BenchDriver [--rounds N] [--warmup S] [--measure S] [--groups " +
                string.Join(',', Harness.Groups) + "] [--out FILE] [--no-profile]");
            return 2;
    }
}
foreach (var g in groups)
    if (!Harness.Groups.Contains(g)) { Console.Error.WriteLine($"unknown group {g}"); return 2; }

var benchDir = FindBenchDir();
outFile ??= Path.Combine(benchDir, "results.md");
string Worker(string project, string dll) => Path.Combine(benchDir, project, "bin", "Release", "net10.0", dll);
var graphDlDll = Worker("GraphDlBench", "GraphDlBench.dll");
var torchDll = Worker("TorchBench", "TorchBench.dll");
foreach (var f in new[] { graphDlDll, torchDll })
    if (!File.Exists(f)) { Console.Error.WriteLine($"{f} missing: run `dotnet build -c Release {Path.Combine(benchDir, "GraphDl.Bench.sln")}` (bench/run.sh does)"); return 1; }

void Log(string s) => Console.Error.WriteLine("[bench] " + s);
string? preload = TorchSharpCompat.Prepare(Path.GetDirectoryName(torchDll)!, Path.Combine(benchDir, "tools", "torchsharp-compat"), Log);

var started = DateTime.UtcNow;
var clock = Stopwatch.StartNew();
double otherBefore = OtherLoad();
Log($"busy cores before the run (other processes): {otherBefore:F2}");

// results[(engine, key, variant)] = value per round (NaN when the round failed); memory[(engine, group)] = peak - idle bytes.
var results = new Dictionary<(string Engine, string Key, string Variant), double[]>();
var units = new Dictionary<string, string>();
var allocs = new Dictionary<(string Key, string Variant), List<double>>();
var memory = new Dictionary<(string Engine, string Group), double[]>();
var rowOrder = new List<(string Key, string Variant)>();
var keyGroup = new Dictionary<string, string>();
var failures = new List<string>();
string[] engines = ["GraphDl", "TorchSharp"];
for (int r = 0; r < rounds; r++)
    for (int gi = 0; gi < groups.Length; gi++)
    {
        var group = groups[gi];
        var order = (r + gi) % 2 == 0 ? engines : engines.Reverse().ToArray();
        foreach (var engine in order)
        {
            var sw = Stopwatch.StartNew();
            var (ok, lines, err) = RunWorker(engine == "GraphDl" ? graphDlDll : torchDll, engine == "TorchSharp" ? preload : null,
                [group, "--warmup", warmup.ToString(inv), "--measure", measure.ToString(inv)]);
            Log($"round {r + 1}/{rounds} {group,-9} {engine,-10} {sw.Elapsed.TotalSeconds,5:F1} s{(ok ? "" : "  FAILED")}");
            if (!ok) { failures.Add($"round {r + 1} {group} {engine}: {err}"); continue; }
            foreach (var line in lines)
            {
                var p = line.Split('\t');
                if (p[0] == "R")
                {
                    string key = p[1], variant = p[2];
                    units[key] = p[3];
                    keyGroup[key] = group;
                    var id = (engine, key, variant);
                    if (!results.TryGetValue(id, out var arr)) results[id] = arr = Enumerable.Repeat(double.NaN, rounds).ToArray();
                    arr[r] = double.Parse(p[4], inv);
                    if (engine == "GraphDl")
                    {
                        if (!rowOrder.Contains((key, variant))) rowOrder.Add((key, variant));
                        if (!allocs.TryGetValue((key, variant), out var al)) allocs[(key, variant)] = al = [];
                        al.Add(double.Parse(p[7], inv));
                    }
                }
                else if (p[0] == "M")
                {
                    if (!memory.TryGetValue((engine, group), out var arr)) memory[(engine, group)] = arr = Enumerable.Repeat(double.NaN, rounds).ToArray();
                    arr[r] = double.Parse(p[2], inv) - double.Parse(p[1], inv);
                }
            }
        }
    }
double otherAfter = OtherLoad();
Log($"busy cores after the run (other processes): {otherAfter:F2}");

string? profileText = null;
if (profile)
{
    var (ok, lines, err) = RunWorker(graphDlDll, null, ["profile", "--measure", "0.3"]);
    profileText = ok ? string.Join('\n', lines) : "profile failed: " + err;
}

// ---- report --------------------------------------------------------------------------------------------------------
var md = new StringBuilder();
bool underLoad = Math.Max(otherBefore, otherAfter) > 0.15;
md.AppendLine("# GraphDl vs TorchSharp: side-by-side results");
md.AppendLine();
md.AppendLine($"Written by `bench/run.sh` on {started:yyyy-MM-dd HH:mm} UTC in {clock.Elapsed.TotalMinutes:F1} min.");
md.AppendLine();
md.AppendLine("| machine | |");
md.AppendLine("|---|---|");
md.AppendLine($"| CPU | {CpuModel()} ({Environment.ProcessorCount} logical cores) |");
md.AppendLine($"| memory | {MemTotalGiB():F1} GiB |");
md.AppendLine($"| OS | {OsName()}, kernel {Environment.OSVersion.Version} |");
md.AppendLine($"| .NET | {RuntimeInformation.FrameworkDescription} |");
md.AppendLine($"| TorchSharp | TorchSharp-cpu 0.107.0 (LibTorch 2.10.0){(preload != null ? ", with the Debian 12 work-around (bench/tools/torchsharp-compat)" : "")} |");
md.AppendLine($"| settings | {rounds} interleaved rounds, {warmup.ToString(inv)} s warm-up per process, about {measure.ToString(inv)} s measured per row and process |");
md.AppendLine($"| other load | {otherBefore:F2} busy cores before the run, {otherAfter:F2} after (other processes, sampled for 1 s) |");
md.AppendLine();
if (underLoad)
{
    md.AppendLine($"**Measured under load**: other processes kept about {Math.Max(otherBefore, otherAfter):F1} of the " +
        $"{Environment.ProcessorCount} cores busy, so these numbers are noisy (2-thread rows most of all). Re-run `bench/run.sh` on a quiet machine.");
    md.AppendLine();
}
md.AppendLine("Each value is the median over rounds of one process's median step time (or rate); min–max over rounds in brackets. " +
    "The ratio is GraphDl's value over TorchSharp's in the row's unit, paired by round: for GFLOP/s above 1 means GraphDl is faster, " +
    "for times below 1 means GraphDl is faster.");
md.AppendLine();
md.AppendLine("| row | unit | GraphDl | TorchSharp | GraphDl/TorchSharp | GraphDl alloc/step |");
md.AppendLine("|---|---|---|---|---|---|");
foreach (var (key, variant) in rowOrder)
{
    var g = results[("GraphDl", key, variant)];
    results.TryGetValue(("TorchSharp", key, ""), out var t);
    var ratios = t == null ? [] : g.Zip(t, (a, b) => a / b).Where(double.IsFinite).ToArray();
    string label = variant == "" ? key : $"{key} — {variant}";
    md.AppendLine($"| {label} | {units[key]} | {Stat(g, units[key])} | {(t == null ? "—" : Stat(t, units[key]))} | {Stat(ratios, "ratio")} | " +
        $"{Median(allocs[(key, variant)].ToArray()):F0} B |");
}
md.AppendLine();
md.AppendLine("Peak memory per process: peak working set (VmHWM) minus the working set of the same process when idle " +
    "(runtime and engine loaded, one trivial op run, nothing of the benchmark built), in MiB.");
md.AppendLine();
md.AppendLine("| process (rows) | GraphDl | TorchSharp | GraphDl/TorchSharp |");
md.AppendLine("|---|---|---|---|");
foreach (var group in groups)
{
    memory.TryGetValue(("GraphDl", group), out var gm);
    memory.TryGetValue(("TorchSharp", group), out var tm);
    if (gm == null || tm == null) continue;
    var mib = (double[] a) => a.Select(v => v / (1 << 20)).ToArray();
    md.AppendLine($"| {group} | {Stat(mib(gm), "MiB")} | {Stat(mib(tm), "MiB")} | {Stat(gm.Zip(tm, (a, b) => a / b).Where(double.IsFinite).ToArray(), "ratio")} |");
}
md.AppendLine();
md.AppendLine("## Targets (issue 3)");
md.AppendLine();
md.AppendLine("A target is met when the median over the rounds clears it. The last two columns hold GraphDl's own median against " +
    "the TorchSharp medians the issue gives for its quiet 2-core reference machine (SGEMM about 74 GFLOP/s on 1 thread and 120 on 2 " +
    "at n ≥ 1024, MLP step 2.10 ms at batch 64 and 3.50 ms at 256, logistic-regression step 175 µs): a second reading that " +
    "does not depend on how TorchSharp fared in this run (its OpenMP threads suffer most from a busy machine).");
md.AppendLine();
md.AppendLine("| target | GraphDl/TorchSharp, this run | met | GraphDl vs the issue's reference figure | met |");
md.AppendLine("|---|---|---|---|---|");
void Target(string what, double[]? values, Func<double, bool> ok, string unit, double[]? own = null, string ownUnit = "", Func<double, bool>? ownOk = null, string bar = "")
{
    string first = values == null || values.Length == 0 || !values.Any(double.IsFinite)
        ? "not measured | —" : $"{Stat(values, unit)} | {(ok(Median(values)) ? "yes" : "**no**")}";
    string second = own == null || ownOk == null || !own.Any(double.IsFinite)
        ? "— | —" : $"{Stat(own, ownUnit)} {ownUnit} vs {bar} | {(ownOk(Median(own)) ? "yes" : "**no**")}";
    md.AppendLine($"| {what} | {first} | {second} |");
}
double[]? Ratio(string key, string variant)
{
    if (!results.TryGetValue(("GraphDl", key, variant), out var g) || !results.TryGetValue(("TorchSharp", key, ""), out var t)) return null;
    return g.Zip(t, (a, b) => a / b).Where(double.IsFinite).ToArray();
}
double[]? Own(string key, string variant = "") => results.TryGetValue(("GraphDl", key, variant), out var g) ? g : null;
foreach (int n in new[] { 1024, 2048 })
    foreach (int th in new[] { 1, 2 })
        foreach (var v in new[] { "Session MatMul", "raw Gemm.Sgemm" })
        {
            double refGf = th == 1 ? 74 : 120;
            Target($"{Harness.Keys.Sgemm(n, th)} — {v}: GFLOP/s ≥ TorchSharp's (ratio ≥ 1)", Ratio(Harness.Keys.Sgemm(n, th), v), m => m >= 1, "ratio",
                Own(Harness.Keys.Sgemm(n, th), v), "GFLOP/s", m => m >= refGf, $"≥ {refGf}");
        }
foreach (var (b, refMs) in new[] { (64, 2.10), (256, 3.50) })
    Target($"{Harness.Keys.Mlp(b)}: faster than TorchSharp (ratio < 1)", Ratio(Harness.Keys.Mlp(b), ""), m => m < 1, "ratio",
        Own(Harness.Keys.Mlp(b)), "ms", m => m < refMs, $"< {refMs:F2}");
Target("Logistic-regression step: ≥ 30× faster than TorchSharp (ratio ≤ 0.0333)", Ratio(Harness.Keys.LogReg, ""), m => m <= 1 / 30.0, "ratio",
    Own(Harness.Keys.LogReg), "us", m => m <= 175 / 30.0, "≤ 5.83 (175/30)");
Target($"{Harness.Keys.Lstm}: fused DynamicRnn faster than nn.LSTM (ratio < 1)", Ratio(Harness.Keys.Lstm, ""), m => m < 1, "ratio",
    Own(Harness.Keys.Lstm), "ms", m => m < 9.65, "< 9.65 (issue 6)");
Target("Per-op overhead of a cached plan ≤ 0.1 µs (GraphDl µs/op, fusion off)", Own(Harness.Keys.Chain), m => m <= 0.1, "us/op");
foreach (var group in new[] { "mlp64", "mlp256" })
{
    memory.TryGetValue(("GraphDl", group), out var gm);
    memory.TryGetValue(("TorchSharp", group), out var tm);
    Target($"MLP memory ({group}): peak − idle ≤ TorchSharp's (ratio ≤ 1)", gm == null || tm == null ? null : gm.Zip(tm, (a, b) => a / b).ToArray(), m => m <= 1, "ratio");
}
md.AppendLine("| Steady state allocates nothing per step beyond fetched results | asserted by the test suite; the alloc/step column above shows what a step allocates (fetched results, the result array, and anything else) | see tests | — | — |");
md.AppendLine();
if (failures.Count > 0)
{
    md.AppendLine("## Failed runs");
    md.AppendLine();
    foreach (var f in failures) md.AppendLine($"- {f.ReplaceLineEndings(" ")}");
    md.AppendLine();
}
if (profileText != null)
{
    md.AppendLine("## GraphDl step profile (`GraphDlBench profile`)");
    md.AppendLine();
    md.AppendLine("```");
    md.AppendLine(profileText);
    md.AppendLine("```");
}
File.WriteAllText(outFile, md.ToString());
Console.WriteLine(md.ToString());
if (Path.GetFullPath(outFile) == Path.GetFullPath(Path.Combine(benchDir, "results.md"))) UpdateReadme(benchDir, md.ToString(), Log);
Log($"wrote {outFile} in {clock.Elapsed.TotalMinutes:F1} min");
return failures.Count == 0 ? 0 : 1;

// ---- helpers -------------------------------------------------------------------------------------------------------
// The README carries the latest full table between two markers; a run with the default output file refreshes it.
static void UpdateReadme(string benchDir, string results, Action<string> log)
{
    var readme = Path.Combine(benchDir, "README.md");
    const string Begin = "<!-- results:begin (written by bench/run.sh) -->", End = "<!-- results:end -->";
    if (!File.Exists(readme)) return;
    var text = File.ReadAllText(readme);
    int b = text.IndexOf(Begin, StringComparison.Ordinal), e = text.IndexOf(End, StringComparison.Ordinal);
    if (b < 0 || e < b) return;
    // Demote the results' headings by two levels so they nest under the README's own section.
    bool fenced = false;
    var body = string.Join('\n', results.Split('\n').Select(l =>
    {
        if (l.StartsWith("```", StringComparison.Ordinal)) fenced = !fenced;
        return !fenced && l.StartsWith('#') ? "##" + l : l;
    }));
    File.WriteAllText(readme, text[..(b + Begin.Length)] + "\n" + body.TrimEnd() + "\n" + text[e..]);
    log($"updated the results section of {readme}");
}

static (bool Ok, List<string> Lines, string Error) RunWorker(string dll, string? preload, string[] args)
{
    var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
    psi.ArgumentList.Add(dll);
    foreach (var a in args) psi.ArgumentList.Add(a);
    if (preload != null) psi.Environment["LD_PRELOAD"] = preload;
    psi.Environment["DOTNET_TieredPGO"] = "1";
    using var p = Process.Start(psi)!;
    var errTask = p.StandardError.ReadToEndAsync();
    var lines = new List<string>();
    var outTask = Task.Run(() => { string? l; while ((l = p.StandardOutput.ReadLine()) != null) lines.Add(l); });
    if (!p.WaitForExit(300_000))
    {
        p.Kill(entireProcessTree: true);
        return (false, lines, "timed out after 300 s");
    }
    outTask.Wait();
    string err = errTask.Result;
    if (p.ExitCode != 0) return (false, lines, $"exit {p.ExitCode}: {Tail(err, 600)}");
    return (true, lines, "");
}

static string Tail(string s, int n) => s.Length <= n ? s : "…" + s[^n..];

static double Median(double[] v)
{
    var s = v.Where(double.IsFinite).OrderBy(x => x).ToArray();
    if (s.Length == 0) return double.NaN;
    return s.Length % 2 == 1 ? s[s.Length / 2] : 0.5 * (s[s.Length / 2 - 1] + s[s.Length / 2]);
}

static string Stat(double[] v, string unit)
{
    var s = v.Where(double.IsFinite).ToArray();
    if (s.Length == 0) return "—";
    string F(double x) => unit switch
    {
        "GFLOP/s" => x.ToString("F1", CultureInfo.InvariantCulture),
        "ms" => x.ToString("F3", CultureInfo.InvariantCulture),
        "us" => x.ToString("F1", CultureInfo.InvariantCulture),
        "us/op" => x.ToString("F3", CultureInfo.InvariantCulture),
        "MiB" => x.ToString("F1", CultureInfo.InvariantCulture),
        _ => x < 0.1 ? x.ToString("F4", CultureInfo.InvariantCulture) : x.ToString("F2", CultureInfo.InvariantCulture),
    };
    return $"{F(Median(s))} ({F(s.Min())}–{F(s.Max())})";
}

static string FindBenchDir()
{
    for (var d = new DirectoryInfo(AppContext.BaseDirectory); d != null; d = d.Parent)
        if (File.Exists(Path.Combine(d.FullName, "GraphDl.Bench.sln"))) return d.FullName;
    throw new DirectoryNotFoundException("cannot find bench/GraphDl.Bench.sln above " + AppContext.BaseDirectory);
}

// Cores kept busy by everything on the machine over one second (run when no worker is running, so it is other load).
static double OtherLoad()
{
    static (long Busy, long Total) Read()
    {
        var f = File.ReadLines("/proc/stat").First().Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(long.Parse).ToArray();
        long idle = f[3] + (f.Length > 4 ? f[4] : 0);
        long total = f.Take(8).Sum();
        return (total - idle, total);
    }
    var a = Read();
    Thread.Sleep(1000);
    var b = Read();
    return (double)(b.Busy - a.Busy) / Math.Max(1, b.Total - a.Total) * Environment.ProcessorCount;
}

static string CpuModel()
{
    foreach (var l in File.ReadLines("/proc/cpuinfo"))
        if (l.StartsWith("model name", StringComparison.Ordinal)) return l[(l.IndexOf(':') + 1)..].Trim();
    return RuntimeInformation.ProcessArchitecture.ToString();
}

static double MemTotalGiB()
{
    foreach (var l in File.ReadLines("/proc/meminfo"))
        if (l.StartsWith("MemTotal:", StringComparison.Ordinal))
            return long.Parse(l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1048576.0;
    return 0;
}

static string OsName()
{
    try
    {
        foreach (var l in File.ReadLines("/etc/os-release"))
            if (l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal)) return l[12..].Trim('"');
    }
    catch (IOException) { }
    return RuntimeInformation.OSDescription;
}
