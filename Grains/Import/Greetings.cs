using System.Globalization;

namespace Loom.Import;

/// <summary>A world's greetings (<c>card/greeting-N.md</c>, from a card's first and alternate greetings): how a session opens.</summary>
public static class Greetings
{
    public static List<string> Of(IReadOnlyDictionary<string, string>? files) =>
        files is null ? [] : files
            .Select(f => (f.Value, Index: f.Key.StartsWith(CardWorld.GreetingPrefix, StringComparison.Ordinal) && f.Key.EndsWith(".md", StringComparison.Ordinal)
                && int.TryParse(f.Key.AsSpan(CardWorld.GreetingPrefix.Length, f.Key.Length - CardWorld.GreetingPrefix.Length - 3), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1))
            .Where(g => g.Index >= 0)
            .OrderBy(g => g.Index)
            .Select(g => g.Value.Trim('\n'))
            .ToList();

    /// <summary>The greeting a new session opens with: <paramref name="index"/> (0 = first), or the first when none is asked for.</summary>
    public static string? Pick(IReadOnlyDictionary<string, string>? files, int? index)
    {
        var greetings = Of(files);
        if (index is null) return greetings.FirstOrDefault();
        if (index < 0 || index >= greetings.Count)
            throw Errors.Problems.Invalid("greeting", greetings.Count == 0
                ? "This world has no greetings to open with."
                : $"greeting must be from 0 to {greetings.Count - 1} (this world has {greetings.Count}).");
        return greetings[index.Value];
    }
}
