using System.Text.RegularExpressions;

namespace Loom.Canon;

/// <summary>Metadata keys and the <c>key: value</c> lines of a Meta section.</summary>
internal static partial class CanonMetadata
{
    // Chinese canons write these keys in Chinese; map them so "missing version/author" does not misfire.
    private static readonly Dictionary<string, string> KeyAliases = new(StringComparer.Ordinal)
    {
        ["标题"] = "title",
        ["版本"] = "version",
        ["作者"] = "author",
    };

    public static string NormalizeKey(string key)
    {
        var k = key.Trim().Trim('*', '_', '`').Trim().ToLowerInvariant();
        return KeyAliases.TryGetValue(k, out var alias) ? alias : k;
    }

    /// <summary>Reads <c>key: value</c> lines (optionally as list items) from a section body, skipping code fences.</summary>
    public static void ReadLines(string body, IDictionary<string, string> into)
    {
        string? fence = null;
        foreach (var raw in body.Split('\n'))
        {
            var line = raw.Trim();
            if (fence is not null)
            {
                if (line.StartsWith(fence, StringComparison.Ordinal))
                {
                    fence = null;
                }

                continue;
            }

            if (line.StartsWith("```", StringComparison.Ordinal) || line.StartsWith("~~~", StringComparison.Ordinal))
            {
                fence = line[..3];
                continue;
            }

            var match = KeyValueLine().Match(line);
            if (match.Success && match.Groups["value"].Value.Length > 0)
            {
                var key = NormalizeKey(match.Groups["key"].Value);
                if (key.Length > 0)
                {
                    into[key] = match.Groups["value"].Value;
                }
            }
        }
    }

    [GeneratedRegex(@"^(?:[-*+]\s+)?(?<key>[^\s:：#][^\s:：]{0,63})\s*[:：]\s*(?<value>.*?)\s*$")]
    private static partial Regex KeyValueLine();
}
