
namespace GraphDl.Summaries;

/// <summary>What is wrong with a record that could not be read.</summary>
public enum RecordDamage
{
    /// <summary>The file ends inside the record (header, payload or footer).</summary>
    Truncated,
    /// <summary>The masked CRC of the 8 length bytes does not match.</summary>
    HeaderCrcMismatch,
    /// <summary>The masked CRC of the payload does not match.</summary>
    PayloadCrcMismatch,
    /// <summary>The frame is intact but the payload is not a valid message.</summary>
    InvalidPayload,
}

/// <summary>A TFRecord/event file record is damaged; names the file and the record's byte offset.</summary>
public sealed class CorruptRecordException : GraphDlException
{
    /// <summary>The file (or stream description) the record came from.</summary>
    public string FilePath { get; }

    /// <summary>Byte offset of the start of the damaged record.</summary>
    public long Offset { get; }

    /// <summary>What is wrong with the record.</summary>
    public RecordDamage Damage { get; }

    /// <summary>Creates the error for the record at <paramref name="offset"/> of <paramref name="source"/>.</summary>
    public CorruptRecordException(string source, long offset, RecordDamage damage, string detail, Exception? inner = null)
        : base($"{source}: corrupt record at byte offset {offset} ({damage}): {detail}", inner)
    {
        FilePath = source;
        Offset = offset;
        Damage = damage;
    }
}
