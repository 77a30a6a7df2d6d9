using System.IO.Hashing;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using Microsoft.Extensions.AI;

namespace Loom.Memory;

/// <summary>
/// The default embedder: local, deterministic, no network. Feature hashing of word unigrams, character
/// trigrams of words (so "lighthouse" is near "lighthouses") and CJK character unigrams and bigrams, each hashed
/// with a sign into a fixed number of buckets and L2-normalised. It captures lexical similarity, not meaning;
/// a configured OpenAI-compatible or Ollama embedder replaces it for semantic search.
/// </summary>
public sealed class HashingEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private const long WordSeed = 0x5EED_0001;
    private const long TrigramSeed = 0x5EED_0002;
    private const long CjkUnigramSeed = 0x5EED_0003;
    private const long CjkBigramSeed = 0x5EED_0004;
    private const float WordWeight = 1.0f;
    private const float TrigramWeight = 0.35f;
    private const float CjkUnigramWeight = 0.4f;
    private const float CjkBigramWeight = 1.0f;

    /// <summary>The provider name in this embedder's metadata.</summary>
    public const string ProviderName = "loom-hashing";

    private readonly int _dimensions;
    private readonly EmbeddingGeneratorMetadata _metadata;

    public HashingEmbeddingGenerator(int dimensions = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimensions, 16);
        _dimensions = dimensions;
        ModelId = $"loom-hashing-v1-{dimensions}";
        _metadata = new EmbeddingGeneratorMetadata(ProviderName, null, ModelId, dimensions);
    }

    public string ModelId { get; }

    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
        EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in values)
        {
            var vector = new float[_dimensions];
            Embed(value, vector);
            result.Add(new Embedding<float>(vector) { ModelId = ModelId });
        }
        return Task.FromResult(result);
    }

    /// <summary>Writes the unit vector of <paramref name="text"/> into <paramref name="vector"/> (zeros for no features).</summary>
    public void Embed(string? text, Span<float> vector)
    {
        vector.Clear();
        if (string.IsNullOrEmpty(text)) return;
        Span<char> buffer = stackalloc char[66];
        var i = 0;
        while (i < text.Length)
        {
            var c = text[i];
            if (TextAnalyzer.IsCjk(c))
            {
                Add(vector, MemoryMarshal.CreateReadOnlySpan(ref c, 1), CjkUnigramSeed, CjkUnigramWeight);
                if (i + 1 < text.Length && TextAnalyzer.IsCjk(text[i + 1]))
                    Add(vector, text.AsSpan(i, 2), CjkBigramSeed, CjkBigramWeight);
                i++;
            }
            else if (char.IsLetterOrDigit(c))
            {
                var start = i;
                while (i < text.Length && char.IsLetterOrDigit(text[i]) && !TextAnalyzer.IsCjk(text[i])) i++;
                var length = Math.Min(i - start, 64);
                var word = buffer.Slice(1, length);
                text.AsSpan(start, length).ToLowerInvariant(word);
                if (length < 2) continue;
                var lower = word.ToString();
                if (TextAnalyzer.IsStopWord(lower)) continue;
                var stem = TextAnalyzer.Stem(lower);
                Add(vector, stem, WordSeed, WordWeight);
                // Trigrams of "^word$" so shared stems and endings land near each other.
                buffer[0] = '^';
                buffer[length + 1] = '$';
                var marked = buffer[..(length + 2)];
                for (var k = 0; k + 3 <= marked.Length; k++) Add(vector, marked.Slice(k, 3), TrigramSeed, TrigramWeight);
            }
            else
            {
                i++;
            }
        }
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0) TensorPrimitives.Divide(vector, norm, vector);
    }

    private void Add(Span<float> vector, ReadOnlySpan<char> feature, long seed, float weight)
    {
        var hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(feature), seed);
        var bucket = (int)(hash % (ulong)_dimensions);
        vector[bucket] += (hash >> 63) == 0 ? weight : -weight;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
        : serviceKey is null && serviceType.IsInstanceOfType(this) ? this
        : null;

    public void Dispose()
    {
    }
}
