using System.Text.RegularExpressions;

namespace Loom.Lore;

/// <summary>
/// A trigger: plain text, or <c>/pattern/flags</c> (flags <c>i</c>, <c>m</c>, <c>s</c>, <c>x</c>; <c>g</c> and <c>u</c> are accepted and
/// ignored). Regexes run with a time limit so an author's pattern cannot stall a turn.
/// </summary>
public sealed partial class LoreKey
{
    private static readonly TimeSpan MatchTimeout = TimeSpan.FromMilliseconds(50);
    private readonly Regex? _regex;

    private LoreKey(string text, Regex? regex)
    {
        Text = text;
        _regex = regex;
    }

    /// <summary>The key as written.</summary>
    public string Text { get; }

    public bool IsRegex => _regex is not null;

    /// <summary>Parses a key; a malformed regex is an error message, not an exception.</summary>
    public static LoreKey? TryParse(string text, out string? error)
    {
        error = null;
        if (RegexKey().Match(text) is not { Success: true } m) return new LoreKey(text, null);
        var options = RegexOptions.CultureInvariant;
        foreach (var flag in m.Groups["flags"].Value)
        {
            switch (flag)
            {
                case 'i': options |= RegexOptions.IgnoreCase; break;
                case 'm': options |= RegexOptions.Multiline; break;
                case 's': options |= RegexOptions.Singleline; break;
                case 'x': options |= RegexOptions.IgnorePatternWhitespace; break;
                case 'g' or 'u' or 'y': break;
                default:
                    error = $"Key '{text}': unknown regex flag '{flag}'.";
                    return null;
            }
        }
        try
        {
            return new LoreKey(text, new Regex(m.Groups["pattern"].Value, options, MatchTimeout));
        }
        catch (ArgumentException ex)
        {
            error = $"Key '{text}' is not a valid regular expression: {ex.Message}";
            return null;
        }
    }

    /// <summary>Whether the key occurs in <paramref name="text"/>. Case and whole-word settings apply to plain keys only.
    /// Regex keys run within <paramref name="budget"/>: once a turn has spent it, they no longer match.</summary>
    public bool Matches(string text, bool caseSensitive, bool wholeWords, LoreRegexBudget? budget = null)
    {
        if (_regex is not null)
        {
            if (budget is { Spent: true }) return false;
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                return _regex.IsMatch(text);
            }
            catch (RegexMatchTimeoutException)
            {
                return false; // a pathological pattern never fires rather than stalling the turn
            }
            finally
            {
                budget?.Charge(started);
            }
        }

        var key = Text.Trim();
        if (key.Length == 0) return false;
        var comparison = caseSensitive ? StringComparison.Ordinal : StringComparison.OrdinalIgnoreCase;
        if (!wholeWords) return text.Contains(key, comparison);
        for (var at = text.IndexOf(key, comparison); at >= 0; at = text.IndexOf(key, at + 1, comparison))
        {
            var end = at + key.Length;
            if ((at == 0 || !IsWordChar(text[at - 1]) || !IsWordChar(key[0]))
                && (end == text.Length || !IsWordChar(text[end]) || !IsWordChar(key[^1])))
            {
                return true;
            }
        }
        return false;
    }

    private static bool IsWordChar(char c) => char.IsLetterOrDigit(c) || c == '_';

    public override string ToString() => Text;

    [GeneratedRegex(@"^/(?<pattern>.+)/(?<flags>[a-z]*)$", RegexOptions.Singleline)]
    private static partial Regex RegexKey();
}
