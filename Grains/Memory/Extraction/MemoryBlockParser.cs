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
/// <para>Models do not always keep to the fence's name: a block that ends the answer, fenced <c>```json</c>,
/// <c>```memory</c> (any name with "memory" or "loom") or bare <c>```</c>, and holding <c>{"ops":[...]}</c>, is read as
/// the memory block too (with a warning), so it never reaches the player as part of the story.</para>
/// </summary>
public static class MemoryBlockParser
{
    public const string FenceOpen = "```loom-memory";
    private const string FenceClose = "```";

    private static readonly MemoryOptions DefaultOptions = new();
    private static readonly JsonDocumentOptions JsonOptions = new() { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip, MaxDepth = 16 };

    public static MemoryBlock Split(string? answer, MemoryOptions? options = null)
    {
        options ??= DefaultOptions;
        answer ??= "";
        var warnings = new List<string>();
        var start = answer.IndexOf(FenceOpen, StringComparison.OrdinalIgnoreCase);
        var bodyStart = start + FenceOpen.Length;
        int end;
        if (start >= 0)
        {
            end = answer.IndexOf(FenceClose, bodyStart, StringComparison.Ordinal);
        }
        else
        {
            start = TrailingBlockStart(answer, lineStartAtZero: true);
            if (start < 0) return new MemoryBlock(answer.Trim(), [], null);
            bodyStart = answer.IndexOf('\n', start) + 1;
            end = NextFence(answer, bodyStart, lineStartAtZero: true); // closed as TrailingBlockStart closed it
            warnings.Add($"fenced as '{answer[start..(bodyStart - 1)].Trim()}', not '{FenceOpen}' (read all the same)");
        }

        var narrative = answer[..start].Trim();
        var body = end < 0 ? answer[bodyStart..] : answer[bodyStart..end];
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
            document = JsonDocument.Parse(body, JsonOptions);
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

    /// <summary>
    /// Where a memory block fenced under another name starts: the last fenced block of <paramref name="text"/> (fences
    /// at a line's start, paired in order), when nothing but whitespace follows it, its name is empty, "json" or has
    /// "memory" or "loom" in it, and it holds a JSON object with "ops" (or "ooc"); otherwise -1. An unclosed block at the
    /// end counts (the answer was cut), also when its JSON was cut short after <c>{"ops":</c>.
    /// <paramref name="lineStartAtZero"/>: whether index 0 begins a line.
    /// </summary>
    public static int TrailingBlockStart(string text, bool lineStartAtZero)
    {
        for (var open = NextFence(text, 0, lineStartAtZero); open >= 0;)
        {
            var lineEnd = text.IndexOf('\n', open);
            if (lineEnd < 0) return -1; // the fence's own line is still being written
            var close = NextFence(text, lineEnd + 1, lineStartAtZero);
            var after = close < 0 ? text.Length : close + FenceClose.Length;
            if (text.AsSpan(after).Trim().Length == 0)
            {
                var name = text.AsSpan(open + FenceClose.Length, lineEnd - open - FenceClose.Length).Trim();
                var named = name.IsEmpty || name.Equals("json", StringComparison.OrdinalIgnoreCase)
                    || name.Contains("memory", StringComparison.OrdinalIgnoreCase) || name.Contains("loom", StringComparison.OrdinalIgnoreCase);
                var body = text[(lineEnd + 1)..(close < 0 ? text.Length : close)];
                return named && (HoldsOps(body) || (close < 0 && StartsLikeOps(body))) ? open : -1;
            }
            if (close < 0) return -1;
            open = NextFence(text, after, lineStartAtZero);
        }
        return -1;
    }

    /// <summary>The next <c>```</c> at or after <paramref name="from"/> that begins a line (after spaces or tabs only).</summary>
    internal static int NextFence(string text, int from, bool lineStartAtZero)
    {
        for (var i = text.IndexOf(FenceClose, from, StringComparison.Ordinal); i >= 0; i = text.IndexOf(FenceClose, i + FenceClose.Length, StringComparison.Ordinal))
        {
            var j = i - 1;
            while (j >= 0 && text[j] is ' ' or '\t') j--;
            if (j < 0 ? lineStartAtZero : text[j] == '\n') return i;
        }
        return -1;
    }

    /// <summary>An unclosed block cut off mid-JSON (the answer hit its token limit) that began as <c>{"ops":</c>.</summary>
    private static bool StartsLikeOps(string body)
    {
        var text = body.AsSpan().TrimStart();
        if (text.IsEmpty || text[0] != '{') return false;
        text = text[1..].TrimStart();
        return text.StartsWith("\"ops\"", StringComparison.OrdinalIgnoreCase);
    }

    private static bool HoldsOps(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body, JsonOptions);
            var root = document.RootElement;
            return root.ValueKind == JsonValueKind.Object
                && ((TryGet(root, "ops", out var ops) && ops.ValueKind == JsonValueKind.Array) || (TryGet(root, "ooc", out var ooc) && ooc.ValueKind == JsonValueKind.String));
        }
        catch (JsonException)
        {
            return false;
        }
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
