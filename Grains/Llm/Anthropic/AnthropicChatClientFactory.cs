using Anthropic;
using Anthropic.Core;
using Loom.Llm.Http;
using Microsoft.Extensions.AI;

namespace Loom.Llm.Anthropic;

/// <summary>The <c>anthropic</c> provider: the official Anthropic SDK's <see cref="IChatClient"/>.</summary>
internal static class AnthropicChatClientFactory
{
    public static IChatClient Create(LlmProviderSettings settings, int? defaultMaxTokens)
    {
        var client = new AnthropicClient(new ClientOptions
        {
            ApiKey = settings.ApiKey ?? "",
            // SDK retries would hide attempts from LOOM's resilience layer and multiply them.
            MaxRetries = 0,
            HttpClient = ProviderHttpHandler.CreateClient(null),
            BaseUrl = settings.Endpoint?.ToString().TrimEnd('/') ?? "https://api.anthropic.com",
        });
        // Anthropic requires max_tokens on every request.
        return client.AsIChatClient(settings.Model, defaultMaxTokens ?? 1024);
    }
}
