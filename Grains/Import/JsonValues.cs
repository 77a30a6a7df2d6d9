using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Loom.Import;

/// <summary>Tolerant reads from card JSON: a value of the wrong type counts as missing (cards in the wild vary).</summary>
internal static class JsonValues
{
    public static string? Str(this JsonObject o, string name) =>
        o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public static bool? Bool(this JsonObject o, string name) =>
        o[name] is JsonValue v ? v.GetValueKind() switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        } : null;

    public static int? Int(this JsonObject o, string name) =>
        o[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<double>(out var d) && !double.IsNaN(d)
            ? (int)Math.Clamp(Math.Round(d), int.MinValue, int.MaxValue)
            : o[name] is JsonValue s && s.GetValueKind() == JsonValueKind.String && int.TryParse(s.GetValue<string>(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n)
                ? n
                : null;

    public static List<string> Strings(this JsonObject o, string name) =>
        o[name] switch
        {
            JsonArray a => a.OfType<JsonValue>().Where(v => v.GetValueKind() == JsonValueKind.String).Select(v => v.GetValue<string>()).ToList(),
            JsonValue v when v.GetValueKind() == JsonValueKind.String => [.. v.GetValue<string>().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)],
            _ => [],
        };

    public static JsonObject Obj(this JsonObject o, string name) => o[name] as JsonObject ?? [];

    /// <summary>How imported JSON is read: nesting bounded, and a key twice in one object refused (a JSON object's lookups
    /// would otherwise throw on it later, far from the file that caused it).</summary>
    public static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = ImportProblems.MaxJsonDepth, AllowDuplicateProperties = false };

    public static JsonNode Parse(string json, string what)
    {
        try
        {
            return JsonNode.Parse(json, documentOptions: DocumentOptions)
                ?? throw ImportProblems.Invalid("invalid_json", $"The {what} is JSON null.");
        }
        catch (JsonException ex)
        {
            throw ImportProblems.Invalid("invalid_json", $"The {what} is not valid JSON: {ex.Message}");
        }
    }

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
}
