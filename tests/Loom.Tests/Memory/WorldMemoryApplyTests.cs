using Loom.Errors;
using Loom.Memory;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class WorldMemoryApplyTests
{
    [Fact]
    public void Upsert_creates_entity_with_deterministic_id_and_first_version()
    {
        var memory = NewMemory();
        var applied = memory.Apply([Upsert(EntityType.Character, "  Mira  Vance ", "a smuggler", ("mood", "wary"))], 3);

        var op = Assert.Single(applied);
        Assert.Equal("character:mira-vance", op.EntityId);
        var mira = memory.Get("character:mira-vance")!;
        Assert.Equal("Mira Vance", mira.Name);
        Assert.Equal("a smuggler", mira.Content);
        Assert.Equal("wary", mira.Attributes["mood"]);
        Assert.Equal((3, 3, 1), (mira.FirstSeq, mira.LastSeq, mira.Version));
        Assert.Equal(1, memory.Count);
    }

    [Theory]
    [InlineData(EntityType.Location, "The Salt Harbor!", "location:the-salt-harbor")]
    [InlineData(EntityType.Fact, "Crème brûlée", "fact:crème-brûlée")]
    [InlineData(EntityType.Character, "米拉", "character:米拉")]
    [InlineData(EntityType.Relationship, "Mira & Tomas", "relationship:mira-tomas")]
    public void Ids_are_derived_from_type_and_normalised_name(EntityType type, string name, string expected)
    {
        Assert.Equal(expected, EntityIds.For(type, name));
        Assert.True(EntityIds.TryParse(expected, out var parsed));
        Assert.Equal(type, parsed);
    }

    [Fact]
    public void Update_merges_attributes_bumps_version_and_keeps_first_seq()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler", ("mood", "wary"), ("ship", "Gull"))], 1);
        memory.Apply([Upsert(EntityType.Character, "mira", null, ("mood", "calm"), ("ship", ""), ("aliases", "The Fox, Vixen"))], 4);

        var mira = memory.Get("character:mira")!;
        Assert.Equal("a smuggler", mira.Content); // no content in the op keeps the old one
        Assert.Equal(new Dictionary<string, string> { ["mood"] = "calm" }, mira.Attributes);
        Assert.Equal(["The Fox", "Vixen"], mira.Aliases);
        Assert.Equal((1, 4, 2), (mira.FirstSeq, mira.LastSeq, mira.Version));
    }

    [Fact]
    public void Identical_upsert_in_the_same_turn_is_not_applied_and_in_a_later_turn_only_touches()
    {
        var memory = NewMemory();
        var op = Upsert(EntityType.Item, "Silver key", "small and cold");
        memory.Apply([op], 2);
        Assert.Empty(memory.Apply([op], 2));

        Assert.Single(memory.Apply([op], 5));
        var key = memory.Get("item:silver-key")!;
        Assert.Equal((5, 1), (key.LastSeq, key.Version));
    }

    [Fact]
    public void Importance_attribute_becomes_the_importance_field()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Item, "Crown", "iron", ("importance", "9")), Upsert(EntityType.Item, "Cup")], 1);
        Assert.Equal(0.9, memory.Get("item:crown")!.Importance);
        Assert.False(memory.Get("item:crown")!.Attributes.ContainsKey("importance"));
        Assert.Equal(WorldMemory.DefaultImportance(EntityType.Item), memory.Get("item:cup")!.Importance);
    }

    [Fact]
    public void Delete_removes_entity_and_unknown_delete_is_not_applied()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Location, "Harbor", "salt and tar")], 1);
        Assert.Single(memory.Apply([Delete("location:harbor")], 2));
        Assert.Null(memory.Get("location:harbor"));
        Assert.Equal(0, memory.Count);
        Assert.Empty(memory.Apply([Delete("location:harbor"), Delete("item:nothing")], 3));
    }

    [Fact]
    public void Recreated_entity_starts_a_new_life()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Character, "Tomas", "a guard")], 1);
        memory.Apply([Upsert(EntityType.Character, "Tomas", "a captain")], 2);
        memory.Apply([Delete("character:tomas")], 3);
        memory.Apply([Upsert(EntityType.Character, "Tomas", "a ghost")], 7);
        var tomas = memory.Get("character:tomas")!;
        Assert.Equal(("a ghost", 7, 1), (tomas.Content, tomas.FirstSeq, tomas.Version));
    }

    [Fact]
    public void One_invalid_op_rejects_the_whole_call_and_changes_nothing()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Character, "Mira", "a smuggler")], 1);
        memory.TakeDirtyShards();

        var problem = Assert.Throws<LoomProblemException>(() => memory.Apply(
        [
            Upsert(EntityType.Character, "Mira", "changed"),
            Upsert(EntityType.Fact, "???", "no letters in the name"),
            new MemoryOp { Op = "merge", Type = EntityType.Fact, Name = "x" },
            new MemoryOp { Op = "upsert", Type = EntityType.Fact, Name = "x", EntityId = "character:x" },
        ], 2));

        Assert.Equal(422, problem.Status);
        Assert.Equal(["ops[1]", "ops[2]", "ops[3]"], problem.Errors!.Keys.Order());
        Assert.Equal("a smuggler", memory.Get("character:mira")!.Content);
        Assert.False(memory.HasDirtyShards);
    }

    [Fact]
    public void Changes_for_an_older_turn_are_refused()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Fact, "Tide", "high at dusk")], 5);
        var problem = Assert.Throws<LoomProblemException>(() => memory.Apply([Upsert(EntityType.Fact, "Tide", "low")], 4));
        Assert.Equal(409, problem.Status);
        memory.Apply([Upsert(EntityType.Fact, "Moon", "full")], 5); // same turn again is fine (world edits)
        Assert.Equal(2, memory.Count);
    }

    [Fact]
    public void Oversized_content_is_a_clear_error()
    {
        var memory = NewMemory(Options(o => o.MaxContentChars = 100));
        var problem = Assert.Throws<LoomProblemException>(() => memory.Apply([Upsert(EntityType.Fact, "Long", new string('x', 101))], 1));
        Assert.Contains("longer than 100", problem.Errors!["ops[0]"][0]);
    }

    [Fact]
    public void List_filters_by_type_and_text_in_id_order_with_cursor()
    {
        var memory = NewMemory();
        memory.Apply(
        [
            Upsert(EntityType.Character, "Mira", "a smuggler of salt"),
            Upsert(EntityType.Character, "Tomas", "a harbor guard"),
            Upsert(EntityType.Location, "Harbor", "where the salt ships dock"),
            Upsert(EntityType.Character, "Ada", "a cartographer", ("aliases", "Saltmaker")),
        ], 1);

        Assert.Equal(["character:ada", "character:mira", "character:tomas"], memory.List(EntityType.Character, null, 50).Select(e => e.EntityId));
        Assert.Equal(["character:ada", "character:mira", "location:harbor"], memory.List(null, "SALT", 50).Select(e => e.EntityId));
        Assert.Equal(["character:mira"], memory.List(EntityType.Character, null, 1, "character:ada").Select(e => e.EntityId));
        Assert.Throws<LoomProblemException>(() => memory.List(null, null, 0));
        // A code point culture-aware search ignores (a soft hyphen, a zero-width joiner) matches nothing here, not everything.
        Assert.Empty(memory.List(null, "\u00AD", 50));
        Assert.Empty(memory.List(null, "\u200D", 50));
    }

    [Fact]
    public void Relations_come_from_attributes_and_relationship_entities()
    {
        var memory = NewMemory();
        memory.Apply(
        [
            Upsert(EntityType.Character, "Mira", "a smuggler", ("located_at", "Harbor"), ("owns", "Silver key, item:gull")),
            Upsert(EntityType.Location, "Harbor", "docks"),
            Upsert(EntityType.Item, "Silver key", "small"),
            Upsert(EntityType.Relationship, "Mira and Tomas", "old friends", ("from", "Tomas"), ("to", "character:mira"), ("kind", "knows")),
            Upsert(EntityType.Character, "Tomas", "a guard"),
        ], 1);

        Assert.Equal(
        [
            new MemoryRelation("character:mira", "located_at", "location:harbor"),
            new MemoryRelation("character:mira", "owns", "item:silver-key"),
            new MemoryRelation("character:tomas", "knows", "character:mira"),
        ], memory.Relations("character:mira"));

        memory.Apply([Delete("location:harbor")], 2);
        Assert.DoesNotContain(memory.Relations("character:mira"), r => r.Kind == "located_at");
    }
}
