using System.Globalization;
using System.Runtime.CompilerServices;
using Loom.Canon;
using Loom.Worlds;

namespace Loom.Lore;

/// <summary>
/// The lore of one canon version: its entries and the world-wide settings from canon metadata
/// (<c>loreScanDepth</c>, <c>loreRecursionDepth</c>, <c>loreTokens</c>). Built once per canon instance.
/// </summary>
public sealed record LoreBook
{
    public const int DefaultScanDepth = 2;
    public const int DefaultRecursionDepth = 3;
    public const int MaxRecursionDepth = 10;

    public static readonly LoreBook Empty = new();

    public IReadOnlyList<LoreEntry> Entries { get; init; } = [];
    /// <summary>Messages scanned for keys (the player's input is the first, the previous narrative the second, …).</summary>
    public int ScanDepth { get; init; } = DefaultScanDepth;
    /// <summary>How many times activated entries' text is scanned again for further entries (0 = no recursion).</summary>
    public int RecursionDepth { get; init; } = DefaultRecursionDepth;
    /// <summary>The world's own lore budget in tokens, if it sets one (never above <c>Loom:Prompt:LoreTokens</c>).</summary>
    public int? Tokens { get; init; }

    private static readonly ConditionalWeakTable<IReadOnlyDictionary<string, string>, LoreBook> Books = new();

    /// <summary>The book of a published canon (already validated, so problems cannot occur; any would only drop that entry).</summary>
    public static LoreBook Of(CanonVersion canon)
    {
        if (canon.Files is not { } files || !files.Keys.Any(LoreFiles.IsLoreFile)) return Empty;
        return Books.GetValue(files, _ => From(files, canon.Metadata));
    }

    public static LoreBook From(IReadOnlyDictionary<string, string> files, IReadOnlyDictionary<string, string> metadata)
    {
        List<CanonIssue> errors = [], warnings = [];
        var entries = files
            .Where(f => LoreFiles.IsLoreFile(f.Key))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => LoreFiles.Read(f.Key, CanonText.NormalizeNewlines(f.Value), errors, warnings))
            .OfType<LoreEntry>()
            .ToList();
        return new LoreBook
        {
            Entries = entries,
            ScanDepth = Setting(metadata, "lorescandepth", DefaultScanDepth, LoreFiles.MaxScanDepth),
            RecursionDepth = Setting(metadata, "lorerecursiondepth", DefaultRecursionDepth, MaxRecursionDepth),
            Tokens = metadata.ContainsKey("loretokens") ? Setting(metadata, "loretokens", 0, 1_000_000) : null,
        };
    }

    private static int Setting(IReadOnlyDictionary<string, string> metadata, string key, int fallback, int max) =>
        metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n)
            ? Math.Min(n, max)
            : fallback;
}
