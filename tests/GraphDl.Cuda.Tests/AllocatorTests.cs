using GraphDl.Cuda.Memory;
using NUnit.Framework;

namespace GraphDl.Cuda.Tests;

/// <summary>A backend that hands out handles and checks what it is given back.</summary>
sealed class FakeBackend(long total, long? physical = null) : IDeviceMemoryBackend
{
    public readonly HashSet<object> Live = [];
    public long LiveBytes, Allocs, Frees;
    readonly Dictionary<object, long> sizes = [];
    public long TotalBytes => total;
    public object? TryAllocate(long bytes)
    {
        if (LiveBytes + bytes > (physical ?? total)) return null;
        var h = new object();
        Live.Add(h); sizes[h] = bytes; LiveBytes += bytes; Allocs++;
        return h;
    }
    public void Free(object segment)
    {
        Assert.That(Live.Remove(segment), "freed a segment that is not live");
        LiveBytes -= sizes[segment]; Frees++;
    }
}

public class AllocatorTests
{
    const long MiB = 1L << 20;

    [Test]
    public void RoundsTo512_AndSmallRequestsShareA2MiBSegment()
    {
        var a = new CachingAllocator(new FakeBackend(1L << 30), new GpuMemoryOptions { MemoryFraction = 1 });
        var b1 = a.Allocate(1, "n1");
        var b2 = a.Allocate(513, "n2");
        Assert.That(b1.Size, Is.EqualTo(512));
        Assert.That(b2.Size, Is.EqualTo(1024));
        Assert.That(b2.Address, Is.EqualTo(b1.Address + 512));
        var s = a.Stats;
        Assert.That(s.InUseBytes, Is.EqualTo(1536));
        Assert.That(s.ReservedBytes, Is.EqualTo(2 * MiB));
        Assert.That(s.LargestFreeBlockBytes, Is.EqualTo(2 * MiB - 1536));
        Assert.That(s.Segments, Is.EqualTo(1));
        a.Validate();
    }

    [Test]
    public void SteadyState_ReusesBlocks_WithoutDeviceCalls()
    {
        var fake = new FakeBackend(1L << 30);
        var a = new CachingAllocator(fake, new GpuMemoryOptions { MemoryFraction = 1 });
        long[] sizes = [4000, 3 * MiB, 100, 12 * MiB, 64 * 1024];
        for (int step = 0; step < 50; step++)
        {
            var blocks = sizes.Select(n => a.Allocate(n, "x")).ToList();
            foreach (var b in blocks) a.Free(b);
            if (step == 0) Assert.That(fake.Allocs, Is.EqualTo(2));   // small 2 MiB; 20 MiB holds 3 MiB and then 12 MiB
        }
        Assert.That(fake.Allocs, Is.EqualTo(2));
        Assert.That(fake.Frees, Is.EqualTo(0));
        Assert.That(a.Stats.InUseBytes, Is.EqualTo(0));
        Assert.That(a.Stats.PeakInUseBytes, Is.EqualTo(CachingAllocator.RoundUp(4000) + 3 * MiB + 512 + 12 * MiB + 64 * 1024));
        a.Validate();
    }

