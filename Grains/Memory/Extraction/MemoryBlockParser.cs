using System.Text.Json;

namespace Loom.Memory;

/// <summary>A narrator answer split per the shared memory protocol.</summary>
public sealed record MemoryBlock(string Narrative, IReadOnlyList<MemoryOp> Ops, string? Warning)
{
    /// <summary>The narrator's out-of-character answer (the block's "ooc" field), kept apart from the story.</summary>
    public string? Ooc { get; init; }
}

/// <summary>
/// Splits a narrator answer into narrative and memory operations. Protocol: the narrative, then optionally one
/// fenced block <c>```loom-memory</c> holding <c>{"ops":[...]}</c>. Everything before the fence is narrative. A
/// broken block never fails a turn: the narrative is kept, unusable ops are skipped and a warning says why.
/// </summary>
public static class MemoryBlockParser
{
    public const string FenceOpen = "```loom-memory";
    private const string FenceClose = "```";

    private static readonly MemoryOptions DefaultOptions = new();

    public static MemoryBlock Split(string? answer, MemoryOptions? options = null)
    {
        options ??= DefaultOptions;
        answer ??= "";
        var start = answer.IndexOf(FenceOpen, StringComparison.OrdinalIgnoreCase);
        if (start < 0) return new MemoryBlock(answer.Trim(), [], null);

        var narrative = answer[..start].Trim();
        var bodyStart = start + FenceOpen.Length;
        var end = answer.IndexOf(FenceClose, bodyStart, StringComparison.Ordinal);
        var body = end < 0 ? answer[bodyStart..] : answer[bodyStart..end];
        var warnings = new List<string>();
        if (end >= 0 && answer.AsSpan(end + FenceClose.Length).Trim().Length > 0)
            warnings.Add("text after the memory block was dropped");

        var ops = Parse(body, options, warnings, out var ooc);
        if (end < 0 && ops.Count == 0 && warnings.Count == 0) warnings.Add("the memory block is not closed");
        return new MemoryBlock(narrative, ops, warnings.Count == 0 ? null : "memory block: " + string.Join("; ", warnings)) { Ooc = ooc };
    }

    private static List<MemoryOp> Parse(string body, MemoryOptions options, List<string> warnings, out string? ooc)
    {
        ooc = null;
        var ops = new List<MemoryOp>();
        if (body.Trim().Length == 0)
        {
            warnings.Add("the memory block is empty");
            return ops;
        }
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 16 });
        }
        catch (JsonException e)
        {
            warnings.Add($"not valid JSON ({e.Message.Split('.')[0]}); no memory operations applied");
            return ops;
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object && Text(root, "ooc") is { } answer && answer.Trim().Length > 0) ooc = answer.Trim();
            var list = root.ValueKind == JsonValueKind.Array ? root
                : root.ValueKind == JsonValueKind.Object && TryGet(root, "ops", out var o) && o.ValueKind == JsonValueKind.Array ? o
                : default;
            if (list.ValueKind != JsonValueKind.Array)
            {
                warnings.Add("expected {\"ops\":[...]}; no memory operations applied");
                return ops;
            }
            var index = 0;
            foreach (var element in list.EnumerateArray())
            {
                if (ops.Count >= options.MaxOpsPerBlock)
                {
                    warnings.Add($"only the first {options.MaxOpsPerBlock} operations were kept");
                    break;
                }
                if (TryReadOp(element, options, out var op, out var error)) ops.Add(op);
                else warnings.Add($"op {index} skipped: {error}");
                index++;
            }
        }
        return ops;
    }

    private static bool TryReadOp(JsonElement element, MemoryOptions options, out MemoryOp op, out string? error)
    {
        op = null!;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = "not an object";
            return false;
        }
        var kind = Text(element, "op") ?? "upsert";
        var typeText = Text(element, "type");
        EntityType type = default;
        var entityId = Text(element, "entityId");
        if (!EntityIds.TryParseType(typeText, out type))
        {
            if (typeText is not null || entityId is null || !EntityIds.TryParse(entityId, out type))
            {
                error = $"unknown type \"{typeText}\"";
                return false;
            }
        }
        Dictionary<string, string>? attributes = null;
        if (TryGet(element, "attributes", out var attrs) && attrs.ValueKind == JsonValueKind.Object)
        {
            attributes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in attrs.EnumerateObject())
            {
                attributes[property.Name] = property.Value.ValueKind switch
                {
                    JsonValueKind.String => property.Value.GetString()!,
                    JsonValueKind.Null => "",
                    _ => property.Value.GetRawText(),
                };
            }
        }
        var raw = new MemoryOp
        {
            Op = kind,
            EntityId = entityId,
            Type = type,
            Name = Text(element, "name") ?? "",
            Content = Text(element, "content"),
            Attributes = attributes,
        };
        return MemoryOpNormalizer.TryNormalize(raw, options, out op, out error);
    }

    private static string? Text(JsonElement element, string name) =>
        TryGet(element, name, out var value) ? value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => value.GetRawText(),
            _ => null,
        } : null;

    /// <summary>Property lookup that forgives a model's casing ("Name", "entity_id").</summary>
    private static bool TryGet(JsonElement element, string name, out JsonElement value)
    {
        if (element.TryGetProperty(name, out value)) return true;
        foreach (var property in element.EnumerateObject())
        {
            if (string.Equals(property.Name.Replace("_", ""), name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }
        return false;
    }
}
