using Loom.Memory;
using Loom.Text;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Loom.Benchmarks;

/// <summary>A deterministic 10,000-entity memory of mixed types with story-like content, and the queries run against it.</summary>
internal static class MemoryCorpus
{
    private static readonly string[] Given =
    [
        "Mira", "Tomas", "Ada", "Brannock", "Celeste", "Dorian", "Edda", "Fenwick", "Greta", "Hollis", "Ilse", "Jory",
        "Katrin", "Lucan", "Maud", "Nils", "Oona", "Piet", "Quill", "Rosalind", "Sable", "Teodor", "Ulla", "Vesna",
    ];
    private static readonly string[] Family = ["Vance", "Holt", "Marsh", "Reyes", "Crane", "Dunmore", "Ashby", "Kell", "Morrow", "Quade"];
    private static readonly string[] Words =
    [
        "harbor", "lantern", "storm", "ledger", "smuggler", "salt", "bell", "crypt", "tide", "compass", "debt", "letter",
        "ship", "guild", "knife", "map", "crown", "secret", "promise", "fog", "rope", "market", "chapel", "oath",
        "gold", "ash", "raven", "eel", "bridge", "key", "vault", "widow", "captain", "fever", "wreck", "lighthouse",
    ];

    public static MemoryOptions Options { get; } = new();

    public static WorldMemory Build(int count = 10_000)
    {
        var memory = WorldMemory.Create(Options, TiktokenCounter.Instance, new HashingEmbeddingGenerator(Options.EmbeddingDimensions));
        const int perTurn = 20;
        for (var start = 0; start < count; start += perTurn)
        {
            var ops = Enumerable.Range(start, Math.Min(perTurn, count - start)).Select(Entity).ToList();
            memory.Apply(ops, start / perTurn + 1);
        }
        memory.RefreshEmbeddingsAsync().GetAwaiter().GetResult();
        memory.TakeDirtyShards();
        return memory;
    }

    public static MemoryOp Entity(int i)
    {
        var type = (EntityType)(i % 7); // no summaries in the bulk
        var name = type == EntityType.Character
            ? $"{Given[i % Given.Length]} {Family[(i / Given.Length) % Family.Length]} {i}"
            : $"{Word(i, 1)} {Word(i, 2)} {i}";
        return new MemoryOp
        {
            Op = "upsert",
            Type = type,
            Name = name,
            Content = Sentence(i),
            Attributes = new Dictionary<string, string> { ["mood"] = Word(i, 3), ["located_at"] = $"{Word(i, 4)} {Word(i, 5)}" },
        };
    }

    public static string Sentence(int i) =>
        $"The {Word(i, 6)} of the {Word(i, 7)} was found near the {Word(i, 8)} after the {Word(i, 9)}; " +
        $"{Given[(i * 7) % Given.Length]} swore an {Word(i, 10)} about the {Word(i, 11)} and the {Word(i, 12)}, " +
        $"and nobody has seen the {Word(i, 13)} since the {Word(i, 14)} of turn {i % 500}.";

    private static string Word(int i, int salt) => Words[(int)((uint)(i * 2654435761u + salt * 40503u) >> 7) % Words.Length];

    public static readonly string[] Queries =
    [
        "Where did Mira Vance hide the ledger?", "the storm wrecked the ship near the lighthouse", "who owes the guild a debt",
        "raven and the crypt key", "I ask Tomas Holt about the smuggler's oath", "what happened at the market bridge",
        "the captain's fever and the widow's letter", "salt, rope and a lantern in the fog",
    ];

    public const string RecentStory =
        "Mira Vance leaned on the rail of the harbor as the fog rolled in. Tomas Holt counted the salt barrels twice " +
        "and swore under his breath about the guild. Far off, the lighthouse bell rang three times, and Ada Marsh " +
        "said that meant a ship was lost. The lantern sputtered. Somewhere a raven cried over the chapel roof.";

    private static readonly Lazy<Serializer> SerializerInstance = new(() =>
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    public static Serializer Serializer => SerializerInstance.Value;
}