    [TestCase(true, 1)]
    [TestCase(true, 2)]
    [TestCase(false, 3)]
    public void RandomSequences_NoOverlap_FullCoalescing_ExactStats(bool growth, int seed)
    {
        var fake = new FakeBackend(4L << 30);
        var a = new CachingAllocator(fake, new GpuMemoryOptions { AllowGrowth = growth, MemoryFraction = 0.5 });
        var rng = new Random(seed);
        var live = new List<MemoryBlock>();
        long expectInUse = 0;
        for (int i = 0; i < 3000; i++)
        {
            if (live.Count > 0 && rng.NextDouble() < 0.45)
            {
                int k = rng.Next(live.Count);
                expectInUse -= live[k].Size;
                a.Free(live[k]);
                live.RemoveAt(k);
            }
            else
            {
                long n = rng.NextDouble() switch { < 0.6 => rng.Next(0, 64 * 1024), < 0.9 => rng.Next(1, 4 << 20), _ => rng.Next(8 << 20, 24 << 20) };
                var b = a.Allocate(n, "node");
                Assert.That(b.Size, Is.GreaterThanOrEqualTo(n));
                // Small-pool blocks are split exactly; a large-pool block keeps a remainder of at most 1 MiB.
                if (growth && n <= CachingAllocator.SmallRequest) Assert.That(b.Size, Is.EqualTo(CachingAllocator.RoundUp(n)));
                else Assert.That(b.Size, Is.InRange(CachingAllocator.RoundUp(n), CachingAllocator.RoundUp(n) + CachingAllocator.SmallRequest));
                Assert.That(b.Offset + b.Size, Is.LessThanOrEqualTo(b.Segment.Size));
                expectInUse += b.Size;
                live.Add(b);
            }
            if (i % 100 == 0)
            {
                a.Validate();
                var sorted = live.OrderBy(b => b.Address).ToList();
                for (int j = 1; j < sorted.Count; j++)
                    Assert.That(sorted[j].Address, Is.GreaterThanOrEqualTo(sorted[j - 1].Address + sorted[j - 1].Size), "blocks overlap");
            }
            Assert.That(a.Stats.InUseBytes, Is.EqualTo(expectInUse));
            Assert.That(a.Stats.BlocksInUse, Is.EqualTo(live.Count));
        }
        Assert.That(a.Stats.ReservedBytes, Is.EqualTo(fake.LiveBytes));
        foreach (var b in live) a.Free(b);
        a.Validate();
        // Every segment coalesced back into one free block.
        foreach (var seg in a.Segments)
        {
            Assert.That(seg.First.IsFree && seg.First.Size == seg.Size && seg.First.Next == null, $"segment at {seg.Address} not coalesced");
        }
        var s = a.Stats;
        Assert.That(s.InUseBytes, Is.EqualTo(0));
        Assert.That(s.LargestFreeBlockBytes, Is.EqualTo(a.Segments.Max(g => g.Size)));
        Assert.That(a.ReleaseCached(), Is.EqualTo(s.ReservedBytes));
        Assert.That(fake.Live, Is.Empty);
        Assert.That(a.Stats.ReservedBytes, Is.EqualTo(0));
    }

    [Test]
    public void WithoutGrowth_ReservesTheWholeFractionOnce()
    {
        var fake = new FakeBackend(1000 * MiB);
        var a = new CachingAllocator(fake, new GpuMemoryOptions { AllowGrowth = false, MemoryFraction = 0.25 });
        var b = a.Allocate(100, "n");
        Assert.That(fake.Allocs, Is.EqualTo(1));
        Assert.That(a.Stats.ReservedBytes, Is.EqualTo(250 * MiB));
        a.Allocate(200 * MiB, "big");
        Assert.That(fake.Allocs, Is.EqualTo(1));
        a.Free(b);
        a.Validate();
    }

    [Test]
    public void OutOfMemory_NamesTheNode_WithFigures()
    {
        var a = new CachingAllocator(new FakeBackend(100 * MiB), new GpuMemoryOptions { MemoryFraction = 0.5 }, "/gpu:0");
        var keep = a.Allocate(30 * MiB, "dense/MatMul");
        var e = Assert.Throws<GpuOutOfMemoryException>(() => a.Allocate(30 * MiB, "dense_1/MatMul"))!;
        Assert.That(e.Requester, Is.EqualTo("dense_1/MatMul"));
        Assert.That(e.Message, Does.Contain("dense_1/MatMul").And.Contain("/gpu:0").And.Contain("in use 30 MiB")
            .And.Contain("reserved 30 MiB").And.Contain("largest free block 0 B").And.Contain("limit 50 MiB"));
        Assert.That(e.Stats.InUseBytes, Is.EqualTo(30 * MiB));
        Assert.That(e, Is.InstanceOf<SessionRunException>());
        a.Free(keep);
        // With the block back, cached memory is released to make room: the same request now succeeds.
        Assert.That(a.Allocate(40 * MiB, "dense_1/MatMul").Size, Is.EqualTo(40 * MiB));
    }

    [Test]
    public void DeviceOutOfMemory_ReleasesCacheAndRetries()
    {
        // The cap allows 100 MiB but the device has only 30: the backend itself says no.
        var fake = new FakeBackend(100 * MiB, physical: 30 * MiB);
        var a = new CachingAllocator(fake, new GpuMemoryOptions { MemoryFraction = 1 });
        a.Free(a.Allocate(2 * MiB, "a"));   // a 20 MiB segment, now idle
        a.Allocate(4096, "s");              // a 2 MiB small segment, in use
        var b = a.Allocate(22 * MiB, "b");  // needs its own 22 MiB: only fits after the idle 20 MiB goes back
        Assert.That(fake.Frees, Is.EqualTo(1));
        Assert.That(b.Size, Is.EqualTo(22 * MiB));
        Assert.That(a.Stats.ReservedBytes, Is.EqualTo(24 * MiB));
        a.Validate();
    }

    [Test]
    public void DoubleFree_Throws()
    {
        var a = new CachingAllocator(new FakeBackend(1L << 30));
        var b = a.Allocate(10, "n");
        a.Free(b);
        Assert.Throws<InvalidOperationException>(() => a.Free(b));
    }
}
