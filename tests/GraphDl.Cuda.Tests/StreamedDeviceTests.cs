using GraphDl.Cuda.Streams;
using GraphDl.Train;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>The simulated device with streams: <see cref="CudaDevice"/> wired to <see cref="StreamScheduler"/> over a
/// <see cref="SimulatedStreamBackend"/>, which runs kernels at once and copies only when something waits for them.</summary>
public class StreamedDeviceTests
{
    static NDArray Floats(int n, double phase) => NDArray.From(Enumerable.Range(0, n).Select(i => (float)Math.Sin(i * 0.37 + phase)).ToArray(), n);

    /// <summary>y = x·2 + 1 on the GPU, x fed.</summary>
    static (Graph g, Tensor x, Tensor y) Affine()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        Tensor y;
        using (g.Device("/gpu:0")) y = x * 2.0 + 1.0;
        return (g, x, y);
    }

    static float[] Expected(NDArray x) => x.ToArray<float>().Select(v => v * 2f + 1f).ToArray();

    [Test]
    public void DroppedWaits_MakeAFeedKernelFetchSessionWrong()
    {
        using var gpu = CudaDevice.CreateSimulated(0, streams: true);
        gpu.PoisonNewBuffers = true;
        var (g, x, y) = Affine();
        using var s = new Session(g, new SessionOptions { Devices = [gpu] });
        var x1 = Floats(300, 0);
        var x2 = Floats(300, 1);
        // With its waits the session is right (also on the second run, which reuses the first run's buffers).
        Assert.That(s.Run(y, (x, x1)).ToArray<float>(), Is.EqualTo(Expected(x1)));
        Assert.That(s.Run(y, (x, x1)).ToArray<float>(), Is.EqualTo(Expected(x1)));

        // Without them, the kernels run before the feed's copy: they read what the buffer held before (run 1's x)...
        gpu.Streams!.DropWaitForTest = _ => true;
        Assert.That(s.Run(y, (x, x2)).ToArray<float>(), Is.EqualTo(Expected(x1)), "stale: the copy of x2 was still queued");
        // ... and in a new session, whose feed buffer is new, the poison (NaN) the buffer was filled with.
        using var s2 = new Session(g, new SessionOptions { Devices = [gpu] });
        Assert.That(s2.Run(y, (x, x2)).ToArray<float>(), Is.All.NaN);

        gpu.Streams.DropWaitForTest = null;
        using var s3 = new Session(g, new SessionOptions { Devices = [gpu] });
        Assert.That(s3.Run(y, (x, x2)).ToArray<float>(), Is.EqualTo(Expected(x2)), "waits back: right again");
    }

    [Test]
    public void A_Feed_ReturnsWithItsCopyStillQueued()
    {
        var gpu = GpuFixture.Gpu;
        var sim = gpu.SimulatedStreams!;
        gpu.Synchronize();
        Assert.That(sim.QueuedCopies, Is.EqualTo(0));
        var host = Floats(1000, 2);
        var want = host.ToArray<float>();
        var dst = gpu.Allocate(DType.Float32, [1000]);
        try
        {
            gpu.CopyIn(host, dst);
            Assert.That(sim.QueuedCopies, Is.EqualTo(1), "CopyIn returned without running its copy");
            // The caller may reuse its array at once: the bytes went to a staging buffer.
            host.AsSpan<float>().Fill(-7f);
            long syncs = gpu.Streams!.Stats.HostSyncs;
            var back = NDArray.Zeros(DType.Float32, 1000);
            gpu.CopyOut(dst, back);
            Assert.That(back.ToArray<float>(), Is.EqualTo(want));
            Assert.That(sim.QueuedCopies, Is.EqualTo(0), "the fetch's copy waited for the feed's copy");
            Assert.That(gpu.Streams.Stats.HostSyncs - syncs, Is.EqualTo(1), "one host wait: the fetch's own copy");
        }
        finally { gpu.Free(dst); }
    }

    [Test]
    public void A_Kernel_ReadingAFeed_IsWhatRunsItsCopy()
    {
        var gpu = GpuFixture.Gpu;
        var sim = gpu.SimulatedStreams!;
        gpu.Synchronize();   // nothing left queued by earlier tests
        var (g, x, y) = Affine();
        using var s = new Session(g, new SessionOptions { Devices = [gpu] });
        var xs = Floats(64, 3);
        long forced = sim.CopiesForcedByCompute, copies = sim.CopiesToDevice;
        Assert.That(s.Run(y, (x, xs)).ToArray<float>(), Is.EqualTo(Expected(xs)));
        Assert.That(sim.CopiesToDevice - copies, Is.EqualTo(3), "x and the two scalar constants (CPU consts) go to the GPU");
        Assert.That(sim.CopiesForcedByCompute - forced, Is.EqualTo(3), "the kernels' waits on the H2D stream ran those copies");
        Assert.That(sim.QueuedCopies, Is.EqualTo(0));
    }

    /// <summary>Feeds of 40 sizes (one element to 30k: staging buffers start at 64 KiB, so larger ones replace smaller
    /// ones), each in a new session and checked exactly: four staging buffers serve them all, each reused only once its
    /// copy has run. The seeded schedules also run queued copies at random earlier points.</summary>
    [TestCase(null)]
    [TestCase(11)]
    [TestCase(12)]
    public void StagingReuse_AcrossManyFeedsOfDifferentSizes_StaysCorrect(int? seed)
    {
        using var own = seed == null ? null : CudaDevice.CreateSimulated(0, streams: true, scheduleSeed: seed);
        var gpu = own ?? GpuFixture.Gpu;
        var (g, x, y) = Affine();
        var rng = new Random(seed ?? 5);
        var before = gpu.Streams!.Stats;
        for (int i = 0; i < 40; i++)
        {
            using var s = new Session(g, new SessionOptions { Devices = [gpu] });
            int n = i % 7 == 0 ? 1 : rng.Next(1, 30_000);
            var xs = Floats(n, i);
            Assert.That(s.Run(y, (x, xs)).ToArray<float>(), Is.EqualTo(Expected(xs)), $"feed {i} ({n} elements)");
        }
        var after = gpu.Streams.Stats;
        Assert.That(after.StagingBuffers, Is.LessThanOrEqualTo(gpu.Streams.MaxStaging));
        Assert.That(after.StagingReuses - before.StagingReuses, Is.GreaterThan(20), "staging buffers are reused");
        if (own != null)
        {
            Assert.That(own.SimulatedStreams!.CopiesRunEarly, Is.GreaterThan(10), "the seeded schedule ran copies early");
            own.Dispose();
            Assert.That(own.SimulatedStreams.StagingLive, Is.EqualTo(0), "disposal frees the staging buffers");
            Assert.That(own.SimulatedStreams.EventsLive, Is.EqualTo(0), "and every event");
        }
    }

    /// <summary>A steady training loop (MLP, SGD, variables on the GPU, x and y fed each step): after warm-up no device
    /// allocation, no deferred free, no new staging buffer, and no host wait other than those for device-to-host copies
    /// (the fetched loss, and the planner's copies of GPU values to CPU-only ops such as Shape in the gradient); the
    /// losses match the CPU's. Also under two seeded schedules.</summary>
    [TestCase(null)]
    [TestCase(21)]
    [TestCase(22)]
    public void SteadyTraining_AllocatesNothing_AndWaitsOnlyForTheFetch(int? seed)
    {
        using var own = seed == null ? null : CudaDevice.CreateSimulated(0, streams: true, scheduleSeed: seed);
        var gpu = own ?? GpuFixture.Gpu;
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1, 6), "x");
        var y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
        var r = new Random(7);
        NDArray W(int a, int b) => NDArray.From(Enumerable.Range(0, a * b).Select(_ => (float)(r.NextDouble() - 0.5)).ToArray(), a, b);
        var w1 = g.Variable(W(6, 10), "w1"); var b1 = g.Variable(NDArray.Zeros(DType.Float32, 10), "b1");
        var w2 = g.Variable(W(10, 3), "w2"); var b2 = g.Variable(NDArray.Zeros(DType.Float32, 3), "b2");
        var loss = g.SparseSoftmaxCrossEntropyLoss(y, g.MatMul(g.Relu(g.MatMul(x, w1) + b1), w2) + b2);
        var train = new GradientDescentOptimizer(0.5).Minimize(loss);
        var init = g.GlobalVariablesInitializer();
        NDArray Xs(int step) => NDArray.From(Enumerable.Range(0, 9 * 6).Select(i => (float)Math.Sin(i * 0.7 + step)).ToArray(), 9, 6);
        var ys = NDArray.From(Enumerable.Range(0, 9).Select(i => i % 3).ToArray(), 9);

        float[] Losses(Session s, Action<int>? atStep = null)
        {
            s.Run(init);
            var losses = new float[12];
            for (int step = 0; step < losses.Length; step++)
            {
                atStep?.Invoke(step);
                losses[step] = s.Run([loss], [(x, Xs(step)), (y, ys)], [train])[0].Item<float>();
            }
            return losses;
        }

        using var cpuSession = new Session(g);
        var cpu = Losses(cpuSession);
        using var s = new Session(g, new SessionOptions { Devices = [gpu], DefaultDevice = "/gpu:0" });
        var streams = gpu.Streams!;
        var sim = gpu.SimulatedStreams!;
        StreamStats warm = default;
        Memory.AllocatorStats mem = default;
        long toHost = 0, toDevice = 0;
        var got = Losses(s, step =>
        {
            if (step != 4) return;
            warm = streams.Stats;
            mem = gpu.Allocator.Stats;
            toHost = sim.CopiesToHost;
            toDevice = sim.CopiesToDevice;
        });
        for (int i = 0; i < cpu.Length; i++) Assert.That(got[i], Is.EqualTo(cpu[i]).Within(1e-3).Percent, $"loss at step {i}");
        var end = streams.Stats;
        var memEnd = gpu.Allocator.Stats;
        const int steady = 8;
        Assert.That(memEnd.DeviceAllocations, Is.EqualTo(mem.DeviceAllocations), "no device allocations");
        Assert.That(memEnd.InUseBytes, Is.EqualTo(mem.InUseBytes), "no buffers taken or given back");
        long copiesToHost = sim.CopiesToHost - toHost;
        Assert.That(copiesToHost, Is.GreaterThanOrEqualTo(steady), "at least the loss each step");
        Assert.That(copiesToHost % steady, Is.EqualTo(0), "the same copies each step");
        Assert.That(end.HostSyncs - warm.HostSyncs, Is.EqualTo(copiesToHost), "the host waits only for its device-to-host copies");
        Assert.That(end.DeferredFrees, Is.EqualTo(warm.DeferredFrees), "no frees held back");
        Assert.That(end.StagingBuffers, Is.EqualTo(warm.StagingBuffers), "no new staging buffers");
        Assert.That(end.StagingReuses - warm.StagingReuses, Is.EqualTo(sim.CopiesToDevice - toDevice + copiesToHost),
            "every copy reuses a staging buffer");
        Assert.That(end.Waits, Is.GreaterThan(warm.Waits), "kernels waited on the feeds' copies");
        Assert.That(end.EventsLive, Is.LessThanOrEqualTo(6), "events are destroyed once complete");
        Assert.That(streams.PendingFrees, Is.EqualTo(0));
    }

    [Test]
    public void Streams_CanBeTurnedOff_ByOption_OrByTheEnvironment()
    {
        Assert.That(GpuFixture.Gpu.UsesStreams, Is.True);
        Assert.That(GpuFixture.SyncGpu.UsesStreams, Is.False);
        Assert.That(GpuFixture.SyncGpu.Streams, Is.Null);
        var saved = Environment.GetEnvironmentVariable("GRAPHDL_CUDA_STREAMS");
        try
        {
            Environment.SetEnvironmentVariable("GRAPHDL_CUDA_STREAMS", "0");
            using (var off = CudaDevice.CreateSimulated()) Assert.That(off.UsesStreams, Is.False);
            using (var on = CudaDevice.CreateSimulated(streams: true)) Assert.That(on.UsesStreams, Is.True, "the option wins");
            Environment.SetEnvironmentVariable("GRAPHDL_CUDA_STREAMS", null);
            using (var byDefault = CudaDevice.CreateSimulated()) Assert.That(byDefault.UsesStreams, Is.True, "streams by default");
        }
        finally { Environment.SetEnvironmentVariable("GRAPHDL_CUDA_STREAMS", saved); }
    }
}

