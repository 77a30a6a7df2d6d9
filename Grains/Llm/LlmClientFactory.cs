using System.Collections.Concurrent;
using Loom.Errors;
using Loom.Llm.Anthropic;
using Loom.Llm.Offline;
using Loom.Llm.Ollama;
using Loom.Llm.OpenAi;
using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Loom.Llm;

/// <summary>
/// Builds provider clients lazily and keeps them for the process: the SDK clients pool HTTP connections
/// and are thread-safe, so one per provider serves every concurrent turn.
/// </summary>
internal sealed class LlmClientFactory(IOptions<LlmOptions> options, ITokenCounter tokenCounter, IServiceProvider services) : ILlmClientFactory, IDisposable
{
    private readonly LlmOptions _options = options.Value;
    private readonly ConcurrentDictionary<string, Lazy<IChatClient>> _clients = new(StringComparer.Ordinal);

    public string DefaultProvider => _options.Provider;

    public bool IsKnown(string provider) => IsImplemented(provider) && _options.Resolve(provider) is not null;

    public string DefaultModel(string provider) => ResolveOrThrow(provider).Model;

    public bool IsKnownModel(string provider, string model) => _options.Resolve(provider)?.Allows(model) == true;

    public IChatClient GetClient(string provider)
    {
        var settings = ResolveOrThrow(provider);
        return _clients.GetOrAdd(provider, _ => new Lazy<IChatClient>(() => Create(settings))).Value;
    }

    public void Dispose()
    {
        foreach (var client in _clients.Values.Where(c => c.IsValueCreated))
        {
            client.Value.Dispose();
        }
    }

    private LlmProviderSettings ResolveOrThrow(string provider)
    {
        if (!LlmProviders.IsSupported(provider))
        {
            throw Problems.Unprocessable("llm_provider_unknown",
                $"LLM provider '{provider}' is not supported; use one of: {string.Join(", ", LlmProviders.All)}.",
                new() { ["llm.provider"] = [$"Unknown provider '{provider}'."] });
        }

        if (!IsImplemented(provider) || _options.Resolve(provider) is not { } settings)
        {
            throw Problems.Unprocessable("llm_provider_unknown",
                $"LLM provider '{provider}' is not configured on this server (see Loom:Llm:Providers:{provider}).",
                new() { ["llm.provider"] = [$"Provider '{provider}' is not configured."] });
        }

        return settings;
    }

    private static bool IsImplemented(string provider) => LlmProviders.IsSupported(provider);

    /// <summary>The provider's client under the OpenTelemetry GenAI middleware (spans and token metrics, no content).</summary>
    private IChatClient Create(LlmProviderSettings settings)
    {
        IChatClient inner = settings.Provider switch
        {
            LlmProviders.Offline => new OfflineNarrator(tokenCounter, TimeSpan.FromMilliseconds(_options.Offline.ChunkDelayMs)),
            LlmProviders.OpenAi => new OpenAiChatClient(settings, _options.RequestTimeout),
            LlmProviders.Anthropic => AnthropicChatClientFactory.Create(settings, settings.Provider == _options.Provider ? _options.MaxTokens : null),
            LlmProviders.Ollama => OllamaChatClientFactory.Create(settings),
            _ => throw new InvalidOperationException($"No client for provider '{settings.Provider}'."),
        };
        var builder = new ChatClientBuilder(inner);
        if (_options.Cache.Enabled && settings.Provider != LlmProviders.Offline)
        {
            // Outermost: a hit never reaches the provider, so it is not a GenAI call either.
            var cache = services.GetRequiredService<Loom.Caching.LoomCache>();
            builder.Use(next => new LoomResponseCache(next, cache, _options.Cache, settings));
        }

        return builder
            .UseOpenTelemetry(sourceName: LlmTelemetry.SourceName, configure: telemetry => telemetry.EnableSensitiveData = false)
            .Use(next => new RawRepresentationRelease(next)) // below the telemetry, which keeps every update until the end
            .Build();
    }
}
