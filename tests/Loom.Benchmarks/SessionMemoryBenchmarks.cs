using BenchmarkDotNet.Attributes;
using Loom.Memory;
using Loom.Text;
using Microsoft.Extensions.AI;

namespace Loom.Benchmarks;

/// <summary>
/// What a new session's memory costs: created, its first turn writes three entities (what the load scenarios' sessions
/// hold), embedded and taken for the commit. Most of the bytes are the indexes the session keeps while it is active
/// or idle, so the allocation column is close to what every such activation holds.
/// </summary>
[MemoryDiagnoser]
public class SessionMemoryBenchmarks
{
    private readonly IEmbeddingGenerator<string, Embedding<float>> _embedder = new HashingEmbeddingGenerator(MemoryCorpus.Options.EmbeddingDimensions);
    private readonly List<MemoryOp> _firstTurn = [.. Enumerable.Range(0, 3).Select(MemoryCorpus.Entity)];

    /// <summary>Returns how many entities the commit takes (3), so the work cannot be optimised away.</summary>
    [Benchmark]
    public async Task<int> NewSessionWithThreeEntities() => (await FirstTurnAsync()).Taken;

    private async Task<(WorldMemory Memory, int Taken)> FirstTurnAsync()
    {
        var memory = WorldMemory.Create(MemoryCorpus.Options, TiktokenCounter.Instance, _embedder);
        memory.Apply(_firstTurn, 1);
        await memory.RefreshEmbeddingsAsync();
        return (memory, memory.TakeChanges().Entities.Count);
    }

    /// <summary>Bytes of GC heap each of <paramref name="sessions"/> such memories keeps alive (full collections around).</summary>
    public static async Task<long> RetainedBytesAsync(int sessions)
    {
        var bench = new SessionMemoryBenchmarks();
        await bench.FirstTurnAsync(); // shared, lazily built state (tokenizer, term tables) is not a session's
        var kept = new WorldMemory[sessions];
        var before = GC.GetTotalMemory(forceFullCollection: true);
        for (var i = 0; i < sessions; i++) kept[i] = (await bench.FirstTurnAsync()).Memory;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        GC.KeepAlive(kept);
        return (after - before) / sessions;
    }
}
