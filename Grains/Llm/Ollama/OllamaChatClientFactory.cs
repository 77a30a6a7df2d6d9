using Loom.Llm.Http;
using Microsoft.Extensions.AI;
using OllamaSharp;

namespace Loom.Llm.Ollama;

/// <summary>The <c>ollama</c> provider through OllamaSharp (which implements <see cref="IChatClient"/>).</summary>
internal static class OllamaChatClientFactory
{
    public static readonly Uri DefaultEndpoint = new("http://127.0.0.1:11434/");

    public static IChatClient Create(LlmProviderSettings settings) =>
        new OllamaApiClient(ProviderHttpHandler.CreateClient(settings.Endpoint ?? DefaultEndpoint), settings.Model);
}
