using System.Buffers;
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
    public List<long> Candidates(string key)
    {
        var hash = Hash(key);
        var found = new List<long>(1);
        var reader = new Reader(Packed);
        while (reader.Next(out var h, out var ordinal)) if (h == hash) found.Add(ordinal);
        return found;
    }

    /// <summary>Appends a key, dropping the oldest beyond <paramref name="capacity"/>.</summary>
    public void Add(string key, long ordinal, int capacity) => Add(Hash(key), ordinal, capacity);

    /// <remarks>Runs on every submit: the window is decoded into a stack buffer and packed once, so the only allocation is
    /// the new bytes.</remarks>
    public void Add(uint hash, long ordinal, int capacity)
    {
        var most = Packed.Length / 5 + 1;
        (uint Hash, long Ordinal)[]? rented = most > StackEntries ? ArrayPool<(uint, long)>.Shared.Rent(most) : null;
        var entries = rented is null ? stackalloc (uint Hash, long Ordinal)[StackEntries] : rented.AsSpan();
        try
        {
            var count = 0;
            var reader = new Reader(Packed);
            // Ordinals grow; an entry at or past a new turn's ordinal belongs to a turn that was taken back.
            while (reader.Next(out var h, out var o)) if (o < ordinal) entries[count++] = (h, o);
            entries[count++] = (hash, ordinal);
            var kept = entries[Math.Max(0, count - capacity)..count];
            Packed = Pack(kept);
        }
        finally
        {
            if (rented is not null) ArrayPool<(uint, long)>.Shared.Return(rented);
        }
    }

    public List<(uint Hash, long Ordinal)> Entries()
    {
        var entries = new List<(uint, long)>(Packed.Length / 5);
        var reader = new Reader(Packed);
        while (reader.Next(out var hash, out var ordinal)) entries.Add((hash, ordinal));
        return entries;
    }

    private const int StackEntries = 256;

    private static byte[] Pack(ReadOnlySpan<(uint Hash, long Ordinal)> entries)
    {
        var size = entries.Length * 14;
        byte[]? rented = size > 4096 ? ArrayPool<byte>.Shared.Rent(size) : null;
        var buffer = rented is null ? stackalloc byte[4096] : rented.AsSpan();
        try
        {
            var at = 0;
            long previous = 0;
            foreach (var (hash, ordinal) in entries)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(buffer[at..], hash);
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
            return buffer[..at].ToArray();
        }
        finally
        {
            if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Walks the packed entries in order without materializing them.</summary>
    private ref struct Reader(ReadOnlySpan<byte> packed)
    {
        private ReadOnlySpan<byte> _rest = packed;
        private long _previous;

        public bool Next(out uint hash, out long ordinal)
        {
            if (_rest.Length < 5)
            {
                (hash, ordinal) = (0, 0);
                return false;
            }
            hash = BinaryPrimitives.ReadUInt32LittleEndian(_rest);
            _rest = _rest[4..];
            ulong gap = 0;
            var shift = 0;
            byte b;
            do
            {
                b = _rest[0];
                _rest = _rest[1..];
                gap |= (ulong)(b & 0x7F) << shift;
                shift += 7;
            } while ((b & 0x80) != 0 && _rest.Length > 0 && shift < 64);
            _previous += (long)gap;
            ordinal = _previous;
            return true;
        }
    }
}
