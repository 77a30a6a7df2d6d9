using System.Text.RegularExpressions;

namespace Loom.Worlds;

/// <summary>Author-chosen world ids: URL-safe, lower case, and short enough to be a storage key.</summary>
public static partial class WorldIds
{
    public static bool IsValid(string? worldId) => worldId is not null && Pattern().IsMatch(worldId);

    // \z, not $: '$' also matches before a final line break, which let "abc\n" through.
    [GeneratedRegex(@"^[a-z0-9][a-z0-9-]{0,63}\z")]
    private static partial Regex Pattern();
}
