using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using OllamaSharp;
using OpenAI;

namespace Loom.Memory;

/// <summary>The embedder <see cref="EmbedderOptions"/> names (options are validated at start-up before this runs).</summary>
public static class EmbedderFactory
{
    private static readonly Uri OllamaDefault = new("http://127.0.0.1:11434/");

    public static IEmbeddingGenerator<string, Embedding<float>> Create(MemoryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var embedder = options.Embedder;
        return embedder.Provider switch
        {
            EmbedderOptions.Local => new LocalEmbeddingGenerator(),
            EmbedderOptions.OpenAi => OpenAiCompatible(embedder),
            EmbedderOptions.Ollama => new OllamaApiClient(new HttpClient { BaseAddress = embedder.Endpoint ?? OllamaDefault, Timeout = TimeSpan.FromSeconds(30) },
                embedder.Model!),
            _ => new HashingEmbeddingGenerator(options.EmbeddingDimensions),
        };
    }

    private static IEmbeddingGenerator<string, Embedding<float>> OpenAiCompatible(EmbedderOptions embedder)
    {
        // A failing embedder only warns (memory.md): no SDK retries behind the turn's back.
        var client = new OpenAIClientOptions { RetryPolicy = new ClientRetryPolicy(maxRetries: 0), NetworkTimeout = TimeSpan.FromSeconds(30) };
        if (embedder.Endpoint is not null) client.Endpoint = embedder.Endpoint;
        return new OpenAIClient(new ApiKeyCredential(embedder.ApiKey ?? "no-key"), client).GetEmbeddingClient(embedder.Model!).AsIEmbeddingGenerator();
    }
}
