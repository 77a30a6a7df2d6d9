namespace Loom.Caching;

/// <summary>The caches kept in the two tiers; each name is its keys' prefix and a metric label.</summary>
public static class CacheNames
{
    /// <summary>Published canon versions with their files (immutable).</summary>
    public const string Canon = "canon";

    /// <summary>A caller's list of worlds (a read model; invalidated by the catalog on every change).</summary>
    public const string Worlds = "worlds";

    /// <summary>LLM answers, when <c>Loom:Llm:Cache:Enabled</c> (immutable).</summary>
    public const string Llm = "llm";

    public static IReadOnlyList<string> All { get; } = [Canon, Worlds, Llm];

    /// <summary>The cache a key belongs to ("other" for keys that are not ours, e.g. HybridCache's tag records).</summary>
    public static string Of(string key)
    {
        var colon = key.IndexOf(':');
        if (colon > 0)
        {
            foreach (var name in All)
            {
                if (key.AsSpan(0, colon).SequenceEqual(name)) return name;
            }
        }

        return "other";
    }
}
