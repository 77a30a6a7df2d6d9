using System.Collections.Concurrent;

namespace Loom.Text;

/// <summary>
/// Remembers the counts of short texts. A turn's prompt is mostly lines the session counted before (memory lines,
/// summaries, recent turns, the same entities turn after turn), and hashing a line costs far less than tokenizing
/// it. Bounded by the characters it holds: when full it starts again empty (counts are cheap to recompute; a
/// bounded, lock-free table beats an exact LRU here).
/// </summary>
public sealed class CachedTokenCounter(ITokenCounter inner, int maxTextLength = 2048, long maxCachedChars = 4_000_000) : ITokenCounter
{
    private readonly ConcurrentDictionary<string, int> _counts = new(StringComparer.Ordinal);
    private long _cachedChars;

    /// <summary>The o200k counter with the cache: what the engine uses.</summary>
    public static CachedTokenCounter Default { get; } = new(TiktokenCounter.Instance);

    public int Count(string text)
    {
        if (string.IsNullOrEmpty(text)) return 0;
        if (text.Length > maxTextLength) return inner.Count(text);
        if (_counts.TryGetValue(text, out var known)) return known;
        var count = inner.Count(text);
        if (Interlocked.Add(ref _cachedChars, text.Length) > maxCachedChars)
        {
            _counts.Clear();
            Interlocked.Exchange(ref _cachedChars, text.Length);
        }
        _counts.TryAdd(text, count);
        return count;
    }
}
