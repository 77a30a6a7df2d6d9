using System.Globalization;
using System.Text;

namespace Loom.Memory;

/// <summary>
/// Entity ids are derived from content ("character:mira"), never random or time based, so the same story gives
/// the same memory in any session and a replayed timeline lands on the same ids.
/// </summary>
public static class EntityIds
{
    private const int MaxSlugChars = 120;

    private static readonly string[] Names =
        ["character", "location", "item", "fact", "event", "plotline", "relationship", "summary"];

    public static string TypeName(EntityType type) => Names[(int)type];

    public static bool TryParseType(string? text, out EntityType type)
    {
        type = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        var index = Array.FindIndex(Names, n => n.Equals(text.Trim(), StringComparison.OrdinalIgnoreCase));
        if (index < 0) return false;
        type = (EntityType)index;
        return true;
    }

    /// <summary>Lower-case letters and digits of any script; every other run becomes one '-'.</summary>
    public static string Slug(string name)
    {
        var text = name.Normalize(NormalizationForm.FormKC);
        var sb = new StringBuilder(Math.Min(text.Length, MaxSlugChars));
        var dash = false;
        Span<char> chars = stackalloc char[2];
        foreach (var rune in text.EnumerateRunes())
        {
            if (Rune.IsLetterOrDigit(rune) || Rune.GetUnicodeCategory(rune) is UnicodeCategory.NonSpacingMark)
            {
                if (dash && sb.Length > 0) sb.Append('-');
                dash = false;
                sb.Append(chars[..Rune.ToLowerInvariant(rune).EncodeToUtf16(chars)]);
                if (sb.Length >= MaxSlugChars) break;
            }
            else
            {
                dash = true;
            }
        }
        return sb.ToString();
    }

    /// <summary>The id of an entity of <paramref name="type"/> named <paramref name="name"/>; empty slug → null.</summary>
    public static string? For(EntityType type, string name)
    {
        var slug = Slug(name);
        return slug.Length == 0 ? null : $"{TypeName(type)}:{slug}";
    }

    /// <summary>True for "type:slug" where slug is already in normal form.</summary>
    public static bool TryParse(string? entityId, out EntityType type)
    {
        type = default;
        if (string.IsNullOrEmpty(entityId)) return false;
        var colon = entityId.IndexOf(':');
        if (colon <= 0 || colon == entityId.Length - 1) return false;
        if (!TryParseType(entityId[..colon], out type) || entityId[..colon] != TypeName(type)) return false;
        var slug = entityId[(colon + 1)..];
        return Slug(slug) == slug;
    }
}
