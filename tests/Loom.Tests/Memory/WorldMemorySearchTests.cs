using Loom.Errors;
using Loom.Memory;
using Loom.Text;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class WorldMemorySearchTests
{
    private static WorldMemory Harbor()
    {
        var memory = NewMemory();
        memory.Apply(
        [
            Upsert(EntityType.Character, "Mira", "a smuggler who runs salt past the customs house", ("aliases", "The Fox")),
            Upsert(EntityType.Character, "Tomas", "a harbor guard who owes Mira a favour"),
            Upsert(EntityType.Location, "Lighthouse", "an old lighthouse on the northern cliffs, its lamp long dark"),
            Upsert(EntityType.Fact, "Silver key hiding place", "Mira hid the silver key under the third stair of the lighthouse"),
            Upsert(EntityType.Item, "Brass key", "a brass key that opens the customs house"),
            Upsert(EntityType.Item, "Iron key", "an iron key for the chapel crypt"),
            Upsert(EntityType.Event, "Storm", "a storm wrecked two fishing boats"),
            Upsert(EntityType.Plotline, "The missing ledger", "someone stole the harbor master's ledger"),
        ], 1);
        return memory;
    }

    [Fact]
    public async Task Keyword_search_ranks_the_entity_matching_the_most_telling_terms_first()
    {
        var hits = await Harbor().SearchAsync("Where is the silver key hidden?", SearchMode.Keyword, 3);
        Assert.Equal("fact:silver-key-hiding-place", hits[0].Entity.EntityId);
        Assert.True(hits[0].Score > hits[1].Score);
    }

    [Fact]
    public async Task Keyword_search_favours_a_rare_term_over_a_common_one()
    {
        // "key" is in three entities, "crypt" in one: BM25's idf should let the rare term decide.
        var hits = await Harbor().SearchAsync("key crypt", SearchMode.Keyword, 3);
        Assert.Equal("item:iron-key", hits[0].Entity.EntityId);
    }

    [Fact]
    public async Task A_term_found_in_one_entity_then_several_then_one_again_is_scored_for_exactly_those()
    {
        var memory = NewMemory();
        memory.Apply([Upsert(EntityType.Item, "Lantern", "a brass lantern")], 1);
        Assert.Equal(["item:lantern"], (await memory.SearchAsync("brass", SearchMode.Keyword, 5)).Select(h => h.Entity.EntityId));

        memory.Apply([Upsert(EntityType.Item, "Bell", "a brass bell"), Upsert(EntityType.Item, "Key", "a brass key")], 2);
        Assert.Equal(["item:bell", "item:key", "item:lantern"],
            (await memory.SearchAsync("brass", SearchMode.Keyword, 5)).Select(h => h.Entity.EntityId).Order());

        // Rewritten without the term, then deleted: each leaves the term's postings.
        memory.Apply([Upsert(EntityType.Item, "Lantern", "a tin lantern")], 3);
        memory.Apply([Delete("item:bell")], 4);
        Assert.Equal(["item:key"], (await memory.SearchAsync("brass", SearchMode.Keyword, 5)).Select(h => h.Entity.EntityId));
        Assert.Equal(["item:lantern"], (await memory.SearchAsync("tin", SearchMode.Keyword, 5)).Select(h => h.Entity.EntityId));

        memory.Apply([Upsert(EntityType.Item, "Key", "an iron key")], 5);
        Assert.Empty(await memory.SearchAsync("brass", SearchMode.Keyword, 5));

        // Rolled back, the story's memory is as it stood: the term is back where it was.
        memory.RollbackTo(2);
        Assert.Equal(["item:bell", "item:key", "item:lantern"],
            (await memory.SearchAsync("brass", SearchMode.Keyword, 5)).Select(h => h.Entity.EntityId).Order());
    }

    [Fact]
    public async Task An_entity_whose_indexed_text_is_longer_than_64K_characters_is_indexed_and_found()
    {
        // Content, attributes and the name twice make the indexed text; past 64K the reused builder is shrunk after use.
        var memory = NewMemory(Options(o => o.MaxContentChars = 80_000));
        var content = string.Join(' ', Enumerable.Repeat("tide", 15_000)) + " cormorant";
        memory.Apply([Upsert(EntityType.Fact, "Long tide", content)], 1);
        memory.Apply([Upsert(EntityType.Fact, "Short", "a cormorant on the pier")], 1);

        var hits = await memory.SearchAsync("cormorant", SearchMode.Keyword, 5);
        Assert.Equal(["fact:long-tide", "fact:short"], hits.Select(h => h.Entity.EntityId).Order());
    }

    [Fact]
    public async Task Keyword_search_finds_entities_named_by_alias()
    {
        var hits = await Harbor().SearchAsync("what does the fox want", SearchMode.Keyword, 1);
        Assert.Equal("character:mira", hits[0].Entity.EntityId);
    }

    [Fact]
    public async Task Vector_search_finds_near_spellings_that_keyword_search_misses()
    {
        var memory = Harbor();
        var keyword = await memory.SearchAsync("lighthouses", SearchMode.Keyword, 5);
        var vector = await memory.SearchAsync("lighthouses", SearchMode.Vector, 5);
        Assert.Equal("location:lighthouse", vector[0].Entity.EntityId);
        Assert.InRange(vector[0].Score, 0.1, 1.0);
        Assert.True(vector.Zip(vector.Skip(1)).All(p => p.First.Score >= p.Second.Score));
        Assert.Equal("location:lighthouse", keyword[0].Entity.EntityId); // plural folding in BM25 too
        Assert.Empty(await memory.SearchAsync("zzzqqq", SearchMode.Keyword, 5));
    }

    [Fact]
    public async Task Hybrid_search_puts_what_both_rankings_agree_on_first_and_keeps_either_sides_hits()
    {
        var memory = Harbor();
        var hybrid = await memory.SearchAsync("stolen ledger of the harbor master", SearchMode.Hybrid, 8);
        Assert.Equal("plotline:the-missing-ledger", hybrid[0].Entity.EntityId);
        var keyword = await memory.SearchAsync("stolen ledger of the harbor master", SearchMode.Keyword, 8);
        var vector = await memory.SearchAsync("stolen ledger of the harbor master", SearchMode.Vector, 8);
        var union = keyword.Select(k => k.Entity.EntityId).Union(vector.Select(v => v.Entity.EntityId)).ToHashSet();
        Assert.True(hybrid.All(h => union.Contains(h.Entity.EntityId)));
        Assert.Equal(Math.Min(8, union.Count), hybrid.Count);
    }

    [Fact]
    public async Task Search_rejects_bad_arguments()
    {
        var memory = Harbor();
        Assert.Equal(400, (await Assert.ThrowsAsync<LoomProblemException>(() => memory.SearchAsync(" ", SearchMode.Keyword, 5))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<LoomProblemException>(() => memory.SearchAsync("x", SearchMode.Keyword, 0))).Status);
        Assert.Equal(400, (await Assert.ThrowsAsync<LoomProblemException>(() => memory.SearchAsync("x", (SearchMode)9, 5))).Status);
    }

    [Fact]
    public async Task Retrieval_activates_entities_named_in_the_input_or_recent_story()
    {
        var retrieval = await Harbor().RetrieveAsync("I ask Tomas about the storm.", "The Fox slipped away into the fog.", 2000);
        Assert.Contains("character:tomas", retrieval.EntityIds);
        Assert.Contains("event:storm", retrieval.EntityIds);
        Assert.Contains("character:mira", retrieval.EntityIds); // by alias, from the story
        Assert.StartsWith("## World memory\n", retrieval.Block);
        Assert.Contains("### Characters\n- **Tomas**: a harbor guard", retrieval.Block);
    }

    [Fact]
    public async Task Retrieval_pulls_in_neighbours_of_named_entities()
    {
        var memory = NewMemory();
        memory.Apply(Enumerable.Range(0, 60).Select(i => Upsert(EntityType.Fact, $"Noise {i}", $"filler text number {i}")).ToList(), 1);
        memory.Apply([Upsert(EntityType.Character, "Odo", "a ferryman", ("knows", "Quill")), Upsert(EntityType.Character, "Quill", "a forger")], 2);
        var retrieval = await memory.RetrieveAsync("Odo waves.", "", 2000);
        Assert.Contains("character:quill", retrieval.EntityIds);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(40)]
    [InlineData(120)]
    [InlineData(500)]
    [InlineData(2000)]
    public async Task Retrieval_never_exceeds_the_token_budget(int budget)
    {
        var memory = NewMemory();
        memory.Apply(Enumerable.Range(0, 300).Select(i => Upsert((EntityType)(i % 8), $"Entity {i}",
            string.Join(' ', Enumerable.Repeat($"the lantern keeper {i} remembers the storm and the harbor", 1 + i % 6)),
            ("mood", "restless"), ("located_at", "Harbor"))).ToList(), 1);

        var retrieval = await memory.RetrieveAsync("the lantern keeper and the storm at the harbor", "Entity 7 and Entity 9 argued.", budget);

        Assert.True(retrieval.Tokens <= budget, $"{retrieval.Tokens} > {budget}");
        Assert.Equal(TiktokenCounter.Instance.Count(retrieval.Block), retrieval.Tokens);
        if (budget >= 120) Assert.NotEmpty(retrieval.EntityIds);
        if (budget >= 500)
        {
            Assert.True(retrieval.Tokens > budget * 0.8, $"budget badly used: {retrieval.Tokens} of {budget}");
        }
        if (budget <= 8) Assert.Equal("", retrieval.Block);
        Assert.All(retrieval.EntityIds, id => Assert.Contains($"**{memory.Get(id)!.Name}**", retrieval.Block));
    }

    [Fact]
    public async Task The_block_token_count_is_the_sum_of_its_pieces_for_any_content()
    {
        // Retrieval adds up cached per-line counts instead of re-counting the block: prove that equals a full count
        // across scripts, punctuation at line ends, aliases, attributes and summaries.
        var memory = NewMemory();
        string[] contents =
        [
            "她在灯塔下等待，风暴将至。", "ends with a bracket]", "ends with digits 12345", "trailing punctuation!?…",
            "mixed 中文 and English words", "quotes \"inside\" and 'apostrophes'", "slashes/and/paths/", "   spaced   out   ",
        ];
        memory.Apply(Enumerable.Range(0, 160).Select(i => Upsert((EntityType)(i % 8), i % 3 == 0 ? $"灯塔 {i}" : $"Keeper {i}",
            contents[i % contents.Length] + $" {i}", ("aliases", $"K{i}, 守夜人{i}"), ("mood", i % 2 == 0 ? "calm/" : "wary]"))).ToList(), 1);
        foreach (var budget in new[] { 60, 300, 900, 2000 })
        {
            var retrieval = await memory.RetrieveAsync("灯塔 keeper storm", "Keeper 7 and 灯塔 9 argued.", budget);
            Assert.NotEmpty(retrieval.EntityIds);
            Assert.Equal(TiktokenCounter.Instance.Count(retrieval.Block), retrieval.Tokens);
            Assert.True(retrieval.Tokens <= budget);
        }
    }

    [Fact]
    public async Task Retrieval_of_an_empty_memory_is_empty()
    {
        var retrieval = await NewMemory().RetrieveAsync("hello", "", 2000);
        Assert.Equal(("", 0), (retrieval.Block, retrieval.Tokens));
        Assert.Empty(retrieval.EntityIds);
    }

    [Fact]
    public async Task Chinese_names_ids_search_and_activation_work()
    {
        var memory = NewMemory();
        var applied = memory.Apply(
        [
            Upsert(EntityType.Character, "米拉", "一名走私者，在港口贩卖私盐", ("aliases", "狐狸")),
            Upsert(EntityType.Fact, "银钥匙的藏处", "米拉把银钥匙藏在灯塔第三级台阶下面"),
            Upsert(EntityType.Location, "灯塔", "北方悬崖上的旧灯塔，灯早已熄灭"),
            Upsert(EntityType.Item, "铜钥匙", "能打开海关大楼的铜钥匙"),
            Upsert(EntityType.Event, "风暴", "一场风暴摧毁了两艘渔船"),
        ], 1);
        Assert.Equal("character:米拉", applied[0].EntityId);

        Assert.Equal("fact:银钥匙的藏处", (await memory.SearchAsync("银钥匙藏在哪里？", SearchMode.Keyword, 3))[0].Entity.EntityId);
        Assert.Equal("fact:银钥匙的藏处", (await memory.SearchAsync("银钥匙藏在哪里？", SearchMode.Vector, 3))[0].Entity.EntityId);
        Assert.Equal("fact:银钥匙的藏处", (await memory.SearchAsync("银钥匙藏在哪里？", SearchMode.Hybrid, 3))[0].Entity.EntityId);

        var retrieval = await memory.RetrieveAsync("我去找狐狸谈谈风暴的事。", "", 500);
        Assert.Contains("character:米拉", retrieval.EntityIds);
        Assert.Contains("event:风暴", retrieval.EntityIds);
        Assert.Contains("- **米拉** (aka 狐狸): 一名走私者", retrieval.Block);
    }
}
