namespace Loom.Storage.Rows;

/// <summary>
/// A grain id as Orleans' ADO.NET grain storage keys it (grain_id_n0, grain_id_n1, grain_id_ext), so rows written
/// here and rows the provider reads are the same rows: Guid keys split into two longs, integer keys in n1, string
/// keys in the extension column ('' for none, as the schema stores it).
/// </summary>
internal readonly record struct RowKey(long N0, long N1, string Ext)
{
    public static RowKey Of(GrainId grain)
    {
        if (grain.TryGetGuidKey(out var guid, out var extension))
        {
            Span<byte> bytes = stackalloc byte[16];
            guid.TryWriteBytes(bytes);
            return new RowKey(BitConverter.ToInt64(bytes[..8]), BitConverter.ToInt64(bytes[8..]), extension ?? "");
        }
        if (grain.TryGetIntegerKey(out var integer, out extension)) return new RowKey(0, integer, extension ?? "");
        return new RowKey(0, 0, grain.Key.ToString()!);
    }
}
