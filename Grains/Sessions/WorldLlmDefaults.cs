using System.Globalization;

namespace Loom.Sessions;

/// <summary>
/// A world's default narrator, from its canon metadata (front matter or Meta lines):
/// <c>llm.provider</c>, <c>llm.model</c>, <c>llm.temperature</c>, <c>llm.maxTokens</c>. The session's own
/// <c>llm</c> wins field by field; a session that names another provider takes nothing from the world,
/// since the world's model belongs to the world's provider. Unparsable numbers are ignored.
/// </summary>
public static class WorldLlmDefaults
{
    public static LlmSettings? Apply(LlmSettings? requested, IReadOnlyDictionary<string, string>? metadata)
    {
        if (metadata is null || !metadata.TryGetValue("llm.provider", out var provider) || string.IsNullOrWhiteSpace(provider))
        {
            return requested;
        }

        provider = provider.Trim().ToLowerInvariant();
        if (!string.IsNullOrWhiteSpace(requested?.Provider) && !string.Equals(requested.Provider.Trim(), provider, StringComparison.OrdinalIgnoreCase))
        {
            return requested;
        }

        return new LlmSettings
        {
            Provider = provider,
            Model = requested?.Model ?? Text(metadata, "llm.model"),
            Temperature = requested?.Temperature ?? (double.TryParse(Text(metadata, "llm.temperature"), NumberStyles.Float, CultureInfo.InvariantCulture, out var t) ? t : null),
            MaxTokens = requested?.MaxTokens ?? (int.TryParse(Text(metadata, "llm.maxTokens"), NumberStyles.Integer, CultureInfo.InvariantCulture, out var m) ? m : null),
        };
    }

    private static string? Text(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var value) && !string.IsNullOrWhiteSpace(value) ? value.Trim() : null;
}
