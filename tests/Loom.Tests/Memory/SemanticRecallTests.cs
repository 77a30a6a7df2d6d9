using Loom.Memory;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

/// <summary>
/// Facts asked about in other words (descriptions instead of names, synonyms): the local model finds them by meaning,
/// the hashing embedder only by shared spelling. Vector search alone, top hit, the same memory for both embedders.
/// </summary>
public sealed class SemanticRecallTests(ITestOutputHelper output)
{
    private static readonly (EntityType Type, string Name, string Content)[] Facts =
    [
        (EntityType.Item, "Mira's silver key", "A small silver key Mira wears on a cord; it opens the customs strongroom."),
        (EntityType.Character, "Tomas", "The miller at the river mill; he grinds barley and distrusts strangers."),
        (EntityType.Location, "Old Lighthouse", "A tower on the north rocks whose lamp has been dark for years."),
        (EntityType.Fact, "The dawn ferry", "The only boat to the mainland leaves at first light."),
        (EntityType.Character, "Celeste", "A physician who treats the fishermen's wounds for free."),
        (EntityType.Item, "Brass compass", "An instrument for finding north, its needle always trembling."),
        (EntityType.Event, "The great storm", "Last winter a hurricane sank half of the fishing fleet."),
        (EntityType.Location, "Gull Market", "Stalls where traders sell eels, herring and crabs each morning."),
    ];

    private static readonly (string Query, string Expected)[] Paraphrases =
    [
        ("the harbour girl's key", "Mira's silver key"),
        ("who turns grain into flour?", "Tomas"),
        ("the abandoned beacon", "Old Lighthouse"),
        ("when does the ship to the continent depart?", "The dawn ferry"),
        ("a doctor who heals sailors", "Celeste"),
        ("a device for navigation", "Brass compass"),
        ("the tempest that destroyed the boats", "The great storm"),
        ("where can I buy fish?", "Gull Market"),
    ];

    private static async Task<(int Found, List<string> Missed)> RecallAsync(IEmbeddingGenerator<string, Embedding<float>> embedder)
    {
        var memory = NewMemory(embedder: embedder);
        memory.Apply([.. Facts.Select(f => Upsert(f.Type, f.Name, f.Content))], 1);
        await memory.RefreshEmbeddingsAsync();
        var missed = new List<string>();
        foreach (var (query, expected) in Paraphrases)
        {
            var top = (await memory.SearchAsync(query, SearchMode.Vector, 1)).FirstOrDefault()?.Entity.Name;
            if (top != expected) missed.Add($"'{query}' → {top ?? "nothing"} (wanted {expected})");
        }
        return (Paraphrases.Length - missed.Count, missed);
    }

    [Fact]
    public async Task The_local_model_recalls_facts_asked_in_other_words_where_hashing_matches_spelling_only()
    {
        using var local = new LocalEmbeddingGenerator();
        var (localFound, localMissed) = await RecallAsync(local);
        var (hashingFound, _) = await RecallAsync(new HashingEmbeddingGenerator());
        output.WriteLine($"paraphrase recall (top hit): local {localFound}/{Paraphrases.Length}, hashing {hashingFound}/{Paraphrases.Length}");
        foreach (var miss in localMissed) output.WriteLine("local missed " + miss);

        Assert.True(localFound >= Paraphrases.Length - 1, string.Join("; ", localMissed));
        Assert.True(hashingFound <= Paraphrases.Length / 2, $"hashing found {hashingFound}: the paraphrases share too much spelling to tell");
    }

    [Fact]
    public async Task The_local_model_describes_itself_and_embeds_in_batches()
    {
        using var local = new LocalEmbeddingGenerator();
        var metadata = local.GetService<EmbeddingGeneratorMetadata>()!;
        Assert.Equal((LocalEmbeddingGenerator.ProviderName, LocalEmbeddingGenerator.ModelId, 384),
            (metadata.ProviderName, metadata.DefaultModelId, metadata.DefaultModelDimensions));
        var vectors = await local.GenerateAsync(["a silver key", "a key of silver", "a stormy sea"]);
        Assert.Equal(3, vectors.Count);
        Assert.All(vectors, v => Assert.Equal(384, v.Vector.Length));
        static float Cosine(Embedding<float> a, Embedding<float> b) =>
            System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(a.Vector.Span, b.Vector.Span);
        Assert.True(Cosine(vectors[0], vectors[1]) > Cosine(vectors[0], vectors[2]) + 0.2f);
        Assert.Empty(await local.GenerateAsync([]));
    }

    [Theory]
    [InlineData("hashing", null, true)]
    [InlineData("local", null, true)]
    [InlineData("openai", "text-embedding-3-small", true)]
    [InlineData("openai", null, false)]
    [InlineData("ollama", "", false)]
    [InlineData("word2vec", "x", false)]
    public void Embedder_settings_are_checked_at_start(string provider, string? model, bool valid)
    {
        var options = new MemoryOptions { Embedder = new EmbedderOptions { Provider = provider, Model = model } };
        Assert.Equal(valid, !options.Validate().Any());
    }
}
