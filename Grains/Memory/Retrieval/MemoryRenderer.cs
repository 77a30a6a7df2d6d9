using System.Text;
using System.Text.RegularExpressions;
using Loom.Text;

namespace Loom.Memory;

/// <summary>Renders entities as one compact Markdown line each, grouped by type under "## World memory".</summary>
internal static partial class MemoryRenderer
{
    public const string Heading = "## World memory\n";
    private const int MaxRenderedAttributes = 6;
    private const int MaxAttributeValueChars = 60;

    /// <summary>Group order: the story so far and open threads first, plain facts last.</summary>
    public static readonly EntityType[] GroupOrder =
    [
        EntityType.Summary, EntityType.Plotline, EntityType.Character, EntityType.Location, EntityType.Item,
        EntityType.Relationship, EntityType.Event, EntityType.Fact,
    ];

    public static string GroupHeading(EntityType type) => type switch
    {
        EntityType.Summary => "### Story so far\n",
        EntityType.Plotline => "### Plotlines\n",
        EntityType.Character => "### Characters\n",
        EntityType.Location => "### Locations\n",
        EntityType.Item => "### Items\n",
        EntityType.Relationship => "### Relationships\n",
        EntityType.Event => "### Events\n",
        _ => "### Facts\n",
    };

    public static string Line(MemoryEntity entity, int maxContentChars)
    {
        var sb = new StringBuilder(128);
        sb.Append("- **").Append(OneLine(entity.Name)).Append("**");
        if (entity.Aliases.Count > 0) sb.Append(" (aka ").Append(OneLine(string.Join(", ", entity.Aliases))).Append(')');
        if (entity.Content.Length > 0)
        {
            var limit = entity.Type == EntityType.Summary ? maxContentChars * 3 : maxContentChars;
            sb.Append(": ").Append(TextClip.Ellipsize(OneLine(entity.Content), limit));
        }
        var attributes = entity.Attributes
            .Where(a => entity.Type != EntityType.Summary || a.Key is not ("fromSeq" or "toSeq"))
            .Take(MaxRenderedAttributes)
            .Select(a => $"{OneLine(a.Key)}: {TextClip.Ellipsize(OneLine(a.Value), MaxAttributeValueChars)}")
            .ToList();
        if (attributes.Count > 0) sb.Append(" [").Append(string.Join("; ", attributes)).Append(']');
        return sb.Append('\n').ToString();
    }

    /// <summary>The selected lines grouped by type, without the block's own heading.</summary>
    /// <remarks>Runs on every turn: one pass per group over the selection and one presized buffer.</remarks>
    public static string Body(IReadOnlyList<(MemoryEntity Entity, string Line)> selected)
    {
        var length = 0;
        foreach (var (_, line) in selected) length += line.Length;
        var sb = new StringBuilder(length + GroupOrder.Length * 20);
        foreach (var type in GroupOrder)
        {
            // Summaries read as a chronicle; other groups keep their relevance order.
            IEnumerable<(MemoryEntity Entity, string Line)> group = type == EntityType.Summary
                ? selected.Where(s => s.Entity.Type == type).OrderBy(s => s.Entity.FirstSeq).ThenBy(s => s.Entity.EntityId, StringComparer.Ordinal)
                : selected;
            var first = true;
            foreach (var (entity, line) in group)
            {
                if (entity.Type != type) continue;
                if (first) sb.Append(GroupHeading(type));
                first = false;
                sb.Append(line);
            }
        }
        return sb.ToString();
    }

    private static string OneLine(string text) => Spaces().Replace(text, " ").Trim();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Spaces();
}
