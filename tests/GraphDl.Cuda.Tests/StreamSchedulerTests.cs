using GraphDl.Cuda.Memory;
using GraphDl.Cuda.Streams;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

public class StreamSchedulerTests
{
    static CachingAllocator NewAllocator() => new(new FakeBackend(1L << 30), new GpuMemoryOptions { MemoryFraction = 1 });

    /// <summary>A random mix of feeds (H2D), kernels, fetches (D2H), frees and syncs, as a training loop would issue
    /// them; returns the scheduler for figures.</summary>
    static StreamScheduler RunRandom(FakeStreamBackend fake, CachingAllocator alloc, int seed, int ops, Func<int, bool>? drop = null)
    {
        var s = new StreamScheduler(fake, alloc, maxStaging: 3) { DropWaitForTest = drop };
        var rng = new Random(seed);
        var live = new List<DeviceBuffer>();
        var fetches = new List<(StagingBuffer staging, StreamPosition at, long bytes)>();
        long Size() => rng.Next(1, 16 * 1024);
        for (int i = 0; i < ops; i++)
        {
            double r = rng.NextDouble();
            if (r < 0.2 || live.Count < 2)
            {
                // A feed: the host fills a staging buffer, the H2D stream copies it to a new buffer.
                long n = Size();
                var b = s.Allocate(n, "feed");
                var st = s.AcquireStaging(n);
                fake.HostWrite(st, n);
                s.CopyToDevice(st, b, n);
                live.Add(b);
            }
            else if (r < 0.5)
            {
                // A kernel reading one to three buffers, writing a new one or (sometimes) one in place.
                var reads = Enumerable.Range(0, rng.Next(1, 4)).Select(_ => live[rng.Next(live.Count)]).Distinct().ToList();
                DeviceBuffer outb;
                if (rng.NextDouble() < 0.3) outb = live[rng.Next(live.Count)];
                else { outb = s.Allocate(Size(), "kernel"); live.Add(outb); }
                s.Kernel($"k{i}", reads, [outb]);
            }
            else if (r < 0.62)
            {
                // A fetch: the D2H stream copies a buffer to a staging buffer the host reads later.
                var b = live[rng.Next(live.Count)];
                long n = Math.Min(b.Block.Size, Size());
                if (fetches.Count >= 2) Finish(0);
                var st = s.AcquireStaging(n);
                fetches.Add((st, s.CopyToHost(b, st, n), n));
            }
            else if (r < 0.64 && fetches.Count > 0) Finish(rng.Next(fetches.Count));
            else if (r < 0.9 && live.Count > 2)
            {
                int k = rng.Next(live.Count);
                s.Free(live[k]);
                live.RemoveAt(k);
            }
            else if (r < 0.905) s.Synchronize();
            if (i % 200 == 0) alloc.Validate();
        }
        while (fetches.Count > 0) Finish(0);
        foreach (var b in live) s.Free(b);
        s.Synchronize();
        return s;

        void Finish(int k)
        {
            var (st, at, n) = fetches[k];
            s.WaitFor(at);
            fake.HostRead(st, n);
            s.Release(st);
            fetches.RemoveAt(k);
        }
    }

    [TestCase(1, 0.5)]
    [TestCase(2, 0.1)]
    [TestCase(3, 0.9)]
    [TestCase(4, 0.0)]
    public void RandomSequences_AcrossThreeStreams_HaveNoHazards(int seed, double progress)
    {
        var fake = new FakeStreamBackend(seed, progress);
        var alloc = NewAllocator();
        var s = RunRandom(fake, alloc, seed, 4000);
        Assert.That(fake.Hazards, Is.Empty, string.Join("\n", fake.Hazards.Take(5)));
        Assert.That(fake.Queued, Is.EqualTo(0), "a synchronized device has nothing queued");
        var st = s.Stats;
        // The run exercised every path: waits, elided waits, deferred frees, staging reuse.
        Assert.That(st.Waits, Is.GreaterThan(100));
        Assert.That(st.WaitsElided, Is.GreaterThan(100));
        Assert.That(st.DeferredFrees, Is.GreaterThan(10));
        Assert.That(st.StagingReuses, Is.GreaterThan(100));
        Assert.That(st.StagingBuffers, Is.LessThanOrEqualTo(3));
        // Every event recorded was destroyed once known complete; every wait the scheduler counted reached the backend.
        Assert.That(st.EventsLive, Is.EqualTo(0));
        Assert.That(fake.EventsCreated, Is.EqualTo(st.EventsRecorded));
        Assert.That(fake.EventsDestroyed, Is.EqualTo(fake.EventsCreated));
        Assert.That(fake.WaitsEnqueued, Is.EqualTo(st.Waits));
        // All memory came back to the allocator and coalesced.
        Assert.That(s.PendingFrees, Is.EqualTo(0));
        Assert.That(alloc.Stats.InUseBytes, Is.EqualTo(0));
        alloc.Validate();
        foreach (var seg in alloc.Segments) Assert.That(seg.First.IsFree && seg.First.Size == seg.Size, "segment not coalesced");
        s.Dispose();
        Assert.That(fake.PinnedLive, Is.EqualTo(0));
    }

