using Loom.Worlds;

namespace Loom.Canon;

/// <summary>Maps an H1 heading to its section type: the text before a parenthesis, else the alias inside it.</summary>
public static class CanonSectionTypes
{
    private static readonly Dictionary<string, SectionType> Aliases = new(StringComparer.OrdinalIgnoreCase)
    {
        ["World"] = SectionType.World,
        ["世界观"] = SectionType.World,
        ["世界设定"] = SectionType.World,
        ["Tone"] = SectionType.Tone,
        ["叙事基调"] = SectionType.Tone,
        ["基调"] = SectionType.Tone,
        ["Conflict"] = SectionType.Conflict,
        ["冲突"] = SectionType.Conflict,
        ["Permissions"] = SectionType.Permissions,
        ["权限"] = SectionType.Permissions,
        ["Causality"] = SectionType.Causality,
        ["因果"] = SectionType.Causality,
        ["Meta"] = SectionType.Meta,
        ["元信息"] = SectionType.Meta,
    };

    private static readonly char[] OpenParens = ['(', '（'];
    private static readonly char[] CloseParens = [')', '）'];

    public static SectionType FromHeading(string heading)
    {
        var text = heading.Trim();
        var open = text.IndexOfAny(OpenParens);
        var before = open < 0 ? text : text[..open];
        if (Aliases.TryGetValue(before.Trim(), out var type))
        {
            return type;
        }

        if (open >= 0)
        {
            var close = text.IndexOfAny(CloseParens, open + 1);
            var inside = close < 0 ? text[(open + 1)..] : text[(open + 1)..close];
            if (Aliases.TryGetValue(inside.Trim(), out type))
            {
                return type;
            }
        }

        return SectionType.Custom;
    }

    /// <summary>The API's lower-case spelling ("world", "tone", ..., "custom").</summary>
    public static string ToApiName(this SectionType type) => type.ToString().ToLowerInvariant();
}
