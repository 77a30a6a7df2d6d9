using System.Buffers.Binary;

namespace Loom.Sessions;

/// <summary>
/// The idempotency keys of the session's most recent turns, packed: per entry 4 bytes of the key's SHA-256 and the
/// turn's journal ordinal as a varint gap from the entry before (about 5 bytes, against ~18 for a serialized
/// <see cref="IdempotencyEntry"/>). The header carries it in both of a turn's writes, and a full window of 128 as
/// entries pushed the header past what a SQLite page keeps in place. A hash hit is only a candidate: the caller
/// confirms it against the key stored in the turn record. Immutable bytes, so a copy for an undo is free.
/// </summary>
[GenerateSerializer, Alias("loom.IdempotencyWindow")]
public sealed class IdempotencyWindow
{
    [Id(0)] public byte[] Packed { get; set; } = [];

    public static uint Hash(string key) => unchecked((uint)IdempotencyEntry.Hash(key));

    /// <summary>Ordinals of the turns whose key hash matches <paramref name="key"/>'s, newest last.</summary>
    public IEnumerable<long> Candidates(string key)
    {
        var hash = Hash(key);
        foreach (var (h, ordinal) in Entries()) if (h == hash) yield return ordinal;
    }

    /// <summary>Appends a key, dropping the oldest beyond <paramref name="capacity"/>.</summary>
    public void Add(string key, long ordinal, int capacity) => Add(Hash(key), ordinal, capacity);

    public void Add(uint hash, long ordinal, int capacity)
    {
        var entries = Entries();
        // Ordinals grow; an entry at or past a new turn's ordinal belongs to a turn that was taken back.
        entries.RemoveAll(e => e.Ordinal >= ordinal);
        entries.Add((hash, ordinal));
        if (entries.Count > capacity) entries.RemoveRange(0, entries.Count - capacity);
        Packed = Pack(entries);
    }

    public List<(uint Hash, long Ordinal)> Entries()
    {
        var entries = new List<(uint, long)>();
        var span = Packed.AsSpan();
        long previous = 0;
        while (span.Length >= 5)
        {
            var hash = BinaryPrimitives.ReadUInt32LittleEndian(span);
            span = span[4..];
            ulong gap = 0;
            var shift = 0;
            byte b;
            do
            {
                b = span[0];
                span = span[1..];
                gap |= (ulong)(b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0 && span.Length > 0 && shift < 64);
            previous += (long)gap;
            entries.Add((hash, previous));
        }
        return entries;
    }

    private static byte[] Pack(List<(uint Hash, long Ordinal)> entries)
    {
        var buffer = new byte[entries.Count * 14];
        var at = 0;
        long previous = 0;
        foreach (var (hash, ordinal) in entries)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(buffer.AsSpan(at), hash);
            at += 4;
            var gap = (ulong)(ordinal - previous); // entries are in ordinal order (Add keeps them so)
            do
            {
                var b = (byte)(gap & 0x7F);
                gap >>= 7;
                buffer[at++] = gap == 0 ? b : (byte)(b | 0x80);
            } while (gap != 0);
            previous = ordinal;
        }
        return buffer[..at];
    }
}
