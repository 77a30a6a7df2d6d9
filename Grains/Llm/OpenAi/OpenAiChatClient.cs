using System.ClientModel;
using System.ClientModel.Primitives;
using System.Collections.Concurrent;
using Microsoft.Extensions.AI;
using OpenAI;

namespace Loom.Llm.OpenAi;

/// <summary>
/// Any OpenAI-compatible chat endpoint (OpenAI, DeepSeek, vLLM, LM Studio, llama.cpp) through
/// Microsoft.Extensions.AI.OpenAI. The OpenAI SDK binds a model per chat client, so this routes each call
/// to a cached client for <see cref="ChatOptions.ModelId"/>; sessions may use different models.
/// </summary>
internal sealed class OpenAiChatClient : IChatClient
{
    private readonly OpenAIClient _client;
    private readonly LlmProviderSettings _settings;
    private readonly ConcurrentDictionary<string, IChatClient> _byModel = new(StringComparer.Ordinal);

    public OpenAiChatClient(LlmProviderSettings settings, TimeSpan requestTimeout)
    {
        _settings = settings;
        var options = new OpenAIClientOptions
        {
            // Retries belong to LOOM's resilience layer, which knows the error taxonomy and the turn's state;
            // SDK retries underneath would multiply attempts and hide them from metrics.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = requestTimeout,
        };
        if (settings.Endpoint is not null)
        {
            options.Endpoint = settings.Endpoint;
        }

        // Keyless local servers still need a non-empty credential for the SDK; they ignore the header.
        _client = new OpenAIClient(new ApiKeyCredential(settings.ApiKey ?? "no-key"), options);
    }

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null,
        CancellationToken cancellationToken = default) =>
        ForModel(options).GetResponseAsync(messages, options, cancellationToken);

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages,
        ChatOptions? options = null, CancellationToken cancellationToken = default) =>
        ForModel(options).GetStreamingResponseAsync(messages, options, cancellationToken);

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        if (serviceKey is null && serviceType == typeof(ChatClientMetadata))
        {
            return new ChatClientMetadata(LlmProviders.OpenAi, _settings.Endpoint, _settings.Model);
        }

        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    public void Dispose()
    {
        foreach (var client in _byModel.Values)
        {
            client.Dispose();
        }
    }

    private IChatClient ForModel(ChatOptions? options)
    {
        var model = string.IsNullOrWhiteSpace(options?.ModelId) ? _settings.Model : options.ModelId;
        return _byModel.GetOrAdd(model, m => _client.GetChatClient(m).AsIChatClient());
    }
}
