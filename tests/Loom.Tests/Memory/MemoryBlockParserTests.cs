using Loom.Memory;

namespace Loom.Tests.Memory;

public class MemoryBlockParserTests
{
    private const string Good = """
        The rain thins as Mira steps onto the pier. "We leave at dawn," she says.

        ```loom-memory
        {"ops":[
          {"op":"upsert","type":"character","name":"Mira","content":"a smuggler","attributes":{"mood":"wary","age":31}},
          {"op":"delete","type":"item","name":"Old rope"}
        ]}
        ```
        """;

    [Fact]
    public void Good_block_gives_narrative_and_normalised_ops()
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split(Good);
        Assert.Equal("The rain thins as Mira steps onto the pier. \"We leave at dawn,\" she says.", narrative);
        Assert.Null(warning);
        Assert.Equal(2, ops.Count);
        Assert.Equal(("upsert", "character:mira", "a smuggler"), (ops[0].Op, ops[0].EntityId, ops[0].Content));
        Assert.Equal("31", ops[0].Attributes!["age"]);
        Assert.Equal(("delete", "item:old-rope"), (ops[1].Op, ops[1].EntityId));
    }

    [Theory]
    [InlineData("```json")]
    [InlineData("```memory")]
    [InlineData("``` LOOM_MEMORY")]
    [InlineData("```")]
    public void A_trailing_block_fenced_under_another_name_is_read_with_a_warning(string fence)
    {
        var answer = Good.Replace("```loom-memory", fence, StringComparison.Ordinal);
        var (narrative, ops, warning) = MemoryBlockParser.Split(answer);
        Assert.Equal("The rain thins as Mira steps onto the pier. \"We leave at dawn,\" she says.", narrative);
        Assert.Equal(2, ops.Count);
        Assert.Contains($"fenced as '{fence}'", warning);
    }

    [Fact]
    public void A_block_under_another_name_cut_off_after_its_ops_began_is_held_back_with_a_warning()
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split("Cut off.\n```json\n{ \"ops\": [{\"op\":\"upsert\",\"type\":");
        Assert.Equal("Cut off.", narrative);
        Assert.Empty(ops);
        Assert.Contains("not valid JSON", warning);
    }

    [Theory]
    [InlineData("Mira shows the map:\n```\n{\"ops\":[]}\n```\nThen she folds it.")] // text follows: story
    [InlineData("Mira shows the map:\n```python\n{\"ops\":[]}\n```")]                // another language
    [InlineData("Mira shows the map:\n```json\n{\"route\":\"north\"}\n```")]         // JSON, not ops
    [InlineData("Mira shows the map: ```json\n{\"ops\":[]}\n```")]                     // not at a line's start
    public void A_fenced_block_that_is_not_a_memory_block_stays_in_the_story(string answer)
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split(answer);
        Assert.Equal(answer.Trim(), narrative);
        Assert.Empty(ops);
        Assert.Null(warning);
    }

    [Fact]
    public void Missing_block_is_plain_narrative_without_warning()
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split("  Waves.\n\nMore waves.  \n");
        Assert.Equal("Waves.\n\nMore waves.", narrative);
        Assert.Empty(ops);
        Assert.Null(warning);
    }

    [Theory]
    [InlineData("Story.\n```loom-memory\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"fact\",\n```", "not valid JSON")]
    [InlineData("Story.\n```loom-memory\n{\"changes\":[]}\n```", "expected {\"ops\"")]
    [InlineData("Story.\n```loom-memory\n```", "empty")]
    [InlineData("Story.\n```loom-memory\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"charac", "not valid JSON")]
    public void Broken_block_keeps_narrative_skips_ops_and_warns(string answer, string expected)
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split(answer);
        Assert.Equal("Story.", narrative);
        Assert.Empty(ops);
        Assert.Contains(expected, warning);
    }

    [Fact]
    public void Bad_ops_are_skipped_one_by_one()
    {
        var answer = """
            Story.
            ```loom-memory
            {"ops":[
              {"op":"upsert","type":"dragon","name":"Smaug"},
              {"op":"upsert","type":"Location","name":"Harbor","content":"docks"},
              {"op":"explode","type":"fact","name":"x"},
              {"op":"upsert","type":"fact","name":""},
              "nonsense"
            ]}
            ```
            """;
        var (_, ops, warning) = MemoryBlockParser.Split(answer);
        Assert.Equal("location:harbor", Assert.Single(ops).EntityId);
        Assert.Contains("op 0 skipped: unknown type \"dragon\"", warning);
        Assert.Contains("op 2 skipped", warning);
        Assert.Contains("op 3 skipped: name is required", warning);
        Assert.Contains("op 4 skipped: not an object", warning);
    }

    [Fact]
    public void Lenient_forms_bare_array_unclosed_fence_and_text_after_the_block()
    {
        var bare = MemoryBlockParser.Split("A.\n```loom-memory\n[{\"type\":\"item\",\"name\":\"Rope\"}]\n```");
        Assert.Equal(("upsert", "item:rope"), (bare.Ops[0].Op, bare.Ops[0].EntityId));
        Assert.Null(bare.Warning);

        var unclosed = MemoryBlockParser.Split("A.\n```LOOM-MEMORY\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"item\",\"name\":\"Rope\"}]}");
        Assert.Single(unclosed.Ops);

        var trailing = MemoryBlockParser.Split("A.\n```loom-memory\n{\"ops\":[]}\n```\nP.S. ignore this");
        Assert.Equal("A.", trailing.Narrative);
        Assert.Contains("text after the memory block was dropped", trailing.Warning);
    }

    [Fact]
    public void Too_many_ops_are_cut_with_a_warning()
    {
        var ops = string.Join(",", Enumerable.Range(0, 80).Select(i => $"{{\"type\":\"fact\",\"name\":\"F{i}\"}}"));
        var split = MemoryBlockParser.Split($"A.\n```loom-memory\n{{\"ops\":[{ops}]}}\n```");
        Assert.Equal(64, split.Ops.Count);
        Assert.Contains("first 64", split.Warning);
    }

    [Fact]
    public void Chinese_narrative_and_ops()
    {
        var (narrative, ops, warning) = MemoryBlockParser.Split(
            "雨渐渐小了。米拉走上码头。\n```loom-memory\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"character\",\"name\":\"米拉\",\"content\":\"走私者\"}]}\n```");
        Assert.Equal("雨渐渐小了。米拉走上码头。", narrative);
        Assert.Equal("character:米拉", Assert.Single(ops).EntityId);
        Assert.Null(warning);
    }
}
