using System.IO.Compression;
using Loom.Storage;

namespace Loom.Storage.Rows;

/// <summary>
/// Brotli (quality 1) for the larger rows a commit writes beside its header: turn records, memory deltas and shards,
/// audit entries. Their text (narratives, prompt context, memory) halves or better, and on SQLite every byte saved is
/// a byte less in the write-ahead log and in the pages it rewrites. A compressed payload starts with 0xFF, a byte an
/// Orleans-serialized payload never starts with (an extended tag of no defined kind), so old rows read as they are.
/// Headers and every state Orleans' own provider reads (names without a dot: "session", "owner", ...) are never
/// compressed: that provider reads them with Orleans' serializer alone.
/// </summary>
internal static class RowPayloads
{
    private const byte Marker = 0xFF;
    private const int MinLength = 512;

    public static RowCommit Pack(RowCommit commit)
    {
        if (!commit.Rows.Any(Worth)) return commit;
        return new RowCommit
        {
            Grain = commit.Grain,
            HeaderName = commit.HeaderName,
            HeaderPayload = commit.HeaderPayload,
            ExpectedVersion = commit.ExpectedVersion,
            Rows = [.. commit.Rows.Select(r => Worth(r) ? r with { Payload = Compress(r.Payload!) } : r)],
        };
    }

    public static StoredRow Unpack(StoredRow row) =>
        row.Payload is [Marker, ..] packed ? row with { Payload = Decompress(packed) } : row;

    public static List<StoredRow> Unpack(List<StoredRow> rows)
    {
        for (var i = 0; i < rows.Count; i++) rows[i] = Unpack(rows[i]);
        return rows;
    }

    private static bool Worth(RowWrite row) => row.Payload is { Length: >= MinLength } && row.Name.Contains('.');

    private static byte[] Compress(byte[] payload)
    {
        var buffer = new byte[BrotliEncoder.GetMaxCompressedLength(payload.Length) + 1];
        buffer[0] = Marker;
        // Quality 1, 64 KiB window: a few microseconds per kilobyte, on the caller's thread rather than the writer's.
        if (!BrotliEncoder.TryCompress(payload, buffer.AsSpan(1), out var written, quality: 1, window: 16) || written + 1 >= payload.Length)
        {
            return payload; // incompressible: stored as it is
        }
        return buffer[..(written + 1)];
    }

    private static byte[] Decompress(byte[] packed)
    {
        using var input = new MemoryStream(packed, 1, packed.Length - 1, writable: false);
        using var brotli = new BrotliStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream(packed.Length * 3);
        brotli.CopyTo(output);
        return output.ToArray();
    }
}
