namespace GraphDl.Cuda.Memory;

/// <summary>Allocator figures at one moment.</summary>
/// <param name="InUseBytes">Bytes in blocks handed out and not yet freed (after rounding).</param>
/// <param name="ReservedBytes">Bytes of device segments held (in use plus cached).</param>
/// <param name="LargestFreeBlockBytes">The largest block a request could get without a new segment.</param>
/// <param name="PeakInUseBytes">The most <paramref name="InUseBytes"/> has been.</param>
/// <param name="Segments">Device segments held.</param>
/// <param name="BlocksInUse">Blocks handed out and not yet freed.</param>
/// <param name="DeviceAllocations">Segments ever allocated from the device.</param>
/// <param name="DeviceFrees">Segments ever returned to the device.</param>
public readonly record struct AllocatorStats(long InUseBytes, long ReservedBytes, long LargestFreeBlockBytes, long PeakInUseBytes,
    int Segments, int BlocksInUse, long DeviceAllocations, long DeviceFrees);

/// <summary>A device segment: one allocation from the backend, carved into blocks.</summary>
public sealed class MemorySegment
{
    internal MemorySegment(object handle, long address, long size, bool small) { Handle = handle; Address = address; Size = size; Small = small; }
    /// <summary>The backend's handle (an ILGPU buffer on a real device).</summary>
    public object Handle { get; }
    /// <summary>The segment's start in the allocator's own address space (segments never touch).</summary>
    public long Address { get; }
    /// <summary>Bytes.</summary>
    public long Size { get; }
    internal bool Small { get; }
    internal MemoryBlock First = null!;
}

/// <summary>A block of a segment: what an allocation gets.</summary>
public sealed class MemoryBlock
{
    internal MemoryBlock(MemorySegment segment, long offset, long size) { Segment = segment; Offset = offset; Size = size; }
    /// <summary>The segment holding the block.</summary>
    public MemorySegment Segment { get; }
    /// <summary>Byte offset in the segment (a multiple of <see cref="CachingAllocator.Alignment"/>).</summary>
    public long Offset { get; internal set; }
    /// <summary>Bytes (the request rounded up).</summary>
    public long Size { get; internal set; }
    /// <summary>Start in the allocator's address space.</summary>
    public long Address => Segment.Address + Offset;
    internal bool IsFree;
    internal MemoryBlock? Prev, Next;
}

/// <summary>A BFC-style caching allocator (after PyTorch's CUDA caching allocator and TF1's BFC allocator): requests
/// are rounded to 512 bytes and served best-fit from cached segments, split when the rest is worth keeping and
/// coalesced with free neighbours when freed. Segments go back to the device only on <see cref="ReleaseCached"/> or
/// when a request would otherwise fail, so a steady training loop never frees device memory. Not thread-safe by
/// itself: <see cref="CudaDevice"/> serializes calls.</summary>
public sealed class CachingAllocator
{
    /// <summary>Block alignment and the smallest block.</summary>
    public const long Alignment = 512;
    /// <summary>Requests up to this size come from the small pool.</summary>
    public const long SmallRequest = 1L << 20;
    /// <summary>Segment size of the small pool.</summary>
    public const long SmallSegment = 2L << 20;
    /// <summary>Segment size for requests between <see cref="SmallRequest"/> and <see cref="MinLargeAlloc"/>.</summary>
    public const long LargeSegment = 20L << 20;
    /// <summary>Requests from this size get a segment of their own.</summary>
    public const long MinLargeAlloc = 10L << 20;
    /// <summary>Rounding of own-segment sizes.</summary>
    public const long RoundLarge = 2L << 20;

    sealed class BySize : IComparer<MemoryBlock>
    {
        public int Compare(MemoryBlock? a, MemoryBlock? b)
        {
            int c = a!.Size.CompareTo(b!.Size);
            return c != 0 ? c : a.Address.CompareTo(b.Address);
        }
    }

