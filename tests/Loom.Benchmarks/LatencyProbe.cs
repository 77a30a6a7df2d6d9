using System.Diagnostics;
using System.Globalization;
using Loom.Memory;
using Loom.Text;

namespace Loom.Benchmarks;

/// <summary>
/// Per-operation latency percentiles (BenchmarkDotNet reports per-iteration statistics, so its P95 is over
/// iteration means). Runs each operation many times after a warm-up and prints p50/p95/p99/max.
/// </summary>
internal static class LatencyProbe
{
    private static string? _only;

    public static async Task RunAsync(string? only = null)
    {
        _only = only;
        var build = Stopwatch.StartNew();
        var memory = MemoryCorpus.Build();
        Console.WriteLine($"built {memory.Count} entities in {build.ElapsedMilliseconds} ms");
        var ids = memory.All().Select(e => e.EntityId).ToArray();
        var queries = MemoryCorpus.Queries;
        var i = 0;

        Measure("get by id", 20_000, () => { memory.Get(ids[i++ % ids.Length]); return Task.CompletedTask; });
        Measure("keyword search", 2_000, () => memory.SearchAsync(queries[i++ % queries.Length], SearchMode.Keyword, 10));
        Measure("vector search", 2_000, () => memory.SearchAsync(queries[i++ % queries.Length], SearchMode.Vector, 10));
        Measure("hybrid search", 2_000, () => memory.SearchAsync(queries[i++ % queries.Length], SearchMode.Hybrid, 10));
        Measure("hybrid retrieval (2,000-token block)", 2_000, () => memory.RetrieveAsync(queries[i++ % queries.Length], MemoryCorpus.RecentStory, 2000));

        MeasureLoad(memory, "the 10k session as built: 1 revision per entity");

        var seq = memory.HeadSeq;
        var deltaEntities = new List<int>();
        var deltaBytes = new List<long>();
        Measure("store 100 entities (apply + embed + take delta)", 200, async () =>
        {
            seq++;
            memory.Apply(Updates(seq, count: 100), seq);
            await memory.RefreshEmbeddingsAsync();
            deltaEntities.Add(memory.TakeChanges().Entities.Count);
        });
        if (deltaEntities.Count > 0) Console.WriteLine($"  entities per 100-entity delta: {deltaEntities.Average():F1}");

        Measure("store 100 entities + serialize the delta", 100, async () =>
        {
            seq++;
            memory.Apply(Updates(seq, count: 100), seq);
            await memory.RefreshEmbeddingsAsync();
            deltaBytes.Add(MemoryCorpus.Serializer.SerializeToArray(memory.TakeChanges()).Length);
        });
        if (deltaBytes.Count > 0) Console.WriteLine($"  bytes serialized per 100-entity delta: {deltaBytes.Average() / 1024:F0} KiB");

        var turnBytes = new List<long>();
        Measure("typical turn: 5 entities + serialize the delta", 500, async () =>
        {
            seq++;
            memory.Apply(Updates(seq, count: 5), seq);
            await memory.RefreshEmbeddingsAsync();
            turnBytes.Add(MemoryCorpus.Serializer.SerializeToArray(memory.TakeChanges()).Length);
        });
        if (turnBytes.Count > 0) Console.WriteLine($"  bytes serialized per 5-entity turn: {turnBytes.Average() / 1024:F1} KiB (whole memory: " +
                          $"{memory.AllShards().Sum(s => (long)MemoryCorpus.Serializer.SerializeToArray(s).Length) / 1024} KiB)");

        var snapshotBytes = new List<long>();
        var every = MemoryCorpus.Options.DeltasPerSnapshot;
        Measure($"snapshot after {every} typical turns (serialize dirty shards)", 10, async () =>
        {
            for (var t = 0; t < every; t++)
            {
                seq++;
                memory.Apply(Updates(seq, count: 5), seq);
            }
            await memory.RefreshEmbeddingsAsync();
            snapshotBytes.Add(memory.TakeDirtyShards().Sum(s => (long)MemoryCorpus.Serializer.SerializeToArray(s).Length));
        });
        if (snapshotBytes.Count > 0) Console.WriteLine($"  bytes per snapshot of {every} turns: {snapshotBytes.Average() / 1024:F0} KiB ({snapshotBytes.Average() / every / 1024:F0} KiB per turn amortized)");

        MeasureLoad(memory, "after the store probes: ~4 revisions per entity");
    }

