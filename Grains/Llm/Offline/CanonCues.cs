using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Loom.Prompt;

namespace Loom.Llm.Offline;

/// <summary>A proper name found in canon, with a guess of what it names.</summary>
internal sealed record CanonName(string Name, string Kind);

/// <summary>
/// Picks names and places out of canon text (headings and capitalised phrases) so the offline narrator's
/// prose visibly belongs to the world. Pure text heuristics: deterministic, no model.
/// </summary>
internal static partial class CanonCues
{
    private const int MaxNames = 40;

    // Canon changes only when a world publishes, but the offline narrator reads it on every turn: finding the names
    // and guessing their kinds (a few regex scans of the whole canon per name) was a third of a turn's CPU. Keyed by
    // the text itself, so any process and any session of one canon version share an entry; cleared when full, since
    // a process serves a handful of canon versions at a time.
    private const int MaxCachedCanons = 64;
    private static readonly ConcurrentDictionary<string, IReadOnlyList<CanonName>> NamesByCanon = new(StringComparer.Ordinal);

    // Section headings of the canon format and words that are capitalised for grammar, not because they name something.
    private static readonly HashSet<string> NotNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "world", "tone", "conflict", "permissions", "causality", "meta", "canon", "end", "file",
        "the", "a", "an", "you", "your", "yours", "i", "he", "she", "it", "they", "we", "his", "her", "its", "their",
        "this", "that", "these", "those", "there", "here", "in", "on", "at", "and", "but", "or", "if", "when", "while",
        "each", "every", "no", "not", "all", "some", "any", "one", "of", "to", "for", "with", "as", "by", "from",
        "is", "are", "was", "be", "do", "does", "never", "always", "only", "also", "then", "so", "what", "who",
        "where", "why", "how", "after", "before", "nothing", "everyone", "someone", "yes", "ok", "note", "rules",
        "players", "player", "narrator", "story", "version", "author", "title", "magic", "people",
        "places", "factions", "others", "technology", "history", "geography", "overview", "setting",
    };

    private static readonly string[] PlaceWords =
    [
        "city", "town", "village", "harbor", "harbour", "port", "market", "street", "tower", "castle", "keep",
        "forest", "wood", "woods", "river", "sea", "lake", "island", "isle", "mountain", "hill", "valley", "road",
        "bridge", "inn", "tavern", "temple", "hall", "district", "quarter", "gate", "square", "library", "station",
        "lighthouse", "coast", "bay", "marsh", "desert", "palace", "ward", "docks", "mill", "abbey", "archive",
    ];

    private static readonly string[] ItemWords =
    [
        "sword", "blade", "key", "lamp", "lantern", "book", "ring", "map", "amulet", "crown", "stone", "letter",
        "compass", "dagger", "staff", "orb", "mirror", "coin", "knife", "bell", "chart", "ledger", "relic",
    ];

    /// <summary>Distinct names in order of first appearance (headings first within their place in the text).</summary>
    public static IReadOnlyList<CanonName> ExtractNames(string canon)
    {
        if (NamesByCanon.TryGetValue(canon, out var cached))
        {
            return cached;
        }

        if (NamesByCanon.Count >= MaxCachedCanons)
        {
            NamesByCanon.Clear();
        }

        return NamesByCanon[canon] = FindNames(canon);
    }

    internal static IReadOnlyList<CanonName> FindNames(string canon)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var order = new List<string>();

        void Add(string candidate)
        {
            var name = Clean(candidate);
            if (name.Length < 3 || seen.ContainsKey(name) || order.Count >= MaxNames)
            {
                return;
            }

            if (name.Split(' ').All(word => NotNames.Contains(word)))
            {
                return;
            }

            seen[name] = name;
            order.Add(name);
        }

        foreach (var rawLine in canon.Split('\n'))
        {
            var line = rawLine.Trim();
            if (line.Length == 0 || line.StartsWith("---", StringComparison.Ordinal) || line.StartsWith("===", StringComparison.Ordinal))
            {
                continue;
            }

            if (line.StartsWith('#'))
            {
                // H1s are section headings (World, Tone, ...); deeper headings usually name people and places.
                if (line.StartsWith("##", StringComparison.Ordinal) && LooksLikeAName(line.TrimStart('#')))
                {
                    Add(line.TrimStart('#'));
                }

                continue;
            }

            foreach (Match match in CapitalisedPhrase().Matches(line))
            {
                if (match.Value.Contains(' ') || !IsSentenceStart(line, match.Index))
                {
                    Add(match.Value);
                }
            }
        }

        return order.Select(name => new CanonName(name, KindOf(name, canon))).ToList().AsReadOnly();
    }

    /// <summary>The canon part of a system prompt (between the assembler's markers), or all of it when unmarked.</summary>
    public static string CanonText(string systemText)
    {
        var start = systemText.IndexOf(NarratorFormat.CanonHeader, StringComparison.Ordinal);
        if (start < 0)
        {
            return systemText;
        }

        start += NarratorFormat.CanonHeader.Length;
        var end = systemText.IndexOf(NarratorFormat.CanonFooter, start, StringComparison.Ordinal);
        return end < 0 ? systemText[start..] : systemText[start..end];
    }

    /// <summary>
    /// "Kilnmouth" and "The Guild of Glass" name something; sentence-case topics such as "Time and the calendar" or
    /// "Everyday life" do not: a heading of several words needs a capitalised word after its first.
    /// </summary>
    private static bool LooksLikeAName(string heading)
    {
        var words = Clean(heading).Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (words.Length == 0) return false;
        if (words.Length == 1) return !NotNames.Contains(words[0]);
        return words.Skip(1).Any(word => char.IsUpper(word[0]));
    }

    private static string Clean(string candidate)
    {
        var name = candidate.Trim();
        var paren = name.IndexOfAny(['(', '（']);
        if (paren > 0)
        {
            name = name[..paren];
        }

        name = name.Trim().Trim('*', '_', '`', ':', '.', ',', ';', '-', ' ');
        foreach (var article in new[] { "The ", "A ", "An " })
        {
            if (name.StartsWith(article, StringComparison.Ordinal) && name.Length > article.Length)
            {
                name = name[article.Length..];
            }
        }

        return name.Length > 48 ? "" : name;
    }

    private static bool IsSentenceStart(string line, int index)
    {
        for (var i = index - 1; i >= 0; i--)
        {
            var c = line[i];
            if (char.IsWhiteSpace(c) || c is '*' or '_' or '"' or '\'' or '“' or '(' or '[')
            {
                continue;
            }

            return c is '.' or '!' or '?' or ':' or '-' or '>' or '|';
        }

        return true;
    }

    private static string KindOf(string name, string canon)
    {
        var lower = name.ToLowerInvariant();
        if (PlaceWords.Any(word => ContainsWord(lower, word)))
        {
            return "location";
        }

        // "in Saltmere", "the city of Saltmere", "the Drowned Lantern tavern": the canon's own wording says place.
        var escaped = Regex.Escape(name);
        var placeWords = string.Join('|', PlaceWords);
        if (Regex.IsMatch(canon, $@"\b(?:in|at|from|near|into|across|toward|towards|inside)\s+(?:the\s+)?{escaped}\b")
            || Regex.IsMatch(canon, $@"\b(?:{placeWords})\s+of\s+(?:the\s+)?{escaped}\b", RegexOptions.IgnoreCase)
            || Regex.IsMatch(canon, $@"\b{escaped}\s+(?:{placeWords})\b", RegexOptions.IgnoreCase))
        {
            return "location";
        }

        return ItemWords.Any(word => ContainsWord(lower, word)) ? "item" : "character";
    }

    private static bool ContainsWord(string text, string word) =>
        Regex.IsMatch(text, $@"\b{Regex.Escape(word)}\b");

    [GeneratedRegex(@"\b(?:The\s+)?[A-Z][\p{Ll}'’]+(?:\s+(?:of\s+(?:the\s+)?)?[A-Z][\p{Ll}'’]+)*")]
    private static partial Regex CapitalisedPhrase();
}
