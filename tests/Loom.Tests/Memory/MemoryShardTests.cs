using Loom.Memory;
using Loom.Text;
using Microsoft.Extensions.AI;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class MemoryShardTests
{
    [Fact]
    public void Only_shards_touched_since_the_last_take_are_dirty()
    {
        var memory = NewMemory();
        memory.Apply(Enumerable.Range(0, 1000).Select(i => Upsert(EntityType.Fact, $"Fact {i}", $"content {i}")).ToList(), 1);
        var first = memory.TakeDirtyShards();
        Assert.Equal(64, first.Count);
        Assert.Equal(1000, first.Sum(s => s.Entities.Count));
        Assert.Empty(memory.TakeDirtyShards());

        memory.Apply([Upsert(EntityType.Fact, "Fact 42", "changed")], 2);
        var dirty = Assert.Single(memory.TakeDirtyShards());
        Assert.Equal(WorldMemory.ShardOf("fact:fact-42", 64), dirty.Index);
        Assert.Contains(dirty.Entities, e => e.EntityId == "fact:fact-42");
        Assert.InRange(dirty.Entities.Count, 1, 40); // one shard, not all 1,000 entities
    }

    [Fact]
    public void Shard_of_an_id_is_stable()
    {
        // Pinned values: a change here would scatter every stored memory over different shards.
        Assert.Equal(56, WorldMemory.ShardOf("character:mira", 64));
        Assert.Equal(13, WorldMemory.ShardOf("fact:fact-42", 64));
        Assert.Equal(37, WorldMemory.ShardOf("location:harbor", 64));
        var spread = Enumerable.Range(0, 6400).Select(i => WorldMemory.ShardOf($"fact:{i}", 64)).GroupBy(x => x).ToList();
        Assert.Equal(64, spread.Count);
        Assert.All(spread, g => Assert.InRange(g.Count(), 60, 140));
    }

    [Fact]
    public async Task Load_round_trip_through_the_storage_serializer_restores_memory_without_reembedding()
    {
        // A remote embedder's vectors are stored with the entities and reused after load.
        var memory = NewMemory(embedder: new RemoteEmbedder(new HashingEmbeddingGenerator()));
        for (var seq = 1; seq <= 30; seq++)
        {
            memory.Apply([Upsert(EntityType.Character, $"Sailor {seq % 9}", $"hauls rope on turn {seq}"),
                Upsert(EntityType.Fact, $"Tide {seq}", $"the tide was {(seq % 2 == 0 ? "high" : "low")} on day {seq}")], seq);
            if (seq % 10 == 0) memory.Apply([Delete($"fact:tide-{seq - 5}")], seq);
        }
        await memory.RefreshEmbeddingsAsync();
        var stored = memory.TakeDirtyShards().Select(RoundTrip).ToList();

        Assert.All(stored.SelectMany(s => s.Entities).Where(e => e.Revisions[^1].Value is not null),
            e => Assert.Equal(256 * sizeof(float), e.Vector?.Length));
        var counting = new CountingEmbedder(new RemoteEmbedder(new HashingEmbeddingGenerator()));
        var loaded = WorldMemory.Load(stored, new MemoryOptions(), TiktokenCounter.Instance, counting);

        Assert.False(loaded.HasDirtyShards);
        Assert.Equal(memory.Count, loaded.Count);
        Assert.Equal(Snapshot(memory), Snapshot(loaded));
        var expected = await memory.SearchAsync("high tide", SearchMode.Hybrid, 10);
        var actual = await loaded.SearchAsync("high tide", SearchMode.Hybrid, 10);
        Assert.Equal(expected.Select(e => (e.Entity.EntityId, e.Score)), actual.Select(e => (e.Entity.EntityId, e.Score)));
        Assert.Equal(1, counting.Texts); // only the query: stored vectors were reused
    }

    [Fact]
    public async Task The_built_in_embedder_s_vectors_are_not_stored_and_are_recomputed_after_load_without_new_writes()
    {
        var memory = NewMemory();
        for (var seq = 1; seq <= 10; seq++) memory.Apply([Upsert(EntityType.Fact, $"Tide {seq}", $"the tide was high on day {seq}")], seq);
        await memory.RefreshEmbeddingsAsync();
        var delta = memory.TakeChanges();
        var stored = memory.TakeDirtyShards().Select(RoundTrip).ToList();
        Assert.All(delta.Entities, e => Assert.Null(e.Vector));
        Assert.All(stored.SelectMany(s => s.Entities), e => Assert.Null(e.Vector));

        var counting = new CountingEmbedder(new HashingEmbeddingGenerator());
        var loaded = WorldMemory.Load(stored, new MemoryOptions(), TiktokenCounter.Instance, counting);
        // Every entity with the same score as before (ties may come back in another order).
        var expected = await memory.SearchAsync("high tide day 3", SearchMode.Vector, 10);
        var actual = await loaded.SearchAsync("high tide day 3", SearchMode.Vector, 10);
        Assert.Equal(10, actual.Count);
        Assert.Equal(expected.Select(e => (e.Entity.EntityId, e.Score)).Order(), actual.Select(e => (e.Entity.EntityId, e.Score)).Order());
        Assert.Equal(10 + 1, counting.Texts); // every entity re-embedded once, plus the query
        // Recomputing a vector is not a change: nothing to write after it.
        Assert.False(loaded.HasDirtyShards);
        Assert.Empty(loaded.TakeChanges().Entities);
    }

    [Fact]
    public async Task Vectors_from_another_embedder_are_recomputed_after_load()
    {
        var memory = NewMemory(embedder: new HashingEmbeddingGenerator(64));
        memory.Apply([Upsert(EntityType.Item, "Lantern", "copper"), Upsert(EntityType.Item, "Compass", "brass")], 1);
        await memory.RefreshEmbeddingsAsync();
        var counting = new CountingEmbedder(new HashingEmbeddingGenerator(128));
        var loaded = WorldMemory.Load(memory.TakeDirtyShards(), new MemoryOptions(), TiktokenCounter.Instance, counting);
        var hits = await loaded.SearchAsync("copper lantern", SearchMode.Vector, 1);
        Assert.Equal("item:lantern", hits[0].Entity.EntityId);
        Assert.Equal(3, counting.Texts);
    }

    [Fact]
    public void Load_with_a_different_shard_count_reshards_and_marks_everything_dirty()
    {
        var memory = NewMemory(Options(o => o.ShardCount = 8));
        memory.Apply(Enumerable.Range(0, 50).Select(i => Upsert(EntityType.Fact, $"F{i}", "x")).ToList(), 1);
        var loaded = WorldMemory.Load(memory.TakeDirtyShards(), Options(o => o.ShardCount = 16), TiktokenCounter.Instance, new HashingEmbeddingGenerator());
        var shards = loaded.TakeDirtyShards();
        Assert.Equal(16, shards.Count);
        Assert.Equal(50, shards.Sum(s => s.Entities.Count));
        Assert.All(shards, s => Assert.All(s.Entities, e => Assert.Equal(s.Index, WorldMemory.ShardOf(e.EntityId, 16))));
    }

    [Theory]
    [InlineData(0, 8)]
    [InlineData(10, 8)]   // compaction every turn or so: rows older than a compaction must load to the same history
    [InlineData(10, 50)]  // no snapshot at all in 40 turns: everything comes from deltas (patches on patches)
    public async Task Shards_plus_deltas_load_to_the_same_memory_whatever_the_write_pattern(int historyTurns, int snapshotEvery)
    {
        // Play 40 turns the way the session grain stores them: a delta per turn, a snapshot of the dirty shards every
        // 8 deltas (shards marked with the delta they include). After every turn, loading the stored rows (the old
        // deltas too, as after a crash before their deletion) must give back exactly the live memory.
        var options = Options(o => { o.ShardCount = 8; o.HistoryTurns = historyTurns; });
        var memory = NewMemory(options);
        var rows = new Dictionary<int, MemoryShard>();
        var deltas = new List<MemoryDelta>();
        long next = 0;
        for (var seq = 1; seq <= 40; seq++)
        {
            memory.Apply([Upsert(EntityType.Character, $"Sailor {seq % 7}", $"hauls rope on turn {seq}"),
                Upsert(EntityType.Fact, $"Tide {seq}", $"the tide on day {seq}")], seq);
            if (seq % 6 == 0) memory.Apply([Delete($"fact:tide-{seq - 3}")], seq);
            if (seq % 13 == 0 && seq - 2 >= memory.FloorSeq) memory.RollbackTo(seq - 2); // removes entities created since: deltas must say so
            await memory.RefreshEmbeddingsAsync();
            if (seq % snapshotEvery == 0)
            {
                foreach (var shard in memory.TakeDirtyShards())
                {
                    shard.ThroughDelta = next;
                    rows[shard.Index] = RoundTrip(shard);
                }
            }
            else
            {
                var delta = memory.TakeChanges();
                delta.Number = next++;
                deltas.Add(RoundTrip(delta));
            }
            Assert.False(memory.HasChanges);
            var loaded = WorldMemory.Load(rows.Values, options, TiktokenCounter.Instance, new HashingEmbeddingGenerator(), deltas);
            // Compared as JSON: the binary form also records which strings happen to be shared instances.
            Assert.Equal(Picture(memory), Picture(loaded));
            Assert.False(loaded.HasChanges);
        }
    }

    [Fact]
    public void A_snapshot_after_a_reload_keeps_what_only_the_deleted_deltas_held()
    {
        // The store's protocol across a restart: changes go to deltas; a reload rebuilds memory from rows plus deltas;
        // the next snapshot writes the dirty shards and deletes every delta before it. What only a delta held, in a
        // shard no turn after the reload touched, must be in that snapshot, and so must a removal only a delta held.
        var options = Options(o => o.ShardCount = 8);
        var memory = NewMemory(options);
        memory.Apply([Upsert(EntityType.Fact, "Gone", "removed after the first snapshot")], 1);
        var rows = memory.TakeDirtyShards().Select(shard => RoundTrip(shard)).ToDictionary(shard => shard.Index);
        var deltas = new List<MemoryDelta>();
        long next = 0;
        void Delta()
        {
            var delta = memory.TakeChanges();
            delta.Number = next++;
            deltas.Add(RoundTrip(delta));
        }
        memory.Apply([Upsert(EntityType.Fact, "Alpha", "only in a delta")], 2);
        memory.Apply([Delete("fact:gone")], 2);
        Delta();

        memory = WorldMemory.Load(rows.Values, options, TiktokenCounter.Instance, new HashingEmbeddingGenerator(), deltas); // restart
        var other = Enumerable.Range(0, 64).Select(i => $"Beta {i}").First(name =>
            WorldMemory.ShardOf($"fact:{name.ToLowerInvariant().Replace(' ', '-')}", 8) is var shard &&
            shard != WorldMemory.ShardOf("fact:alpha", 8) && shard != WorldMemory.ShardOf("fact:gone", 8));
        memory.Apply([Upsert(EntityType.Fact, other, "in another shard")], 3);
        foreach (var shard in memory.TakeDirtyShards())
        {
            shard.ThroughDelta = next;
            rows[shard.Index] = RoundTrip(shard);
        }
        deltas.Clear(); // the snapshot's unit deletes the deltas it covers

        var reloaded = WorldMemory.Load(rows.Values, options, TiktokenCounter.Instance, new HashingEmbeddingGenerator(), deltas);
        Assert.Equal("only in a delta", reloaded.Get("fact:alpha")?.Content);
        Assert.Null(reloaded.Get("fact:gone"));
        Assert.Equal(Picture(memory), Picture(reloaded));
    }

    [Fact]
    public void A_delta_carries_only_the_revisions_storage_does_not_have()
    {
        var memory = NewMemory();
        for (var seq = 1; seq <= 50; seq++) memory.Apply([Upsert(EntityType.Character, "Mira", $"on turn {seq} Mira did thing {seq}")], seq);
        Assert.Equal(50, memory.TakeChanges().Entities.Single().Revisions.Count); // never stored: the whole history

        memory.Apply([Upsert(EntityType.Character, "Mira", "turn 51")], 51);
        var patch = memory.TakeChanges().Entities.Single();
        Assert.Equal(50, patch.KeepThroughSeq);
        Assert.Equal([51], patch.Revisions.Select(r => r.Seq));

        memory.Apply([Upsert(EntityType.Character, "Mira", "turn 51, edited again")], 51); // replaces the stored revision 51
        Assert.Equal("50: 51", Patch(memory.TakeChanges()));
        memory.RollbackTo(40);
        Assert.Equal("40: ", Patch(memory.TakeChanges()));

        static string Patch(MemoryDelta delta) =>
            $"{delta.Entities.Single().KeepThroughSeq}: {string.Join(",", delta.Entities.Single().Revisions.Select(r => r.Seq))}";
    }

    [Fact]
    public void A_turn_delta_holds_only_what_the_turn_changed()
    {
        var memory = NewMemory();
        memory.Apply(Enumerable.Range(0, 1000).Select(i => Upsert(EntityType.Fact, $"Fact {i}", $"content {i}")).ToList(), 1);
        memory.TakeDirtyShards();
        Assert.False(memory.HasChanges);

        memory.Apply([Upsert(EntityType.Fact, "Fact 42", "changed"), Delete("fact:fact-7")], 2);
        var delta = memory.TakeChanges();
        Assert.Equal(["fact:fact-42", "fact:fact-7"], delta.Entities.Select(e => e.EntityId));
        Assert.Empty(memory.TakeChanges().Entities);
        Assert.True(memory.HasDirtyShards); // the next snapshot still rewrites those shards

        memory.MarkChanged(delta); // e.g. the write failed
        Assert.Equal(2, memory.TakeChanges().Entities.Count);
    }

    private static string Picture(WorldMemory memory) =>
        System.Text.Json.JsonSerializer.Serialize(memory.AllShards().Select(s => new { s.Index, s.FloorSeq, s.EmbeddingModel, s.Entities }));

    /// <summary>Reports itself as another provider, as a configured remote embedder would.</summary>
    private sealed class RemoteEmbedder(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        private static readonly EmbeddingGeneratorMetadata Metadata = new("test-remote", null, "remote-256", 256);

        public override object? GetService(Type serviceType, object? serviceKey = null) =>
            serviceType == typeof(EmbeddingGeneratorMetadata) ? Metadata : base.GetService(serviceType, serviceKey);
    }

    private sealed class CountingEmbedder(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
    {
        public int Texts { get; private set; }

        public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values,
            EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var list = values.ToList();
            Texts += list.Count;
            return base.GenerateAsync(list, options, cancellationToken);
        }
    }
}
