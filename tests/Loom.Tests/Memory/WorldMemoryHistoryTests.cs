using Loom.Errors;
using Loom.Memory;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class WorldMemoryHistoryTests
{
    /// <summary>A timeline with creates, updates, touches, deletes and re-creates across several entities.</summary>
    private static List<MemoryOp> TurnOps(int seq)
    {
        var ops = new List<MemoryOp>
        {
            Upsert(EntityType.Character, $"Person {seq % 7}", $"seen on turn {seq}", ("mood", seq % 2 == 0 ? "calm" : "")),
            Upsert(EntityType.Location, $"Place {seq % 5}", seq % 3 == 0 ? $"changed on {seq}" : null),
        };
        if (seq % 4 == 0) ops.Add(Delete($"character:person-{(seq + 3) % 7}"));
        if (seq % 6 == 0) ops.Add(Upsert(EntityType.Fact, $"Fact {seq}", $"planted on {seq}", ("importance", "0.9")));
        if (seq % 9 == 0) ops.Add(Delete($"fact:fact-{seq - 3}"));
        return ops;
    }

    private static async Task<WorldMemory> Play(int from, int to, WorldMemory? memory = null, MemoryOptions? options = null)
    {
        memory ??= NewMemory(options);
        for (var seq = from; seq <= to; seq++) memory.Apply(TurnOps(seq), seq);
        await memory.RefreshEmbeddingsAsync();
        return memory;
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(17)]
    [InlineData(36)]
    [InlineData(59)]
    [InlineData(60)]
    public async Task Rollback_restores_exactly_the_memory_built_from_turns_up_to_k(int k)
    {
        var full = await Play(1, 60);
        full.RollbackTo(k);
        await full.RefreshEmbeddingsAsync();
        var replay = await Play(1, k);

        Assert.Equal(replay.Count, full.Count);
        Assert.Equal(Snapshot(replay), Snapshot(full));

        // And the timeline continues identically from there.
        await Play(k + 1, k + 10, full);
        await Play(k + 1, k + 10, replay);
        Assert.Equal(Snapshot(replay), Snapshot(full));
    }

    [Fact]
    public async Task Rollback_brings_deleted_entities_back_and_removes_later_ones_from_search()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Item, "Lantern", "a copper lantern with a cracked pane")], 1);
        memory.Apply([Delete("item:lantern"), Upsert(EntityType.Item, "Compass", "a brass compass that points to gold")], 2);
        Assert.Null(memory.Get("item:lantern"));

        memory.RollbackTo(1);
        Assert.NotNull(memory.Get("item:lantern"));
        Assert.Null(memory.Get("item:compass"));
        var hits = await memory.SearchAsync("brass compass", SearchMode.Hybrid, 5);
        Assert.DoesNotContain(hits, h => h.Entity.EntityId == "item:compass");
        Assert.Equal("item:lantern", (await memory.SearchAsync("copper lantern", SearchMode.Keyword, 5))[0].Entity.EntityId);
    }

    [Fact]
    public async Task History_is_compacted_past_the_window_and_rollback_below_the_floor_is_refused()
    {
        var options = Options(o => o.HistoryTurns = 20);
        var memory = await Play(1, 100, options: options);

        Assert.InRange(memory.FloorSeq, 70, 80);
        Assert.All(memory.All(), e => Assert.True(memory.History(e.EntityId).Count <= 20 + 10 + 1));
        var problem = Assert.Throws<LoomProblemException>(() => memory.RollbackTo(memory.FloorSeq - 1));
        Assert.Equal(409, problem.Status);

        // Above the floor rollback is still exact (entity values; histories legitimately differ in depth).
        memory.RollbackTo(90);
        var replay = await Play(1, 90);
        Assert.Equal(
            System.Text.Json.JsonSerializer.Serialize(replay.All()),
            System.Text.Json.JsonSerializer.Serialize(memory.All()));
    }

    [Fact]
    public void Several_changes_in_one_turn_leave_one_revision()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Fact, "Door", "locked")], 1);
        memory.Apply([Upsert(EntityType.Fact, "Door", "open")], 2);
        memory.Apply([Upsert(EntityType.Fact, "Door", "broken")], 2);
        var history = memory.History("fact:door");
        Assert.Equal([1, 2], history.Select(r => r.Seq));
        Assert.Equal("broken", history[^1].Value!.Content);
        Assert.Equal(3, history[^1].Value!.Version);
    }
}

/// <summary>Undoing an API edit whose write failed (<see cref="WorldMemory.Restore"/>).</summary>
public class WorldMemoryRestoreTests
{
    [Fact]
    public void Restoring_an_edit_keeps_a_later_turns_change_to_the_same_entity()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler")], 1);
        var before = memory.History("character:mira");

        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler turned informer")], 2); // the edit, at seq 2
        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler on the run")], 3);     // the next turn, while the edit is written
        memory.Restore("character:mira", before, keepAfterSeq: 2);

        Assert.Equal([1, 3], memory.History("character:mira").Select(r => r.Seq));
        Assert.Equal("a smuggler on the run", memory.Get("character:mira")!.Content);
    }

    [Fact]
    public void Restoring_an_edit_that_created_an_entity_removes_it_unless_a_later_turn_changed_it()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Item, "Brass key", "opens the sea gate")], 2);
        memory.Restore("item:brass-key", [], keepAfterSeq: 2);
        Assert.Null(memory.Get("item:brass-key"));
        Assert.Equal(0, memory.Count);

        memory.Apply([Upsert(EntityType.Item, "Lamp", "unlit")], 2);
        memory.Apply([Delete("item:lamp")], 3);
        memory.Restore("item:lamp", [], keepAfterSeq: 2);
        Assert.Empty(memory.History("item:lamp")); // a history never starts with a deletion
    }
}