    [Test]
    public void DroppingWaits_InARandomRun_IsDetected()
    {
        var fake = new FakeStreamBackend(7, 0.5);
        RunRandom(fake, NewAllocator(), 7, 2000, drop: n => n % 25 == 3);
        Assert.That(fake.Hazards, Is.Not.Empty);
    }

    [Test]
    public void DroppingTheFeedWait_IsARace()
    {
        var fake = new FakeStreamBackend(1, progress: 0);
        var s = new StreamScheduler(fake, NewAllocator()) { DropWaitForTest = n => n == 0 };
        var a = s.Allocate(4096, "x");
        var st = s.AcquireStaging(4096);
        fake.HostWrite(st, 4096);
        s.CopyToDevice(st, a, 4096);
        s.Kernel("relu", [a], [s.Allocate(4096, "y")]);
        s.Synchronize();
        Assert.That(fake.Hazards, Has.Count.EqualTo(1));
        Assert.That(fake.Hazards[0], Does.Contain("kernel relu read").Or.Contain("H2D copy, device side"));
    }

    [Test]
    public void DroppingTheFetchWait_IsARace()
    {
        var fake = new FakeStreamBackend(2, progress: 0);
        var s = new StreamScheduler(fake, NewAllocator()) { DropWaitForTest = n => n == 0 };
        var a = s.Allocate(4096, "x");
        s.Kernel("fill", [], [a]);
        var st = s.AcquireStaging(4096);
        var at = s.CopyToHost(a, st, 4096);
        s.WaitFor(at);
        fake.HostRead(st, 4096);
        s.Synchronize();
        Assert.That(fake.Hazards, Is.Not.Empty);
        Assert.That(fake.Hazards[0], Does.Contain("D2H copy, device side").Or.Contain("kernel fill write"));
    }

    [Test]
    public void StagingBuffers_AreReusedOnlyAfterTheirCopyCompleted()
    {
        var fake = new FakeStreamBackend(3, progress: 0);   // nothing runs unless the host waits
        var s = new StreamScheduler(fake, NewAllocator(), maxStaging: 2);
        var held = new List<StagingBuffer>();
        for (int i = 0; i < 50; i++)
        {
            var b = s.Allocate(1000, "feed");
            var st = s.AcquireStaging(1000);
            held.Add(st);
            fake.HostWrite(st, 1000);
            s.CopyToDevice(st, b, 1000);
            s.Kernel($"use{i}", [b], [b]);
        }
        var stats = s.Stats;
        Assert.That(stats.StagingBuffers, Is.EqualTo(2));
        Assert.That(stats.StagingReuses, Is.EqualTo(48));
        // With no spontaneous progress, each reuse had to block on the buffer's copy two feeds earlier.
        Assert.That(stats.HostSyncs, Is.EqualTo(48));
        Assert.That(held.Distinct().Count(), Is.EqualTo(2));
        Assert.That(fake.Hazards, Is.Empty, string.Join("\n", fake.Hazards.Take(5)));

        // The check that reuse relies on: writing a staging buffer whose copy is still queued is a race.
        var last = held[^1];
        Assert.That(fake.Queued, Is.GreaterThan(0));
        fake.HostWrite(last, 1000);                            // its copy, enqueued before this write, has not run
        s.Synchronize();
        Assert.That(fake.Hazards, Has.Count.EqualTo(1));
        Assert.That(fake.Hazards[0], Does.Contain("H2D copy, staging side"));
    }

    [Test]
    public void LargerRequest_ReplacesAnIdleStagingBuffer()
    {
        var fake = new FakeStreamBackend(4, progress: 0);
        var s = new StreamScheduler(fake, NewAllocator(), maxStaging: 1);
        var small = s.AcquireStaging(100);
        s.CopyToDevice(small, s.Allocate(100, "a"), 100);
        var big = s.AcquireStaging(200_000);
        Assert.That(big, Is.Not.SameAs(small));
        Assert.That(big.Bytes, Is.GreaterThanOrEqualTo(200_000));
        Assert.That(s.Stats.StagingBuffers, Is.EqualTo(1));
        Assert.That(fake.PinnedLive, Is.EqualTo(1));
        Assert.Throws<InvalidOperationException>(() => s.AcquireStaging(10));   // the only one is held by the host
    }

