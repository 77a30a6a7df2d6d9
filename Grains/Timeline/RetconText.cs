using System.Text.RegularExpressions;

namespace Loom.Timeline;

/// <summary>
/// Splits a retcon marker's content into the change and its justification: <c>[RETCON: change | why]</c>, or
/// <c>[RETCON: change because why]</c> (also "since", "因为"). Without either, there is no justification.
/// </summary>
public static partial class RetconText
{
    public static (string Change, string? Justification) Split(string content)
    {
        var text = (content ?? "").Trim();
        var bar = text.LastIndexOfAny(['|', '｜']);
        if (bar >= 0) return (text[..bar].Trim(), NullIfEmpty(text[(bar + 1)..]));
        var match = Because().Match(text);
        if (match.Success && match.Index > 0) return (text[..match.Index].Trim().TrimEnd(',', ';', '，', '；').Trim(), NullIfEmpty(text[match.Index..]));
        return (text, null);
    }

    private static string? NullIfEmpty(string text) => text.Trim().Length == 0 ? null : text.Trim();

    [GeneratedRegex(@"(?:(?<=\s|,|;)(?:because|since)\b|因为)", RegexOptions.IgnoreCase)]
    private static partial Regex Because();
}
