using Microsoft.Extensions.AI;
using Microsoft.Extensions.Caching.Distributed;

namespace Loom.Llm;

/// <summary>
/// Microsoft.Extensions.AI's distributed response cache, keyed (by the library) on the full prompt — canon,
/// memory, history, input — and the chat options (model, temperature, max tokens), plus provider and endpoint
/// here, so different canon versions, memory or settings never share an entry. Hits are marked so the turn
/// is not charged again.
/// </summary>
internal sealed class LoomResponseCache : DistributedCachingChatClient
{
    public const string HitProperty = "loom.cache_hit";

    private readonly LlmCacheOptions _options;

    public LoomResponseCache(IChatClient inner, IDistributedCache cache, LlmCacheOptions options, LlmProviderSettings provider)
        : base(inner, cache)
    {
        _options = options;
        CacheKeyAdditionalValues = [provider.Provider, provider.Endpoint?.ToString() ?? "(default)"];
    }

    protected override bool EnableCaching(IEnumerable<ChatMessage> messages, ChatOptions? options) =>
        base.EnableCaching(messages, options) && (_options.AllowNonZeroTemperature || options?.Temperature is null or 0f);

    protected override async Task<ChatResponse?> ReadCacheAsync(string key, CancellationToken cancellationToken)
    {
        var response = await base.ReadCacheAsync(key, cancellationToken);
        if (response is not null)
        {
            (response.AdditionalProperties ??= [])[HitProperty] = true;
            foreach (var message in response.Messages)
            {
                (message.AdditionalProperties ??= [])[HitProperty] = true;
            }
        }

        return response;
    }

    protected override async Task<IReadOnlyList<ChatResponseUpdate>?> ReadCacheStreamingAsync(string key, CancellationToken cancellationToken)
    {
        var updates = await base.ReadCacheStreamingAsync(key, cancellationToken);
        if (updates is null)
        {
            return null;
        }

        foreach (var update in updates)
        {
            (update.AdditionalProperties ??= [])[HitProperty] = true;
        }

        return updates;
    }
}
