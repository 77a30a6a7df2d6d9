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

        if (options.MaxTokensLimit is < 1 or > 1_000_000)
        {
            errors.Add("Loom:Llm:MaxTokensLimit must be 1..1000000.");
        }
        else if (options.MaxTokens > options.MaxTokensLimit)
        {
            errors.Add($"Loom:Llm:MaxTokens ({options.MaxTokens}) must not exceed Loom:Llm:MaxTokensLimit ({options.MaxTokensLimit}).");
        }

        if (options.RequestTimeout <= TimeSpan.Zero || options.RequestTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add("Loom:Llm:RequestTimeout must be more than 0 and at most 00:10:00.");
        }

        if (options.Offline.ChunkDelayMs is < 0 or > 5000)
        {
            errors.Add("Loom:Llm:Offline:ChunkDelayMs must be between 0 and 5000.");
        }

        CheckResilience(errors, options);
        foreach (var (provider, models) in options.Pricing)
        {
            if (!LlmProviders.IsSupported(provider))
            {
                errors.Add($"Loom:Llm:Pricing:{provider} is not a supported provider; use one of: {supported}.");
            }

            foreach (var (model, price) in models)
            {
                if (price.Input < 0 || price.Output < 0 || price.CachedInput < 0)
                {
                    errors.Add($"Loom:Llm:Pricing:{provider}:{model} prices must not be negative.");
                }
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void CheckResilience(List<string> errors, LlmOptions options)
    {
        var r = options.Resilience;
        foreach (var fallback in r.Fallbacks)
        {
            if (!LlmProviders.IsSupported(fallback))
            {
                errors.Add($"Loom:Llm:Resilience:Fallbacks names '{fallback}', which is not a supported provider.");
            }
            else if (options.Resolve(fallback) is null)
            {
                errors.Add($"Loom:Llm:Resilience:Fallbacks names '{fallback}', which is not configured (Loom:Llm:Providers:{fallback}).");
            }
        }

        if (r.MaxRetries is < 0 or > 10) errors.Add("Loom:Llm:Resilience:MaxRetries must be between 0 and 10.");
        if (r.RetryBaseDelay < TimeSpan.Zero || r.RetryBaseDelay > TimeSpan.FromMinutes(1)) errors.Add("Loom:Llm:Resilience:RetryBaseDelay must be between 0 and 00:01:00.");
        if (r.MaxRetryAfter < TimeSpan.Zero || r.MaxRetryAfter > TimeSpan.FromMinutes(10)) errors.Add("Loom:Llm:Resilience:MaxRetryAfter must be between 0 and 00:10:00.");
        if (r.AttemptTimeout < TimeSpan.FromMilliseconds(10) || r.AttemptTimeout > TimeSpan.FromMinutes(10)) errors.Add("Loom:Llm:Resilience:AttemptTimeout must be between 00:00:00.010 and 00:10:00.");
        if (r.BreakerFailureRatio is <= 0 or > 1) errors.Add("Loom:Llm:Resilience:BreakerFailureRatio must be more than 0 and at most 1.");
        if (r.BreakerMinimumThroughput < 2) errors.Add("Loom:Llm:Resilience:BreakerMinimumThroughput must be at least 2.");
        if (r.BreakerSamplingDuration < TimeSpan.FromMilliseconds(500)) errors.Add("Loom:Llm:Resilience:BreakerSamplingDuration must be at least 00:00:00.5.");
        if (r.BreakerBreakDuration < TimeSpan.FromMilliseconds(500)) errors.Add("Loom:Llm:Resilience:BreakerBreakDuration must be at least 00:00:00.5.");
        if (r.MaxConcurrency < 1) errors.Add("Loom:Llm:Resilience:MaxConcurrency must be at least 1.");
        if (r.QueueLimit < 0) errors.Add("Loom:Llm:Resilience:QueueLimit must not be negative.");
        if (r.OverloadRetryDelay < TimeSpan.FromMilliseconds(10) || r.OverloadRetryDelay > TimeSpan.FromMinutes(5)) errors.Add("Loom:Llm:Resilience:OverloadRetryDelay must be between 00:00:00.010 and 00:05:00.");
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
