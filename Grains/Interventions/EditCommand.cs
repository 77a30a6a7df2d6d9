using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.RegularExpressions;

namespace Loom.Interventions;

/// <summary>
/// The structured reading of an edit marker's content, <c>[EDIT: target: change]</c>, optionally led by a verb
/// (<c>add:</c>/<c>remove:</c>/<c>update:</c>). The target is an entity type word (then <see cref="EntityType"/>
/// is set) or an entity's name. <c>key=value</c> pairs in the change (comma separated, values may contain
/// spaces, brackets and quoted commas) become <see cref="Fields"/>.
/// </summary>
public sealed partial record EditCommand
{
    /// <summary>"add", "remove" or "update"; null when no verb was given.</summary>
    public string? Verb { get; init; }
    public required string Target { get; init; }
    /// <summary>The memory entity type (character, location, ...) when the target names a type; else null.</summary>
    public string? EntityType { get; init; }
    public string Change { get; init; } = "";
    public Dictionary<string, string> Fields { get; init; } = new(StringComparer.Ordinal);

    private static readonly Dictionary<string, string> Verbs = new(StringComparer.OrdinalIgnoreCase)
    {
        ["add"] = "add", ["create"] = "add", ["new"] = "add",
        ["remove"] = "remove", ["delete"] = "remove",
        ["update"] = "update", ["set"] = "update", ["change"] = "update",
    };

    private static readonly Dictionary<string, string> TypeWords = new(StringComparer.OrdinalIgnoreCase)
    {
        ["character"] = "character", ["characters"] = "character", ["npc"] = "character", ["person"] = "character",
        ["人物"] = "character", ["角色"] = "character",
        ["location"] = "location", ["locations"] = "location", ["place"] = "location", ["地点"] = "location",
        ["item"] = "item", ["items"] = "item", ["object"] = "item", ["物品"] = "item", ["道具"] = "item",
        ["fact"] = "fact", ["facts"] = "fact", ["事实"] = "fact",
        ["event"] = "event", ["events"] = "event", ["事件"] = "event",
        ["plotline"] = "plotline", ["plotlines"] = "plotline", ["plot"] = "plotline", ["情节"] = "plotline", ["剧情"] = "plotline",
        ["relationship"] = "relationship", ["relationships"] = "relationship", ["关系"] = "relationship",
        ["summary"] = "summary", ["summaries"] = "summary", ["摘要"] = "summary",
    };

    public static bool TryParse(string? content, [NotNullWhen(true)] out EditCommand? command)
    {
        command = null;
        var text = content?.Trim() ?? "";
        var colon = TopLevelColon(text, 0);
        if (colon < 0)
        {
            return false;
        }

        string? verb = null;
        var head = text[..colon].Trim();
        var rest = text[(colon + 1)..].Trim();
        if (Verbs.TryGetValue(head, out var canonicalVerb))
        {
            verb = canonicalVerb;
            var second = TopLevelColon(rest, 0);
            if (second < 0)
            {
                // "remove: Mira" needs no change text; the other verbs do.
                if (verb != "remove" || rest.Length == 0)
                {
                    return false;
                }

                command = new EditCommand { Verb = verb, Target = rest, EntityType = TypeOf(rest) };
                return true;
            }

            head = rest[..second].Trim();
            rest = rest[(second + 1)..].Trim();
        }

        if (head.Length == 0 || (rest.Length == 0 && verb != "remove"))
        {
            return false;
        }

        command = new EditCommand
        {
            Verb = verb,
            Target = head,
            EntityType = TypeOf(head),
            Change = rest,
            Fields = ParseFields(rest),
        };
        return true;
    }

    private static string? TypeOf(string target) => TypeWords.GetValueOrDefault(target.Trim());

    /// <summary>key=value pairs; a comma segment that is not "key=" continues the previous value.</summary>
    internal static Dictionary<string, string> ParseFields(string change)
    {
        var fields = new Dictionary<string, string>(StringComparer.Ordinal);
        string? current = null;
        foreach (var segment in SplitTopLevel(change))
        {
            var match = Field().Match(segment);
            if (match.Success)
            {
                current = match.Groups["key"].Value.ToLowerInvariant();
                fields[current] = match.Groups["value"].Value.Trim();
            }
            else if (current is not null && segment.Trim().Length > 0)
            {
                fields[current] = fields[current] + ", " + segment.Trim();
            }
        }

        foreach (var key in fields.Keys.ToList())
        {
            fields[key] = Unquote(fields[key]);
        }

        return fields;
    }

    private static string Unquote(string value) =>
        value.Length >= 2 && ((value[0] == '"' && value[^1] == '"') || (value[0] == '\'' && value[^1] == '\''))
            ? value[1..^1]
            : value;

    private static int TopLevelColon(string text, int from)
    {
        var depth = 0;
        for (var i = from; i < text.Length; i++)
        {
            switch (text[i])
            {
                case '[' or '(' or '{' or '（':
                    depth++;
                    break;
                case ']' or ')' or '}' or '）':
                    depth = Math.Max(0, depth - 1);
                    break;
                case ':' or '：' when depth == 0:
                    return i;
                case '=' or '＝' when depth == 0:
                    return -1; // "name=a:b" - the colon belongs to a value, not to a target
            }
        }

        return -1;
    }

    /// <summary>Splits on commas outside brackets and quotes.</summary>
    private static IEnumerable<string> SplitTopLevel(string text)
    {
        var depth = 0;
        char? quote = null;
        var sb = new StringBuilder();
        foreach (var c in text)
        {
            if (quote is not null)
            {
                if (c == quote)
                {
                    quote = null;
                }
            }
            else if (c is '"' or '\'' && (sb.Length == 0 || sb[^1] is '=' or ' ' or '＝'))
            {
                quote = c;
            }
            else if (c is '[' or '(' or '{' or '（')
            {
                depth++;
            }
            else if (c is ']' or ')' or '}' or '）')
            {
                depth = Math.Max(0, depth - 1);
            }
            else if (c is ',' or '，' && depth == 0)
            {
                yield return sb.ToString();
                sb.Clear();
                continue;
            }

            sb.Append(c);
        }

        yield return sb.ToString();
    }

    [GeneratedRegex(@"^\s*(?<key>[\p{L}\p{N}_][\p{L}\p{N}_.-]{0,63})\s*[=＝]\s*(?<value>.*)$", RegexOptions.Singleline)]
    private static partial Regex Field();
}