    [Test]
    public void EventStatistics_AreExact()
    {
        var fake = new FakeStreamBackend(5, progress: 0);
        var alloc = NewAllocator();
        var s = new StreamScheduler(fake, alloc);
        var a = s.Allocate(4096, "a");
        var st = s.AcquireStaging(4096);
        s.CopyToDevice(st, a, 4096);                           // H2D #1
        var b = s.Allocate(4096, "b");
        var c = s.Allocate(4096, "c");
        s.Kernel("k1", [a], [b]);                              // waits on a new H2D event
        Assert.That(s.Stats, Is.EqualTo(new StreamStats(1, 1, 1, 0, 0, 0, 0, 1, 0)));
        s.Kernel("k2", [a], [c]);                              // already ordered after the copy
        Assert.That(s.Stats.WaitsElided, Is.EqualTo(1));
        var sb = s.AcquireStaging(4096);                       // polls the first staging buffer's copy: still queued
        var sc = s.AcquireStaging(4096);
        s.CopyToHost(c, sc, 4096);                             // waits on a new compute event (after k2)
        var last = s.CopyToHost(b, sb, 4096);                  // k1 is before k2: no second wait
        Assert.That(s.Stats, Is.EqualTo(new StreamStats(2, 2, 2, 2, 2, 0, 0, 3, 0)));
        s.WaitFor(last);                                       // one more event, on D2H; its clock covers all three streams
        Assert.That(s.Stats, Is.EqualTo(new StreamStats(3, 0, 2, 2, 2, 1, 0, 3, 0)));
        Assert.That((fake.EventsCreated, fake.EventsDestroyed, fake.WaitsEnqueued), Is.EqualTo((3, 3, 2)));
        s.Release(sb);
        s.Release(sc);

        // a was read on compute only after its copy completed: freed at once. A buffer freed while its copy is queued
        // waits for that copy.
        s.Free(a);
        var d = s.Allocate(4096, "d");
        var sd = s.AcquireStaging(4096);
        Assert.That(s.Stats.StagingReuses, Is.EqualTo(1));
        s.CopyToDevice(sd, d, 4096);
        long inUse = alloc.Stats.InUseBytes;
        s.Free(d);
        Assert.That(s.PendingFrees, Is.EqualTo(1));
        Assert.That(s.Stats.DeferredFrees, Is.EqualTo(1));
        Assert.That(alloc.Stats.InUseBytes, Is.EqualTo(inUse), "the block stays out of the allocator while its copy is queued");
        // d's block sits after the compute work of the last free (k1, k2 read a): the H2D copy into it waited for that.
        Assert.That(s.Stats.Waits, Is.EqualTo(2), "compute up to the free had already completed: no wait needed");
        s.Synchronize();
        Assert.That(s.PendingFrees, Is.EqualTo(0));
        Assert.That(alloc.Stats.InUseBytes, Is.EqualTo(inUse - 4096));
        Assert.That(fake.Hazards, Is.Empty);
    }

    [Test]
    public void ReuseOfAComputeBlock_ByACopy_WaitsForTheComputeStream()
    {
        var fake = new FakeStreamBackend(6, progress: 0);
        var alloc = NewAllocator();
        var s = new StreamScheduler(fake, alloc);
        var a = s.Allocate(4096, "a");
        s.Kernel("write", [], [a]);
        s.Kernel("read", [a], [s.Allocate(4096, "b")]);
        var block = a.Block;
        s.Free(a);                                             // compute only: back to the allocator at once
        var reused = s.Allocate(4096, "feed");
        Assert.That(reused.Block.Address, Is.EqualTo(block.Address));
        var st = s.AcquireStaging(4096);
        s.CopyToDevice(st, reused, 4096);                      // must wait for "read" before overwriting the memory
        Assert.That(s.Stats.Waits, Is.EqualTo(1));
        s.Synchronize();
        Assert.That(fake.Hazards, Is.Empty);
    }

    /// <summary>A kernel's own upload (UploadOnCompute) reads its staging buffer on the compute stream: the buffer is
    /// reused only after that kernel has completed, so the host never overwrites it under the queued copy.</summary>
    [Test]
    public void UploadOnCompute_KeepsItsStagingBufferUntilTheKernelHasRun([Values(false, true)] bool releaseEarly)
    {
        var fake = new FakeStreamBackend(11, progress: 0);   // nothing runs until the host waits
        var s = new StreamScheduler(fake, NewAllocator(), maxStaging: 1);
        for (int step = 0; step < 3; step++)
        {
            var lengths = s.Allocate(1024, "lengths");
            var output = s.Allocate(1024, "out");
            StagingBuffer? st = null;
            s.Kernel("rnn", [], [output], _ =>
            {
                s.ComputeUses(lengths, write: true);
                st = s.AcquireStaging(1024);
                fake.HostWrite(st, 1024);
                s.UploadOnCompute(st, lengths, 1024);
                if (releaseEarly) s.Release(st);   // the mistake: handing the buffer back while the copy is queued
            });
            if (!releaseEarly) s.ReleaseAfterLastKernel(st!);
            s.Free(lengths);
            s.Free(output);
        }
        s.Synchronize();
        if (releaseEarly) Assert.That(fake.Hazards, Is.Not.Empty, "the host rewrote a staging buffer that a queued upload still reads");
        else
        {
            Assert.That(fake.Hazards, Is.Empty, string.Join("\n", fake.Hazards.Take(5)));
            Assert.That(s.Stats.StagingBuffers, Is.EqualTo(1));
            Assert.That(s.Stats.HostSyncs, Is.GreaterThanOrEqualTo(2), "the single staging buffer was reused after waiting for the kernels");
        }
    }

