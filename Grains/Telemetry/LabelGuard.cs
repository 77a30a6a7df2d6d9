using System.Collections.Concurrent;

namespace Loom.Telemetry;

/// <summary>
/// Keeps one label's cardinality bounded. Some label values come from callers (a session may name any model),
/// and every distinct value is a new Prometheus series for ever, so after <see cref="MaxValues"/> distinct
/// values the rest are reported as "other". Values are trimmed, lower-cased and cut to 64 characters.
/// </summary>
internal sealed class LabelGuard(int maxValues)
{
    public const string Other = "other";
    public const string Unknown = "unknown";
    private const int MaxLength = 64;

    private readonly ConcurrentDictionary<string, string> _seen = new(StringComparer.Ordinal);

    public int MaxValues { get; } = maxValues;

    public string Normalize(string? value)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return Unknown;
        }

        // Fast path: the common values are already known, so no allocation on the hot path.
        if (_seen.TryGetValue(value, out var known))
        {
            return known;
        }

        var clean = value.Trim().ToLowerInvariant();
        if (clean.Length > MaxLength)
        {
            clean = clean[..MaxLength];
        }

        // A racy count may admit a couple of extra values under contention; the bound only needs to be finite.
        if (_seen.Count >= MaxValues)
        {
            return Other;
        }

        return _seen.GetOrAdd(value, clean);
    }
}