    static readonly MemorySegment ProbeSegment = new(new object(), long.MinValue, 0, false);
    readonly IDeviceMemoryBackend backend;
    readonly SortedSet<MemoryBlock> smallFree = new(new BySize()), largeFree = new(new BySize());
    readonly List<MemorySegment> segments = [];
    readonly string deviceName;
    long nextAddress = 1L << 30, inUse, reserved, peak, deviceAllocs, deviceFrees;
    int blocksInUse;

    /// <summary>An allocator over <paramref name="backend"/>.</summary>
    public CachingAllocator(IDeviceMemoryBackend backend, GpuMemoryOptions? options = null, string deviceName = "/gpu:0")
    {
        this.backend = backend;
        Options = options ?? new GpuMemoryOptions();
        LimitBytes = Options.LimitBytes(backend.TotalBytes);
        this.deviceName = deviceName;
    }

    /// <summary>The options.</summary>
    public GpuMemoryOptions Options { get; }
    /// <summary>The most this allocator reserves.</summary>
    public long LimitBytes { get; }
    /// <summary>The segments held (for tests and diagnostics).</summary>
    public IReadOnlyList<MemorySegment> Segments => segments;

    /// <summary>Current figures.</summary>
    public AllocatorStats Stats => new(inUse, reserved, LargestFree(), peak, segments.Count, blocksInUse, deviceAllocs, deviceFrees);

    long LargestFree() => Math.Max(smallFree.Count > 0 ? smallFree.Max!.Size : 0, largeFree.Count > 0 ? largeFree.Max!.Size : 0);

    /// <summary>The block size a request of <paramref name="bytes"/> gets.</summary>
    public static long RoundUp(long bytes) => bytes <= Alignment ? Alignment : (bytes + Alignment - 1) / Alignment * Alignment;

