using Microsoft.Extensions.Options;

namespace Loom.Llm;

/// <summary>Start-up checks with messages that name the configuration keys to fix (never their secret values).</summary>
internal sealed class LlmOptionsValidator : IValidateOptions<LlmOptions>
{
    public ValidateOptionsResult Validate(string? name, LlmOptions options)
    {
        var errors = new List<string>();
        var supported = string.Join(", ", LlmProviders.All);

        if (!LlmProviders.IsSupported(options.Provider))
        {
            errors.Add($"Loom:Llm:Provider '{options.Provider}' is not supported; use one of: {supported}.");
        }
        else
        {
            CheckProvider(errors, options.Provider, "Loom:Llm",
                new LlmProviderOptions { Endpoint = options.Endpoint, ApiKey = options.ApiKey, Model = options.Model });
        }

        foreach (var (provider, entry) in options.Providers)
        {
            if (!LlmProviders.IsSupported(provider))
            {
                errors.Add($"Loom:Llm:Providers:{provider} is not a supported provider; use one of: {supported}.");
                continue;
            }

            if (provider != options.Provider)
            {
                CheckProvider(errors, provider, $"Loom:Llm:Providers:{provider}", entry);
            }
        }

        if (options.Temperature is < 0 or > 2)
        {
            errors.Add("Loom:Llm:Temperature must be between 0 and 2.");
        }

        if (options.MaxTokens is <= 0)
        {
            errors.Add("Loom:Llm:MaxTokens must be positive.");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("Loom:Llm:RequestTimeout must be more than 0 and at most 00:10:00.");
        }

        if (options.Offline.ChunkDelayMs is < 0 or > 5000)
        {
            errors.Add("Loom:Llm:Offline:ChunkDelayMs must be between 0 and 5000.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckProvider(List<string> errors, string provider, string prefix, LlmProviderOptions entry)
    {
        if (!string.IsNullOrWhiteSpace(entry.Endpoint)
            && (!Uri.TryCreate(entry.Endpoint, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)))
        {
            errors.Add($"{prefix}:Endpoint must be an absolute http(s) URL.");
        }

        if (LlmOptions.IsUsable(provider, entry))
        {
            return;
        }

        var envKey = LlmProviders.ApiKeyEnvironmentVariable(provider);
        errors.Add(provider == LlmProviders.OpenAi
            ? $"Provider 'openai' needs {prefix}:ApiKey (or the {envKey} environment variable), or {prefix}:Endpoint for a keyless OpenAI-compatible server."
            : $"Provider '{provider}' needs {prefix}:ApiKey (or the {envKey} environment variable).");
    }
}
