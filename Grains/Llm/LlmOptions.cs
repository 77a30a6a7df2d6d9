namespace Loom.Llm;

/// <summary>
/// Narrator settings, section <c>Loom:Llm</c>. The top-level Endpoint/ApiKey/Model belong to the default
/// <see cref="Provider"/>; other providers (per-session choices, fallbacks) are configured under
/// <c>Loom:Llm:Providers:&lt;name&gt;</c>. Keys are secrets: nothing here is ever logged.
/// </summary>
public sealed class LlmOptions
{
    public const string SectionName = "Loom:Llm";

    /// <summary>offline | openai | anthropic | ollama.</summary>
    public string Provider { get; set; } = LlmProviders.Offline;

    /// <summary>Base URL of the provider API, e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1.</summary>
    public string? Endpoint { get; set; }

    /// <summary>Falls back to OPENAI_API_KEY / ANTHROPIC_API_KEY for those providers.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Defaults per provider (<see cref="LlmProviders.DefaultModel"/>).</summary>
    public string? Model { get; set; }

    /// <summary>Models sessions may choose for the default provider; empty = any model name.</summary>
    public List<string> Models { get; set; } = [];

    public double? Temperature { get; set; }

    public int? MaxTokens { get; set; }

    /// <summary>The most output tokens a session's turn asks for: a session's <c>llm.maxTokens</c> (or its world's) above
    /// it is lowered to it, so what one turn may cost is the operator's call, not the player's.</summary>
    public int MaxTokensLimit { get; set; } = 64_000;

    /// <summary>Longest wait for the provider's next piece of an answer (the first token, then each chunk).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(120);

    public OfflineNarratorOptions Offline { get; set; } = new();

    /// <summary>Fallback chain, retries, breaker and concurrency limits (<c>Loom:Llm:Resilience</c>).</summary>
    public LlmResilienceOptions Resilience { get; set; } = new();

    /// <summary>Optional response cache (<c>Loom:Llm:Cache</c>).</summary>
    public LlmCacheOptions Cache { get; set; } = new();

    /// <summary>USD per million tokens, <c>Loom:Llm:Pricing:&lt;provider&gt;:&lt;model&gt;</c> (model "*" = any other).</summary>
    public Dictionary<string, Dictionary<string, ModelPrice>> Pricing { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Settings of providers other than the default, keyed by provider name.</summary>
    public Dictionary<string, LlmProviderOptions> Providers { get; set; } = new(StringComparer.Ordinal);

    /// <summary>
    /// The effective settings of <paramref name="provider"/>, or null when it is unknown or not configured.
    /// The offline narrator is always available.
    /// </summary>
    public LlmProviderSettings? Resolve(string provider)
    {
        if (!LlmProviders.IsSupported(provider))
        {
            return null;
        }

        if (provider == LlmProviders.Offline)
        {
            var model = provider == Provider ? Model : Providers.GetValueOrDefault(provider)?.Model;
            return new LlmProviderSettings(provider, null, null, string.IsNullOrWhiteSpace(model) ? LlmProviders.OfflineModel : model)
            {
                // The built-in narrator has exactly one model.
                Models = [string.IsNullOrWhiteSpace(model) ? LlmProviders.OfflineModel : model],
            };
        }

        LlmProviderOptions? entry = provider == Provider
            ? new LlmProviderOptions { Endpoint = Endpoint, ApiKey = ApiKey, Model = Model, Models = Models }
            : Providers.GetValueOrDefault(provider);
        if (entry is null || !IsUsable(provider, entry))
        {
            return null;
        }

        return new LlmProviderSettings(
            provider,
            string.IsNullOrWhiteSpace(entry.Endpoint) ? null : new Uri(entry.Endpoint, UriKind.Absolute),
            string.IsNullOrWhiteSpace(entry.ApiKey) ? null : entry.ApiKey,
            string.IsNullOrWhiteSpace(entry.Model) ? LlmProviders.DefaultModel(provider) : entry.Model)
        {
            Models = entry.Models,
        };
    }

    /// <summary>Hosted APIs need a key; a keyless OpenAI-compatible server needs its endpoint; Ollama needs nothing.</summary>
    internal static bool IsUsable(string provider, LlmProviderOptions entry) => provider switch
    {
        LlmProviders.OpenAi => !string.IsNullOrWhiteSpace(entry.ApiKey) || !string.IsNullOrWhiteSpace(entry.Endpoint),
        LlmProviders.Anthropic => !string.IsNullOrWhiteSpace(entry.ApiKey),
        _ => true,
    };
}

/// <summary>One provider's connection settings under <c>Loom:Llm:Providers:&lt;name&gt;</c>.</summary>
public sealed class LlmProviderOptions
{
    public string? Endpoint { get; set; }
    public string? ApiKey { get; set; }
    public string? Model { get; set; }

    /// <summary>Models sessions may choose; empty = any model name (the provider decides).</summary>
    public List<string> Models { get; set; } = [];
}

/// <summary>Settings of the built-in narrator, <c>Loom:Llm:Offline</c>.</summary>
public sealed class OfflineNarratorOptions
{
    /// <summary>Pause between streamed chunks so people can see streaming in a demo (0 in tests).</summary>
    public int ChunkDelayMs { get; set; }
}

/// <summary>Resolved settings of one provider. <see cref="ToString"/> never shows the key.</summary>
public sealed record LlmProviderSettings(string Provider, Uri? Endpoint, string? ApiKey, string Model)
{
    /// <summary>Allowed model names; empty = any.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];

    /// <summary>True when sessions may use <paramref name="model"/> with this provider.</summary>
    public bool Allows(string model) =>
        Models.Count == 0 || model == Model || Models.Contains(model, StringComparer.Ordinal);

    public override string ToString() =>
        $"{Provider} model={Model} endpoint={Endpoint?.ToString() ?? "(default)"} key={(ApiKey is null ? "none" : "***")}";
}
