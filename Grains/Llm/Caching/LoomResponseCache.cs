using System.Text.Json;
using Loom.Caching;
using Microsoft.Extensions.AI;

namespace Loom.Llm;

/// <summary>
/// Microsoft.Extensions.AI's caching client over LOOM's two cache tiers (<see cref="LoomCache"/>: in process, then
/// Redis shared by every silo). The key hashes the full prompt — canon, memory, history, input — and the chat options
/// (model, temperature, max tokens), plus provider and endpoint, so different canon versions, memory or settings never
/// share an entry. Hits are marked so the turn is not charged again.
/// </summary>
internal sealed class LoomResponseCache(IChatClient inner, LoomCache cache, LlmCacheOptions options, LlmProviderSettings provider)
    : CachingChatClient(inner)
{
    public const string HitProperty = "loom.cache_hit";

    private static readonly JsonSerializerOptions Json = AIJsonUtilities.DefaultOptions;

    private readonly string _provider = provider.Provider;
    private readonly string _endpoint = provider.Endpoint?.ToString() ?? "(default)";

    protected override bool EnableCaching(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions) =>
        // Only an answer asked for at temperature 0 is meant to repeat: no temperature means the provider's default (1.0
        // for OpenAI and Anthropic), a sampled answer like any other.
        base.EnableCaching(messages, chatOptions) && (options.AllowNonZeroTemperature || chatOptions?.Temperature is 0f);

    protected override string GetCacheKey(IEnumerable<ChatMessage> messages, ChatOptions? chatOptions, params ReadOnlySpan<object?> additionalValues) =>
        AIJsonUtilities.HashDataToString([messages, chatOptions, .. additionalValues, _provider, _endpoint], Json);

    protected override async Task<ChatResponse?> ReadCacheAsync(string key, CancellationToken cancellationToken)
    {
        if (await cache.TryGetAsync<byte[]>(CacheNames.Llm, "r:" + key, cancellationToken) is not { } bytes) return null;
        var response = JsonSerializer.Deserialize<ChatResponse>(bytes, Json);
        if (response is null) return null;
        (response.AdditionalProperties ??= [])[HitProperty] = true;
        foreach (var message in response.Messages)
        {
            (message.AdditionalProperties ??= [])[HitProperty] = true;
        }

        return response;
    }

    protected override async Task<IReadOnlyList<ChatResponseUpdate>?> ReadCacheStreamingAsync(string key, CancellationToken cancellationToken)
    {
        if (await cache.TryGetAsync<byte[]>(CacheNames.Llm, "s:" + key, cancellationToken) is not { } bytes) return null;
        var updates = JsonSerializer.Deserialize<List<ChatResponseUpdate>>(bytes, Json);
        if (updates is null) return null;
        foreach (var update in updates)
        {
            (update.AdditionalProperties ??= [])[HitProperty] = true;
        }

        return updates;
    }

    protected override Task WriteCacheAsync(string key, ChatResponse value, CancellationToken cancellationToken) =>
        cache.SetImmutableAsync(CacheNames.Llm, "r:" + key, JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken).AsTask();

    protected override Task WriteCacheStreamingAsync(string key, IReadOnlyList<ChatResponseUpdate> value, CancellationToken cancellationToken) =>
        cache.SetImmutableAsync(CacheNames.Llm, "s:" + key, JsonSerializer.SerializeToUtf8Bytes(value, Json), cancellationToken).AsTask();
}
