using System.Globalization;
using Loom.Errors;

namespace Loom.Memory;

/// <summary>Edits of a session's memory through the API: checked, then turned into the operations a turn would apply.</summary>
public static class MemoryEdits
{
    /// <summary>Refuses a PUT whose id or body is invalid (400), or whose fields pass the memory's limits (422 naming
    /// the field), before anything is read or changed.</summary>
    public static void Check(string entityId, MemoryEdit edit, MemoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(edit);
        if (!EntityIds.TryParse(entityId, out var idType))
            throw Problems.Invalid("entityId", "entityId must be type:name-in-lower-case, e.g. character:mira.");
        if (edit.Type != idType)
            throw Problems.Invalid("type", $"type must be {EntityIds.TypeName(idType)} for entity '{entityId}'.");
        if (string.IsNullOrWhiteSpace(edit.Name)) throw Problems.Invalid("name", "name must not be empty.");
        if (!MemoryOpNormalizer.TryNormalize(Upsert(entityId, edit, existing: null), options, out _, out var error, out var field))
            throw Problems.Unprocessable("invalid_memory_op", $"The memory edit is invalid: {error}; nothing was changed.", new() { [field ?? "body"] = [error!] });
    }

    /// <summary>A checked PUT as an upsert. PUT replaces the attribute map: keys it leaves out are removed (an empty
    /// value removes a key).</summary>
    public static MemoryOp Upsert(string entityId, MemoryEdit edit, MemoryEntity? existing)
    {
        var attributes = edit.Attributes;
        if (attributes is not null && existing is not null)
        {
            attributes = new Dictionary<string, string>(attributes, StringComparer.Ordinal);
            foreach (var key in existing.Attributes.Keys) attributes.TryAdd(key, "");
        }
        return new MemoryOp
        {
            Op = MemoryOpNormalizer.Upsert,
            EntityId = entityId,
            Type = edit.Type,
            Name = edit.Name,
            Content = edit.Content,
            ReplaceContent = true,
            Attributes = attributes,
        };
    }

    public static MemoryOp Delete(MemoryEntity existing) =>
        new() { Op = MemoryOpNormalizer.Delete, EntityId = existing.EntityId, Type = existing.Type, Name = existing.Name };

    /// <summary>Audit details of an edit.</summary>
    public static Dictionary<string, string> Details(MemoryEntity entity, bool withVersion)
    {
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["entityId"] = entity.EntityId,
            ["type"] = EntityIds.TypeName(entity.Type),
            ["name"] = entity.Name,
        };
        if (withVersion) details["version"] = entity.Version.ToString(CultureInfo.InvariantCulture);
        return details;
    }
}