/// <summary>Operands a kernel uploads while it runs (the fused RNN ops' validated sequence lengths) go through a staging
/// buffer on the compute stream, in order with the kernel's launches: no host wait inside the step.</summary>
public class KernelUploadTests
{
    [Test]
    public void LstmWithSequenceLengths_UploadsOnTheComputeStream_WithoutHostWaits()
    {
        Graph Build(out Tensor x, out Tensor lens, out Tensor y, out Tensor loss, out Operation train)
        {
            var g = new Graph { Seed = 5 };
            x = g.Placeholder(DType.Float32, Shape.Of(-1, 4, 3), "x");
            lens = g.Placeholder(DType.Int32, Shape.Of(-1), "lens");
            y = g.Placeholder(DType.Int32, Shape.Of(-1), "y");
            var last = g.DynamicRnn(new LSTMCell(5), x, lens).State[^1];
            loss = g.SparseSoftmaxCrossEntropyLoss(y, g.Dense(last, 3, name: "out"));
            train = new GradientDescentOptimizer(0.5).Minimize(loss);
            return g;
        }
        var xs = NDArray.From(Enumerable.Range(0, 6 * 4 * 3).Select(i => (float)Math.Sin(i * 0.41)).ToArray(), 6, 4, 3);
        var ls = NDArray.From(new[] { 4, 2, 3, 4, 1, 4 }, 6);
        var ys = NDArray.From(Enumerable.Range(0, 6).Select(i => i % 3).ToArray(), 6);
        float[] Losses(SessionOptions? options, Action<int>? before = null)
        {
            var g = Build(out var x, out var lens, out var y, out var loss, out var train);
            using var s = new Session(g, options);
            s.Run(g.GlobalVariablesInitializer());
            var losses = new float[6];
            for (int i = 0; i < losses.Length; i++)
            {
                before?.Invoke(i);
                losses[i] = s.Run([loss], [(x, xs), (lens, ls), (y, ys)], [train])[0].Item<float>();
            }
            return losses;
        }

        var cpu = Losses(null);
        using var gpu = CudaDevice.CreateSimulated(0, streams: true);
        gpu.PoisonNewBuffers = true;
        var sim = gpu.SimulatedStreams!;
        long uploads = 0, toHost = 0, syncs = 0;
        var got = Losses(new SessionOptions { Devices = [gpu], DefaultDevice = "/gpu:0" }, i =>
        {
            if (i != 3) return;
            uploads = sim.UploadsOnCompute; toHost = sim.CopiesToHost; syncs = gpu.Streams!.Stats.HostSyncs;
        });
        Assert.That(cpu[^1], Is.LessThan(cpu[0]), "the model should learn");
        for (int i = 0; i < cpu.Length; i++) Assert.That(got[i], Is.EqualTo(cpu[i]).Within(1e-2).Percent, $"loss at step {i} (relative 1e-4)");
        // Steps 3-5: the forward and the backward LSTM op each upload the lengths once per step.
        Assert.That(sim.UploadsOnCompute - uploads, Is.EqualTo(3 * 2), "lengths uploaded by the forward and backward kernels");
        Assert.That(gpu.Streams!.Stats.HostSyncs - syncs, Is.EqualTo(sim.CopiesToHost - toHost),
            "the host waits only for its device-to-host copies (no wait for the uploads)");
    }
}

