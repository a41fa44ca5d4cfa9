using System.Buffers.Binary;
using System.IO.Compression;
using GraphDl.Data;
using NUnit.Framework;

namespace GraphDl.Tests.Data;

public class IdxTests
{
    private TempDir _dir = null!;

    [SetUp] public void SetUp() => _dir = new TempDir();
    [TearDown] public void TearDown() => _dir.Dispose();

    private static string DataFolder => Path.GetDirectoryName(DataPaths.Find("digits-train-images-idx3-ubyte"))!;

    [Test]
    public void LoadsDigitsTrainAndTest()
    {
        var train = Idx.LoadFolder(DataFolder, "train");
        var test = Idx.LoadFolder(DataFolder, "test");
        Assert.That((train.Count, train.Rows, train.Cols), Is.EqualTo((1437, 8, 8)));
        Assert.That((test.Count, test.Rows, test.Cols), Is.EqualTo((360, 8, 8)));
        Assert.That(train.Pixels, Has.Length.EqualTo(1437 * 64));
        Assert.That(train.Pixels.Max(), Is.LessThanOrEqualTo((byte)16));
        Assert.That(test.Labels.Max(), Is.EqualTo((byte)9));
    }

    [Test]
    public void DigitsIdxMatchesCsv()
    {
        var idx = Idx.LoadFolder(DataFolder, "train");
        var csv = CsvTable.Load(DataPaths.Find("digits_train.csv"));
        Assert.That(idx.LabelsAsInt(), Is.EqualTo(csv.Labels("label")));
        var (x, _, cols, _) = csv.Features("label");
        Assert.That(cols, Is.EqualTo(64));
        Assert.That(idx.ImagesAsFloat(1f), Is.EqualTo(x));
        Assert.That(idx.ImagesAsFloat(1f / 16)[..64].Max(), Is.LessThanOrEqualTo(1f));
    }

    [Test]
    public void GzipRoundTripAndStandardNames()
    {
        string src = DataFolder;
        Gzip(Path.Combine(src, "digits-test-images-idx3-ubyte"), Path.Combine(_dir.Path, "t10k-images-idx3-ubyte.gz"));
        Gzip(Path.Combine(src, "digits-test-labels-idx1-ubyte"), Path.Combine(_dir.Path, "t10k-labels-idx1-ubyte.gz"));
        var fromGz = Idx.LoadFolder(_dir.Path, "test");
        var plain = Idx.LoadFolder(src, "test");
        Assert.That(fromGz.Count, Is.EqualTo(360));
        Assert.That(fromGz.Pixels, Is.EqualTo(plain.Pixels));
        Assert.That(fromGz.Labels, Is.EqualTo(plain.Labels));

        // gzip is detected by magic bytes, not only by extension.
        string noExt = Path.Combine(_dir.Path, "gz-without-extension");
        File.Copy(Path.Combine(_dir.Path, "t10k-labels-idx1-ubyte.gz"), noExt);
        Assert.That(Idx.ReadLabels(noExt), Is.EqualTo(plain.Labels));
    }

    [Test]
    public void MissingFolderAndFilesAreNamed()
    {
        var e = Assert.Throws<DataFormatException>(() => Idx.LoadFolder(_dir.Path, "train"))!;
        Assert.That(e.Message, Does.Contain(_dir.Path).And.Contain("train-images-idx3-ubyte"));
        string missing = Path.Combine(_dir.Path, "nope");
        Assert.That(Assert.Throws<DataFormatException>(() => Idx.LoadFolder(missing, "train"))!.Message, Does.Contain(missing));
        Assert.That(Assert.Throws<DataFormatException>(() => Idx.ReadLabels(missing))!.Message, Does.Contain(missing));
    }

    [Test]
    public void WrongMagicIsRejected()
    {
        string labels = _dir.Write("l", Labels(3));
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(labels))!;
        Assert.That(e.Message, Does.Contain(labels).And.Contain("0x00000801").And.Contain("labels file"));
        string junk = _dir.Write("junk", "hello world, not idx"u8.ToArray());
        Assert.That(Assert.Throws<DataFormatException>(() => Idx.ReadLabels(junk))!.Message, Does.Contain("not an IDX file"));
    }

    [Test]
    public void TruncatedAndOversizedFilesAreRejected()
    {
        byte[] good = Images(2, 3, 3);
        string truncated = _dir.Write("t", good[..^1]);
        var e = Assert.Throws<DataFormatException>(() => Idx.ReadImages(truncated))!;
        Assert.That(e.Message, Does.Contain(truncated).And.Contain("34 bytes").And.Contain("33"));
        string extra = _dir.Write("x", [.. Labels(2), 0]);
        Assert.Throws<DataFormatException>(() => Idx.ReadLabels(extra));
        string tiny = _dir.Write("h", new byte[] { 0, 0, 8, 1, 0 });
        Assert.That(Assert.Throws<DataFormatException>(() => Idx.ReadLabels(tiny))!.Message, Does.Contain("shorter"));
        Assert.That(Idx.ReadImages(_dir.Write("ok", good)).n, Is.EqualTo(2));
    }

    [Test]
    public void CountMismatchBetweenImagesAndLabels()
    {
        string img = _dir.Write("train-images-idx3-ubyte", Images(3, 2, 2));
        string lab = _dir.Write("train-labels-idx1-ubyte", Labels(2));
        var e = Assert.Throws<DataFormatException>(() => Idx.LoadFolder(_dir.Path, "train"))!;
        Assert.That(e.Message, Does.Contain(img).And.Contain(lab).And.Contain("3 images").And.Contain("2 labels"));
    }

    [Test]
    public void CorruptGzipIsRejected()
    {
        byte[] gz = GzipBytes(Labels(100));
        string fake = _dir.Write("fake.gz", Labels(1));
        Assert.That(Assert.Throws<DataFormatException>(() => Idx.ReadLabels(fake))!.Message, Does.Contain("gzip"));
        byte[] broken = (byte[])gz.Clone();
        for (int i = 10; i < broken.Length - 8; i++) broken[i] ^= 0x5a;
        string bad = _dir.Write("bad.gz", broken);
        Assert.Throws<DataFormatException>(() => Idx.ReadLabels(bad));
        string cut = _dir.Write("cut.gz", gz[..(gz.Length / 2)]);
        Assert.Throws<DataFormatException>(() => Idx.ReadLabels(cut));
    }

    private static byte[] Images(int n, int rows, int cols)
    {
        var b = new byte[16 + n * rows * cols];
        BinaryPrimitives.WriteInt32BigEndian(b, Idx.ImagesMagic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), n);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(8), rows);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(12), cols);
        for (int i = 16; i < b.Length; i++) b[i] = (byte)i;
        return b;
    }

    private static byte[] Labels(int n)
    {
        var b = new byte[8 + n];
        BinaryPrimitives.WriteInt32BigEndian(b, Idx.LabelsMagic);
        BinaryPrimitives.WriteInt32BigEndian(b.AsSpan(4), n);
        for (int i = 8; i < b.Length; i++) b[i] = (byte)(i % 10);
        return b;
    }

    private static byte[] GzipBytes(byte[] data)
    {
        using var ms = new MemoryStream();
        using (var gz = new GZipStream(ms, CompressionLevel.Optimal)) gz.Write(data);
        return ms.ToArray();
    }

    private static void Gzip(string from, string to) => File.WriteAllBytes(to, GzipBytes(File.ReadAllBytes(from)));
}