    /// <summary>What a device's kernel does while it runs: buffers it touches without declaring them up front are ordered
    /// with ComputeUses and marked with the kernel's position when the launch returns, also when the launch throws.</summary>
    [Test]
    public void NestedWork_IsOrderedWhenTouched_AndMarkedWithTheKernelsPosition()
    {
        var fake = new FakeStreamBackend(9, progress: 0);
        var s = new StreamScheduler(fake, NewAllocator());
        var fed = s.Allocate(4096, "fed");
        var st = s.AcquireStaging(4096);
        fake.HostWrite(st, 4096);
        s.CopyToDevice(st, fed, 4096);
        var output = s.Allocate(4096, "out");
        Assert.That(s.IsComputeOrdered(fed, write: false), Is.False, "the feed's copy is queued");
        Assert.That(s.IsComputeOrdered(output, write: true), Is.True, "a new block used by compute only");
        var reads = new List<DeviceBuffer>();
        var writes = new List<DeviceBuffer> { output };
        s.Kernel("outer", reads, writes, _ =>
        {
            s.ComputeUses(fed, write: false);   // e.g. a strided copy from the fed buffer inside the kernel
            reads.Add(fed);
            Assert.That(s.IsComputeOrdered(fed, write: false), Is.True);
        });
        Assert.That(s.Stats.Waits, Is.EqualTo(1));
        // The nested read is marked: a copy overwriting the fed buffer now waits for the kernel.
        var st2 = s.AcquireStaging(4096);
        s.CopyToDevice(st2, fed, 4096);
        Assert.That(s.Stats.Waits, Is.EqualTo(2));

        // A launch that throws still takes a position: its writes are marked, so a fetch waits for it.
        Assert.Throws<InvalidOperationException>(() => s.Kernel("fails", [], [output], _ => throw new InvalidOperationException("boom")));
        var st3 = s.AcquireStaging(4096);
        long recorded = s.Stats.EventsRecorded;
        var fetch = s.CopyToHost(output, st3, 4096);
        Assert.That(s.Stats.Waits, Is.EqualTo(3));
        Assert.That(s.Stats.EventsRecorded - recorded, Is.EqualTo(1),
            "the fetch waits on a new compute event, after the failed kernel (the outer kernel's event would not cover it)");
        s.WaitFor(fetch);
        fake.HostRead(st3, 4096);
        s.Release(st3);
        s.Synchronize();
        Assert.That(fake.Hazards, Is.Empty, string.Join("\n", fake.Hazards.Take(5)));
    }

    [Test]
    public void Misuse_IsATypedError()
    {
        var s = new StreamScheduler(new FakeStreamBackend(8), NewAllocator());
        var a = s.Allocate(100, "a");
        s.Free(a);
        Assert.Throws<InvalidOperationException>(() => s.Free(a));
        Assert.Throws<InvalidOperationException>(() => s.Kernel("k", [a], []));
        var st = s.AcquireStaging(100);
        Assert.Throws<ArgumentOutOfRangeException>(() => s.CopyToDevice(st, s.Allocate(100, "b"), 1 << 20));
        s.Release(st);
        Assert.Throws<InvalidOperationException>(() => s.Release(st));
        Assert.Throws<InvalidOperationException>(() => s.CopyToDevice(st, s.Allocate(100, "c"), 10));
    }

    [Test]
    public void CudaBackend_RejectsTheNullStream_AndAKernelWithoutLaunch()
    {
        // No driver call is made on these paths (this machine may have no GPU).
        var e = Assert.Throws<ArgumentException>(() => new CudaStreamBackend(IntPtr.Zero, _ => IntPtr.Zero))!;
        Assert.That(e.Message, Does.Contain("NULL stream"));
        var b = new CudaStreamBackend(new IntPtr(1), _ => IntPtr.Zero);
        Assert.That(b.CreateStream(StreamKind.Compute), Is.EqualTo(new IntPtr(1)));
        var k = Assert.Throws<ArgumentException>(() => b.EnqueueKernel(new IntPtr(1), new KernelWork("dense/MatMul", [], [])))!;
        Assert.That(k.Message, Does.Contain("dense/MatMul"));
    }
}
