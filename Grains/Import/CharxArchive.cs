using System.IO.Compression;

namespace Loom.Import;

/// <summary>
/// CHARX (a zip with <c>card.json</c> at its root, plus assets). Read with limits on entries, sizes and compression
/// ratio, counting the bytes actually inflated rather than trusting the sizes the archive declares.
/// </summary>
public static class CharxArchive
{
    public static bool LooksLikeZip(ReadOnlySpan<byte> data) => data.StartsWith("PK\u0003\u0004"u8);

    /// <summary>The card JSON and, when the archive has one, the main PNG image (for export).</summary>
    public static (byte[] Json, byte[]? Image) Read(byte[] zip)
    {
        ZipArchive archive;
        try
        {
            archive = new ZipArchive(new MemoryStream(zip, writable: false), ZipArchiveMode.Read);
        }
        catch (InvalidDataException ex)
        {
            throw ImportProblems.Invalid("invalid_charx", $"The file starts like a zip (CHARX) but is not a readable one: {ex.Message}");
        }

        using (archive)
        {
            try
            {
                return ReadEntries(archive);
            }
            catch (InvalidDataException ex)
            {
                // The central directory is read on first use of the entries, so a damaged one surfaces here.
                throw ImportProblems.Invalid("invalid_charx", $"The CHARX archive's directory is damaged: {ex.Message}");
            }
        }
    }

    private static (byte[] Json, byte[]? Image) ReadEntries(ZipArchive archive)
    {
        if (archive.Entries.Count > ImportProblems.MaxArchiveEntries)
            throw ImportProblems.TooLarge($"The CHARX archive has {archive.Entries.Count} entries; at most {ImportProblems.MaxArchiveEntries} are accepted.");
        long declared = 0;
        foreach (var entry in archive.Entries)
        {
            declared += entry.Length;
            if (entry.CompressedLength > 0 && entry.Length / entry.CompressedLength > ImportProblems.MaxCompressionRatio)
                throw ZipBomb(entry.FullName);
        }
        if (declared > ImportProblems.MaxArchiveBytes) throw ZipBomb(null);

        var card = archive.GetEntry("card.json")
            ?? throw ImportProblems.Invalid("card_missing", "The CHARX archive has no card.json at its root.");
        var json = Inflate(card, ImportProblems.MaxJsonBytes);
        var imageEntry = archive.Entries
            .Where(e => e.FullName.StartsWith("assets/", StringComparison.Ordinal) && e.FullName.EndsWith(".png", StringComparison.OrdinalIgnoreCase))
            .OrderBy(e => e.FullName.Contains("/main", StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .ThenBy(e => e.FullName, StringComparer.Ordinal)
            .FirstOrDefault();
        var image = imageEntry is not null && imageEntry.Length <= ImportProblems.MaxFileBytes ? Inflate(imageEntry, ImportProblems.MaxFileBytes) : null;
        return (json, image);
    }

    /// <summary>Inflates at most <paramref name="limit"/> bytes; an entry that produces more is refused whatever it declared.</summary>
    private static byte[] Inflate(ZipArchiveEntry entry, int limit)
    {
        try
        {
            using var source = entry.Open();
            using var output = new MemoryStream();
            var buffer = new byte[81920];
            int read;
            while ((read = source.Read(buffer)) > 0)
            {
                if (output.Length + read > limit) throw ZipBomb(entry.FullName);
                output.Write(buffer, 0, read);
            }
            return output.ToArray();
        }
        catch (InvalidDataException ex)
        {
            throw ImportProblems.Invalid("invalid_charx", $"'{Errors.Problems.QuoteId(entry.FullName)}' in the CHARX archive cannot be read: {ex.Message}");
        }
    }

    private static Errors.LoomProblemException ZipBomb(string? entry) =>
        ImportProblems.TooLarge(entry is null
            ? $"The CHARX archive would expand to more than {ImportProblems.MaxArchiveBytes} bytes (a zip bomb?)."
            : $"'{Errors.Problems.QuoteId(entry)}' in the CHARX archive expands far beyond its compressed size or the limits (a zip bomb?).");
}
