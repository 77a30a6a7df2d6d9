using System.Text.RegularExpressions;
using Loom.Interventions;
using Loom.Memory;

namespace Loom.Timeline;

/// <summary>
/// Turns an edit marker into memory operations against the current memory. A type target creates or updates an
/// entity of that type (<c>name=</c> names it, <c>description=</c>/<c>content=</c> is its text, other pairs are
/// attributes, plain text is the content); a name target amends the entity of that name.
/// </summary>
public static partial class EditOps
{
    private const int MaxDerivedNameChars = 80;
    private static readonly string[] ContentKeys = ["content", "description", "desc", "text"];

    /// <summary>The operations, or null with <paramref name="error"/> saying why the edit cannot apply.</summary>
    public static List<MemoryOp>? From(string content, WorldMemory memory, out string? error)
    {
        error = null;
        // "[EDIT: character: add: name=Mira]" puts the verb second; read it as "add: character: name=Mira".
        content = VerbSecond().Replace(content ?? "", "${verb}: ${target}:", 1);
        if (!EditCommand.TryParse(content, out var command))
        {
            error = "an edit reads [EDIT: target: change], e.g. [EDIT: fact: the bridge is out]";
            return null;
        }
        var fields = new Dictionary<string, string>(command.Fields, StringComparer.Ordinal);
        var text = Take(fields, ContentKeys);
        var name = Take(fields, ["name"]);
        if (fields.Count == 0 && text is null && command.Fields.Count == 0) text = command.Change;

        if (command.EntityType is { } typeWord && EntityIds.TryParseType(typeWord, out var type))
        {
            name ??= command.Verb == "remove" && command.Change.Length == 0 ? null : Derive(text ?? command.Change);
            if (command.Verb == "remove")
            {
                var target = name ?? command.Change;
                var existing = memory.Get(EntityIds.For(type, target) ?? "") ?? memory.FindByName(target);
                if (existing is null || existing.Type != type)
                {
                    error = $"there is no {typeWord} named \"{target}\"";
                    return null;
                }
                return [new MemoryOp { Op = MemoryOpNormalizer.Delete, EntityId = existing.EntityId, Type = type, Name = existing.Name }];
            }
            if (string.IsNullOrWhiteSpace(name))
            {
                error = "the edit names no entity (add name=…)";
                return null;
            }
            return [new MemoryOp { Op = MemoryOpNormalizer.Upsert, Type = type, Name = name, Content = text, Attributes = fields.Count > 0 ? fields : null }];
        }

        var entity = memory.FindByName(command.Target);
        if (entity is null)
        {
            error = $"there is no entity named \"{command.Target}\"; name a type to create one, e.g. [EDIT: character: name={command.Target}]";
            return null;
        }
        if (command.Verb == "remove")
            return [new MemoryOp { Op = MemoryOpNormalizer.Delete, EntityId = entity.EntityId, Type = entity.Type, Name = entity.Name }];
        // Plain text amends the entity's content; explicit content replaces it.
        var amended = command.Fields.Count == 0 ? Join(entity.Content, command.Change) : text;
        return
        [
            new MemoryOp
            {
                Op = MemoryOpNormalizer.Upsert, EntityId = entity.EntityId, Type = entity.Type, Name = name ?? entity.Name,
                Content = amended, Attributes = fields.Count > 0 ? fields : null,
            },
        ];
    }

    /// <summary>A retcon that is not written as an edit records its text as a fact.</summary>
    public static List<MemoryOp> Fact(string change) =>
        [new MemoryOp { Op = MemoryOpNormalizer.Upsert, Type = EntityType.Fact, Name = Derive(change), Content = change }];

    private static string? Take(Dictionary<string, string> fields, string[] keys)
    {
        foreach (var key in keys)
        {
            if (fields.Remove(key, out var value)) return value;
        }
        return null;
    }

    private static string Join(string existing, string change) =>
        existing.Length == 0 ? change : existing.TrimEnd() + " " + change.Trim();

    private static string Derive(string text)
    {
        var clean = string.Join(' ', text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
        return clean.Length <= MaxDerivedNameChars ? clean : clean[..MaxDerivedNameChars].TrimEnd();
    }

    [GeneratedRegex(@"^\s*(?<target>[^:：\[\]()=]+?)\s*[:：]\s*(?<verb>add|create|new|remove|delete|update|set|change)\s*[:：]", RegexOptions.IgnoreCase)]
    private static partial Regex VerbSecond();
}