/// <summary>A run's fetches from the GPU are queued together on the device-to-host stream and waited for once (per
/// group of as many as there are staging buffers).</summary>
public class BatchedFetchTests
{
    [Test]
    public void SixGpuFetches_AreCopiedWithTwoHostWaits_AndRightValues()
    {
        var g = new Graph();
        var x = g.Placeholder(DType.Float32, Shape.Of(-1), "x");
        var fetches = new List<Tensor>();
        using (g.Device("/gpu:0"))
            for (int i = 1; i <= 6; i++) fetches.Add(x * (double)i + 0.5);
        var xs = NDArray.From(Enumerable.Range(0, 37).Select(i => (float)Math.Sin(i)).ToArray(), 37);
        using var gpu = CudaDevice.CreateSimulated(0, streams: true);
        gpu.PoisonNewBuffers = true;
        using var s = new Session(g, new SessionOptions { Devices = [gpu] });
        s.Run(fetches.ToArray(), (x, xs));
        var sim = gpu.SimulatedStreams!;
        long syncs = gpu.Streams!.Stats.HostSyncs, toHost = sim.CopiesToHost;
        var got = s.Run(fetches.ToArray(), (x, xs));
        Assert.That(sim.CopiesToHost - toHost, Is.EqualTo(6));
        Assert.That(gpu.Streams.Stats.HostSyncs - syncs, Is.EqualTo(2), "four staging buffers: one wait for the first four, one for the last two");
        for (int i = 0; i < 6; i++)
            Assert.That(got[i].ToArray<float>(), Is.EqualTo(xs.ToArray<float>().Select(v => v * (i + 1f) + 0.5f).ToArray()), $"fetch {i}");
        // The same tensor fetched twice, and a host value beside GPU ones.
        var twice = s.Run([fetches[0], x, fetches[0]], (x, xs));
        Assert.That(twice[0].ToArray<float>(), Is.EqualTo(twice[2].ToArray<float>()));
        Assert.That(twice[1].ToArray<float>(), Is.EqualTo(xs.ToArray<float>()));
    }
}
