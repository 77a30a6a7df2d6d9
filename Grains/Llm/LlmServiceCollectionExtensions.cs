using Loom.Llm;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Microsoft.Extensions.DependencyInjection;

public static class LlmServiceCollectionExtensions
{
    /// <summary>
    /// Registers the narrator providers (<c>Loom:Llm</c>, validated at start-up), the client factory used by
    /// <c>LlmGrain</c>, the token counter and the prompt assembler (<c>Loom:Prompt</c>).
    /// </summary>
    public static IServiceCollection AddLoomLlm(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<LlmOptions>()
            .Bind(configuration.GetSection(LlmOptions.SectionName))
            .PostConfigure(options => ApplyEnvironmentKeys(options, configuration))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LlmOptions>, LlmOptionsValidator>());

        services.AddOptions<PromptOptions>()
            .Bind(configuration.GetSection(PromptOptions.SectionName))
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<PromptOptions>, PromptOptionsValidator>());

        services.TryAddSingleton<ITokenCounter>(CachedTokenCounter.Default);
        services.TryAddSingleton<ILlmClientFactory, LlmClientFactory>();
        services.TryAddSingleton<PromptAssembler>();
        services.TryAddSingleton<LlmStreamer>();
        services.AddMetrics();
        services.TryAddSingleton<LlmPricing>();
        services.TryAddSingleton<LlmRouterMetrics>();
        services.TryAddSingleton<LlmRouter>();
        services.AddLlmResiliencePipelines();
        return services;
    }

    /// <summary>
    /// OPENAI_API_KEY / ANTHROPIC_API_KEY fill in a missing key: for the default provider, for a configured
    /// provider entry, and otherwise as an implicit entry so per-session choices work with just the key set.
    /// </summary>
    private static void ApplyEnvironmentKeys(LlmOptions options, IConfiguration configuration)
    {
        foreach (var provider in LlmProviders.All)
        {
            if (LlmProviders.ApiKeyEnvironmentVariable(provider) is not { } variable)
            {
                continue;
            }

            var key = configuration[variable];
            if (string.IsNullOrWhiteSpace(key))
            {
                key = Environment.GetEnvironmentVariable(variable);
            }

            if (string.IsNullOrWhiteSpace(key))
            {
                continue;
            }

            if (provider == options.Provider)
            {
                if (string.IsNullOrWhiteSpace(options.ApiKey))
                {
                    options.ApiKey = key;
                }
            }
            else if (options.Providers.TryGetValue(provider, out var entry))
            {
                if (string.IsNullOrWhiteSpace(entry.ApiKey))
                {
                    entry.ApiKey = key;
                }
            }
            else
            {
                options.Providers[provider] = new LlmProviderOptions { ApiKey = key };
            }
        }
    }
}