    /// <summary>
    /// New content for existing entities as turn <paramref name="seq"/> would write it: a block of 100 neighbours, or
    /// a handful spread over the whole memory like a typical turn.
    /// </summary>
    private static List<MemoryOp> Updates(int seq, int count) =>
        Enumerable.Range(0, count)
            .Select(k => MemoryCorpus.Entity(count >= 100 ? (seq * 100 + k) % 10_000 : (seq * 37 + k * 1999) % 10_000)
                with { Content = $"{MemoryCorpus.Sentence(seq + k)} ({seq})" })
            .ToList();

    /// <summary>Activation: rebuild from shard objects, and from the bytes storage holds (deserialize + rebuild).</summary>
    private static void MeasureLoad(WorldMemory memory, string what)
    {
        var shards = memory.AllShards().ToList();
        var bytes = shards.Select(s => MemoryCorpus.Serializer.SerializeToArray(s)).ToArray();
        Console.WriteLine($"  load, {what}: {bytes.Sum(b => (long)b.Length) / 1024} KiB stored");
        var embedder = new HashingEmbeddingGenerator(MemoryCorpus.Options.EmbeddingDimensions);
        Measure("load from shards (rebuild indexes)", 20, () =>
        {
            WorldMemory.Load(shards, MemoryCorpus.Options, TiktokenCounter.Instance, embedder);
            return Task.CompletedTask;
        });
        Measure("load from stored bytes (deserialize + rebuild)", 20, () =>
        {
            WorldMemory.Load(bytes.Select(b => MemoryCorpus.Serializer.Deserialize<MemoryShard>(b)), MemoryCorpus.Options, TiktokenCounter.Instance, embedder);
            return Task.CompletedTask;
        });
    }

    private static void Measure(string name, int count, Func<Task> operation)
    {
        if (_only is not null && !name.Contains(_only, StringComparison.OrdinalIgnoreCase)) return;
        for (var w = 0; w < Math.Min(count, 200); w++) operation().GetAwaiter().GetResult();
        var samples = new double[count];
        // Wall-clock percentiles suffer when other processes share the cores; process CPU time per operation does
        // not (it includes GC and any helper threads, so it is an upper bound of the operation's own CPU).
        var cpu = System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime;
        var gcPause = GC.GetTotalPauseDuration();
        var allocated = GC.GetTotalAllocatedBytes();
        for (var k = 0; k < count; k++)
        {
            var start = Stopwatch.GetTimestamp();
            operation().GetAwaiter().GetResult();
            samples[k] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        }
        var cpuPerOp = (System.Diagnostics.Process.GetCurrentProcess().TotalProcessorTime - cpu).TotalMilliseconds / count;
        var gcPerOp = (GC.GetTotalPauseDuration() - gcPause).TotalMilliseconds / count;
        var allocatedPerOp = (GC.GetTotalAllocatedBytes() - allocated) / 1024.0 / count;
        Array.Sort(samples);
        double P(double q) => samples[Math.Min(count - 1, (int)Math.Ceiling(q * count) - 1)];
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{name,-58} n={count,6}  mean {samples.Average(),8:F3} ms  p50 {P(0.5),8:F3} ms  p95 {P(0.95),8:F3} ms  p99 {P(0.99),8:F3} ms  max {samples[^1],8:F3} ms  cpu/op {cpuPerOp,8:F3} ms  gc pause/op {gcPerOp,6:F3} ms  alloc/op {allocatedPerOp,6:F0} KiB"));
    }
}
