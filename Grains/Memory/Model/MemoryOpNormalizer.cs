using System.Text.RegularExpressions;

namespace Loom.Memory;

/// <summary>
/// Checks one <see cref="MemoryOp"/> and puts it in normal form (op lower case, trimmed name, derived entityId),
/// so narrator output, world edits and replays all go through the same rules.
/// </summary>
public static partial class MemoryOpNormalizer
{
    public const string Upsert = "upsert";
    public const string Delete = "delete";
    public const int MaxAttributeKeyChars = 64;
    public const int MaxAttributeValueChars = 1000;

    public static bool TryNormalize(MemoryOp op, MemoryOptions options, out MemoryOp normalized, out string? error) =>
        TryNormalize(op, options, out normalized, out error, out _);

    /// <summary>As above; <paramref name="field"/> names the op's field at fault (op, type, name, entityId, content, attributes).</summary>
    public static bool TryNormalize(MemoryOp op, MemoryOptions options, out MemoryOp normalized, out string? error, out string? field)
    {
        normalized = op;
        error = null;
        field = null;
        var kind = op.Op?.Trim().ToLowerInvariant();
        if (kind is not (Upsert or Delete))
            return Fail("op", $"op must be \"upsert\" or \"delete\", not \"{Shorten(op.Op)}\"", out error, out field);
        if (!Enum.IsDefined(op.Type))
            return Fail("type", "type is not a known entity type", out error, out field);

        var name = Whitespace().Replace(op.Name ?? "", " ").Trim();
        if (name.Length > options.MaxNameChars)
            return Fail("name", $"name is longer than {options.MaxNameChars} characters", out error, out field);

        string? id;
        var type = op.Type;
        if (!string.IsNullOrWhiteSpace(op.EntityId))
        {
            id = op.EntityId.Trim();
            if (!EntityIds.TryParse(id, out var idType))
                return Fail("entityId", $"entityId \"{Shorten(id)}\" is not of the form type:name-in-lower-case", out error, out field);
            if (kind == Upsert && idType != op.Type)
                return Fail("entityId", $"entityId \"{id}\" does not match type {EntityIds.TypeName(op.Type)}", out error, out field);
            type = idType;
            if (name.Length == 0 && kind == Upsert)
                return Fail("name", "name is required", out error, out field);
        }
        else
        {
            if (name.Length == 0) return Fail("name", "name is required", out error, out field);
            id = EntityIds.For(type, name);
            if (id is null) return Fail("name", $"name \"{Shorten(name)}\" has no letters or digits", out error, out field);
        }

        var content = op.Content?.Trim();
        if (content is { Length: var length } && length > options.MaxContentChars)
            return Fail("content", $"content is longer than {options.MaxContentChars} characters", out error, out field);

        Dictionary<string, string>? attributes = null;
        if (op.Attributes is { Count: > 0 })
        {
            if (op.Attributes.Count > options.MaxAttributes)
                return Fail("attributes", $"more than {options.MaxAttributes} attributes", out error, out field);
            attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (rawKey, rawValue) in op.Attributes)
            {
                var key = rawKey?.Trim() ?? "";
                if (key.Length is 0 or > MaxAttributeKeyChars)
                    return Fail("attributes", $"attribute names must be 1..{MaxAttributeKeyChars} characters", out error, out field);
                var value = rawValue?.Trim() ?? "";
                if (value.Length > MaxAttributeValueChars)
                    return Fail("attributes", $"attribute \"{key}\" is longer than {MaxAttributeValueChars} characters", out error, out field);
                attributes[key] = value;
            }
        }

        normalized = new MemoryOp
        {
            Op = kind,
            EntityId = id,
            Type = type,
            Name = name,
            Content = kind == Delete ? null : content,
            ReplaceContent = op.ReplaceContent,
            Attributes = kind == Delete ? null : attributes,
        };
        return true;
    }

    private static bool Fail(string name, string message, out string? error, out string? field)
    {
        error = message;
        field = name;
        return false;
    }

    private static string Shorten(string? text) => text is null ? "" : text.Length <= 40 ? text : text[..40] + "…";

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();
}
