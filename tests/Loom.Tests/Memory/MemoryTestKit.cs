using Loom.Memory;
using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Serialization;

namespace Loom.Tests.Memory;

internal static class MemoryTestKit
{
    public static MemoryOptions Options(Action<MemoryOptions>? configure = null)
    {
        var options = new MemoryOptions();
        configure?.Invoke(options);
        return options;
    }

    public static WorldMemory NewMemory(MemoryOptions? options = null, IEmbeddingGenerator<string, Embedding<float>>? embedder = null) =>
        WorldMemory.Create(options ?? Options(), TiktokenCounter.Instance, embedder ?? new HashingEmbeddingGenerator());

    public static MemoryOp Upsert(EntityType type, string name, string? content = null, params (string Key, string Value)[] attributes) => new()
    {
        Op = "upsert",
        Type = type,
        Name = name,
        Content = content,
        Attributes = attributes.Length == 0 ? null : attributes.ToDictionary(a => a.Key, a => a.Value),
    };

    public static MemoryOp Delete(string entityId) => new() { Op = "delete", EntityId = entityId, Name = "" };

    private static readonly Lazy<Serializer> SerializerInstance = new(() =>
        new ServiceCollection().AddSerializer().BuildServiceProvider().GetRequiredService<Serializer>());

    /// <summary>Orleans' binary serializer: the one grain storage uses for memory shards.</summary>
    public static Serializer Serializer => SerializerInstance.Value;

    public static T RoundTrip<T>(T value) => Serializer.Deserialize<T>(Serializer.SerializeToArray(value))!;

    /// <summary>A byte-exact picture of memory: every shard with entities, histories and vectors.</summary>
    public static byte[] Snapshot(WorldMemory memory) => Serializer.SerializeToArray(memory.AllShards().ToList());
}
