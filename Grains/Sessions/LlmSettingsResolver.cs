using Loom.Errors;
using Loom.Llm;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

/// <summary>Fills a session's narrator settings from configuration and refuses what could never run.</summary>
public sealed class LlmSettingsResolver(ILlmClientFactory factory, IOptions<LlmOptions> options) : ILlmSettingsResolver
{
    /// <summary>The most a session may name at all; <see cref="LlmOptions.MaxTokensLimit"/> then lowers it.</summary>
    private const int MaxTokensCeiling = 1_000_000;

    public LlmSettings Resolve(LlmSettings? requested)
    {
        var provider = string.IsNullOrWhiteSpace(requested?.Provider) ? factory.DefaultProvider : requested.Provider.Trim().ToLowerInvariant();
        if (!factory.IsKnown(provider))
        {
            throw Problems.Unprocessable("llm_provider_unknown",
                $"The narrator provider '{provider}' is unknown or not configured on this cluster.",
                new Dictionary<string, string[]> { ["llm.provider"] = [$"'{provider}' is not available."] });
        }
        if (requested?.Model is { } m && (m.Length is 0 or > 200 || m.Any(char.IsControl)))
        {
            throw Problems.Invalid("llm.model", "llm.model must be 1 to 200 printable characters.");
        }
        if (requested?.Temperature is { } t && (double.IsNaN(t) || t < 0 || t > 2))
        {
            throw Problems.Invalid("llm.temperature", "llm.temperature must be between 0 and 2.");
        }
        if (requested?.MaxTokens is { } max && (max < 1 || max > MaxTokensCeiling))
        {
            throw Problems.Invalid("llm.maxTokens", $"llm.maxTokens must be between 1 and {MaxTokensCeiling}.");
        }
        if (requested?.Model is { } wanted && !factory.IsKnownModel(provider, wanted.Trim()))
        {
            throw Problems.Unprocessable("llm_model_unknown",
                $"The model '{wanted.Trim()}' is not offered for provider '{provider}' on this cluster.",
                new Dictionary<string, string[]> { ["llm.model"] = [$"'{wanted.Trim()}' is not available for '{provider}'."] });
        }
        var defaults = options.Value;
        // Within range but past what this provider takes or the operator allows: lowered, not refused, because the
        // values may come from a world's metadata or an export made under other settings, not from the caller.
        var temperature = requested?.Temperature ?? (provider == defaults.Provider ? defaults.Temperature : null);
        var maxTokens = requested?.MaxTokens ?? (provider == defaults.Provider ? defaults.MaxTokens : null);
        return new LlmSettings
        {
            Provider = provider,
            Model = string.IsNullOrWhiteSpace(requested?.Model) ? factory.DefaultModel(provider) : requested.Model.Trim(),
            Temperature = LlmProviders.TemperatureFor(provider, temperature),
            MaxTokens = maxTokens is { } tokens ? Math.Min(tokens, defaults.MaxTokensLimit) : null,
        };
    }
}
