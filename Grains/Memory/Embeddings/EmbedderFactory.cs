using System.ClientModel;
using System.ClientModel.Primitives;
using Loom.Llm.Http;
using Loom.Llm.Ollama;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OpenAI;

namespace Loom.Memory;

/// <summary>The embedder <see cref="EmbedderOptions"/> names (options are validated at start-up before this runs).</summary>
public static class EmbedderFactory
{
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(30);

    public static IEmbeddingGenerator<string, Embedding<float>> Create(MemoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var embedder = options.Embedder;
        return embedder.Provider switch
        {
            EmbedderOptions.Local => new LocalEmbeddingGenerator(),
            EmbedderOptions.OpenAi => OpenAiCompatible(embedder),
            EmbedderOptions.Ollama => new OllamaApiClient(OllamaHttp(embedder.Endpoint ?? OllamaChatClientFactory.DefaultEndpoint), embedder.Model!),
            _ => new HashingEmbeddingGenerator(options.EmbeddingDimensions),
        };
    }

    private static IEmbeddingGenerator<string, Embedding<float>> OpenAiCompatible(EmbedderOptions embedder)
    {
        // A failing embedder only warns (memory.md): no SDK retries behind the turn's back.
        var client = new OpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(maxRetries: 0), NetworkTimeout = RequestTimeout };
        if (embedder.Endpoint is not null) client.Endpoint = embedder.Endpoint;
        return new OpenAIClient(new ApiKeyCredential(embedder.ApiKey ?? "no-key"), client).GetEmbeddingClient(embedder.Model!).AsIEmbeddingGenerator();
    }

    /// <summary>The narrator's HTTP client for a provider (pooled, connect timeout), bounded per request: an embedding call has
    /// no resilience layer above it to time it out.</summary>
    private static HttpClient OllamaHttp(Uri endpoint)
    {
        var http = ProviderHttpHandler.CreateClient(endpoint);
        http.Timeout = RequestTimeout;
        return http;
    }
}