    /// <summary>Allocates at least <paramref name="bytes"/> bytes for <paramref name="requester"/> (a node name, for the
    /// out-of-memory error).</summary>
    public MemoryBlock Allocate(long bytes, string requester)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        long size = RoundUp(bytes);
        bool small = Options.AllowGrowth && size <= SmallRequest;
        var pool = small ? smallFree : largeFree;
        var block = BestFit(pool, size);
        if (block == null)
        {
            var seg = NewSegment(size, small) ?? (ReleaseCached() > 0 ? NewSegment(size, small) : null);
            if (seg == null) throw new GpuOutOfMemoryException(deviceName, requester, bytes, Stats, LimitBytes);
            block = seg.First;
        }
        else pool.Remove(block);
        long rest = block.Size - size;
        if (rest >= (small || !Options.AllowGrowth ? Alignment : SmallRequest + 1))
        {
            var tail = new MemoryBlock(block.Segment, block.Offset + size, rest) { IsFree = true, Prev = block, Next = block.Next };
            if (block.Next != null) block.Next.Prev = tail;
            block.Next = tail;
            block.Size = size;
            pool.Add(tail);
        }
        block.IsFree = false;
        inUse += block.Size;
        blocksInUse++;
        if (inUse > peak) peak = inUse;
        return block;
    }

    static MemoryBlock? BestFit(SortedSet<MemoryBlock> pool, long size)
    {
        if (pool.Count == 0 || pool.Max!.Size < size) return null;
        var probe = new MemoryBlock(ProbeSegment, 0, size);
        var view = pool.GetViewBetween(probe, pool.Max);
        return view.Min;
    }

    MemorySegment? NewSegment(long size, bool small)
    {
        long segSize = !Options.AllowGrowth ? LimitBytes
            : small ? SmallSegment
            : size < MinLargeAlloc ? LargeSegment
            : (size + RoundLarge - 1) / RoundLarge * RoundLarge;
        if (!Options.AllowGrowth && segments.Count > 0) return null;   // the one reservation is all there is
        if (segSize < size) return null;
        if (reserved + segSize > LimitBytes)
        {
            // A large segment would pass the cap: a segment of exactly the request may still fit.
            if (!Options.AllowGrowth || small) return null;
            segSize = (size + RoundLarge - 1) / RoundLarge * RoundLarge;
            if (reserved + segSize > LimitBytes) segSize = size;
            if (reserved + segSize > LimitBytes) return null;
        }
        var handle = backend.TryAllocate(segSize);
        if (handle == null) return null;
        var seg = new MemorySegment(handle, nextAddress, segSize, small);
        // Leave a gap so that blocks of different segments can never look adjacent.
        nextAddress += (segSize + Alignment - 1) / Alignment * Alignment + (1L << 20);
        seg.First = new MemoryBlock(seg, 0, segSize) { IsFree = true };
        segments.Add(seg);
        reserved += segSize;
        deviceAllocs++;
        return seg;
    }

    /// <summary>Returns a block. Its neighbours, when free, merge with it.</summary>
    public void Free(MemoryBlock block)
    {
        if (block.IsFree) throw new InvalidOperationException($"block at {block.Address} ({block.Size} bytes) is freed twice");
        var pool = block.Segment.Small ? smallFree : largeFree;
        block.IsFree = true;
        inUse -= block.Size;
        blocksInUse--;
        if (block.Prev is { IsFree: true } p)
        {
            pool.Remove(p);
            p.Size += block.Size;
            p.Next = block.Next;
            if (block.Next != null) block.Next.Prev = p;
            block = p;
        }
        if (block.Next is { IsFree: true } n)
        {
            pool.Remove(n);
            block.Size += n.Size;
            block.Next = n.Next;
            if (n.Next != null) n.Next.Prev = block;
        }
        pool.Add(block);
    }

    /// <summary>Gives every wholly free segment back to the device (TF's and PyTorch's <c>empty_cache</c>); returns the
    /// bytes released. Synchronize the device first: blocks freed by the host may still be read by queued kernels.</summary>
    public long ReleaseCached()
    {
        long released = 0;
        for (int i = segments.Count - 1; i >= 0; i--)
        {
            var seg = segments[i];
            if (!seg.First.IsFree || seg.First.Size != seg.Size) continue;
            (seg.Small ? smallFree : largeFree).Remove(seg.First);
            segments.RemoveAt(i);
            backend.Free(seg.Handle);
            reserved -= seg.Size;
            released += seg.Size;
            deviceFrees++;
        }
        return released;
    }

    /// <summary>Checks the internal invariants (for tests): blocks tile each segment exactly, no two free neighbours,
    /// the free sets hold exactly the free blocks, and the figures add up. Throws on the first violation.</summary>
    public void Validate()
    {
        long used = 0, res = 0;
        int usedBlocks = 0, freeBlocks = 0;
        foreach (var seg in segments)
        {
            res += seg.Size;
            long off = 0;
            MemoryBlock? prev = null;
            for (var b = seg.First; b != null; b = b.Next)
            {
                if (b.Offset != off) throw new InvalidOperationException($"gap or overlap at offset {off} of segment {seg.Address}");
                if (b.Prev != prev) throw new InvalidOperationException("broken back link");
                if (b.Offset % Alignment != 0) throw new InvalidOperationException("misaligned block");
                if (b.IsFree)
                {
                    if (prev is { IsFree: true }) throw new InvalidOperationException("two free neighbours were not coalesced");
                    if (!(seg.Small ? smallFree : largeFree).Contains(b)) throw new InvalidOperationException("free block missing from its pool");
                    freeBlocks++;
                }
                else { used += b.Size; usedBlocks++; }
                off += b.Size;
                prev = b;
            }
            if (off != seg.Size) throw new InvalidOperationException($"blocks cover {off} of {seg.Size} bytes");
        }
        if (freeBlocks != smallFree.Count + largeFree.Count) throw new InvalidOperationException("pools hold blocks not in any segment");
        if (used != inUse || usedBlocks != blocksInUse || res != reserved) throw new InvalidOperationException("statistics disagree with the blocks");
    }
}
