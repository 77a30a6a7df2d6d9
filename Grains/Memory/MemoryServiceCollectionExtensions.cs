using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Loom.Memory;

public static class MemoryServiceCollectionExtensions
{
    /// <summary>
    /// Registers memory options (validated at start-up), the token counter, the rolling summarizer and the
    /// embedder <c>Loom:Memory:Embedder</c> names (<see cref="EmbedderFactory"/>). A host may register its own
    /// <see cref="IEmbeddingGenerator{TInput,TEmbedding}"/> first; TryAdd keeps it.
    /// </summary>
    public static IServiceCollection AddLoomMemory(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<MemoryOptions>().Bind(configuration.GetSection(MemoryOptions.SectionName)).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<MemoryOptions>, MemoryOptionsValidator>());
        services.TryAddSingleton<ITokenCounter>(CachedTokenCounter.Default);
        services.TryAddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(sp =>
            EmbedderFactory.Create(sp.GetRequiredService<IOptions<MemoryOptions>>().Value));
        services.TryAddSingleton(sp => new RollingSummarizer(sp.GetRequiredService<IOptions<MemoryOptions>>().Value));
        services.TryAddSingleton<WorldMemoryFactory>();
        return services;
    }
}

/// <summary>What a session grain injects to create or load its memory.</summary>
public sealed class WorldMemoryFactory(IOptions<MemoryOptions> options, ITokenCounter tokens,
    IEmbeddingGenerator<string, Embedding<float>> embedder)
{
    public MemoryOptions Options => options.Value;

    public WorldMemory Create() => WorldMemory.Create(options.Value, tokens, embedder);

    public WorldMemory Load(IEnumerable<MemoryShard> shards, IEnumerable<MemoryDelta>? deltas = null) =>
        WorldMemory.Load(shards, options.Value, tokens, embedder, deltas);
}
