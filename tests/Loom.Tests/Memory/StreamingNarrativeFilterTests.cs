using Loom.Memory;

namespace Loom.Tests.Memory;

public class StreamingNarrativeFilterTests
{
    public static TheoryData<string> Answers => new()
    {
        "The tide turns.\n\n```loom-memory\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"fact\",\"name\":\"Tide\"}]}\n```\n",
        "  \n Code ``` inside `` the story ``` stays.\n```loom-memory\n{\"ops\":[]}\n```",
        "No block at all, ending in backticks ``",
        "Ends with a partial fence ```loom-mem",
        "雨停了。米拉笑了。\n\n```loom-memory\n{\"ops\":[{\"type\":\"character\",\"name\":\"米拉\"}]}\n```",
        "```loom-memory\n{\"ops\":[]}\n```",
        "Trailing spaces   \n\n   ",
        // Memory blocks fenced under another name, and fenced blocks that are story.
        "The tide turns.\n\n```json\n{\"ops\":[{\"op\":\"upsert\",\"type\":\"fact\",\"name\":\"Tide\"}]}\n```\n",
        "She reads the sign:\n```\nKEEP OUT\n```\nand walks on.\n```memory\n{\"ops\":[]}\n```",
        "A poem:\n  ```\nroses\n```",
        "Not ops\n```json\n{\"a\":1}\n```",
        "```memory\n{\"ops\":[]}\n```",
        "Inline ```json\n{\"ops\":[]}\n```",
        "Story.\n```json\n{\"ops\":[]}\n```\n```loom-memory\n{\"ops\":[]}\n```",
        "Cut off.\n```json\n{\"ops\":[]}",
        "Broken.\n```json\n{\"ops\":[",
        "Broken early.\n```json\n{\"op",
        "Fenced whole:\n```\nThe story, all of it, inside a fence, and long enough to stream in many chunks.\n```",
        "Two.\n```\nx\n```\n```\ny\n```\nend ```loom-mem",
    };

    [Theory]
    [MemberData(nameof(Answers))]
    public void Every_two_chunk_split_streams_exactly_the_parsed_narrative(string answer)
    {
        var expected = MemoryBlockParser.Split(answer).Narrative;
        for (var cut = 0; cut <= answer.Length; cut++)
        {
            Assert.Equal(expected, Stream(answer[..cut], answer[cut..]));
        }
    }

    [Theory]
    [MemberData(nameof(Answers))]
    public void Random_chunkings_and_single_characters_stream_exactly_the_parsed_narrative(string answer)
    {
        var expected = MemoryBlockParser.Split(answer).Narrative;
        var random = new Random(answer.Length);
        for (var round = 0; round < 50; round++)
        {
            Assert.Equal(expected, Stream(RandomChunks(answer, random, 8)));
        }
        Assert.Equal(expected, Stream(answer.Select(c => c.ToString()).ToArray()));
    }

    [Fact]
    public void The_memory_block_is_never_emitted_and_narrative_before_it_is_not_delayed()
    {
        var filter = new StreamingNarrativeFilter();
        Assert.Equal("Hello there.", filter.Push("Hello there.\n``"));
        Assert.Equal("", filter.Push("`loom-"));
        Assert.Equal("", filter.Push("memory\n{\"ops\":"));
        Assert.True(filter.InMemoryBlock);
        Assert.Equal("", filter.Push("[]}\n```"));
        Assert.Equal("", filter.Complete());

        var plain = new StreamingNarrativeFilter();
        Assert.Equal("A", plain.Push("A``"));
        Assert.Equal("``x", plain.Push("x")); // not a fence after all: released at once
    }

    [Fact]
    public void Answers_built_from_fence_pieces_stream_exactly_the_parsed_narrative()
    {
        string[] pieces = ["Story.", " ", "\n", "```", "```json", "```memory", "```loom-memory", "{\"ops\":[]}", "{\"a\":1}", "x", "``", "`", "\t"];
        var random = new Random(20261208);
        for (var n = 0; n < 3000; n++)
        {
            var answer = string.Concat(Enumerable.Range(0, random.Next(1, 14)).Select(_ => pieces[random.Next(pieces.Length)]));
            var expected = MemoryBlockParser.Split(answer).Narrative;
            var chunks = RandomChunks(answer, random, 5);
            var output = Streamed(chunks);
            Assert.True(expected == output, $"answer: {System.Text.Json.JsonSerializer.Serialize(answer)} chunks: {System.Text.Json.JsonSerializer.Serialize(chunks)} expected: {System.Text.Json.JsonSerializer.Serialize(expected)} got: {System.Text.Json.JsonSerializer.Serialize(output)}");
        }
    }

    [Fact]
    public void A_block_fenced_under_another_name_is_held_until_story_follows_it_or_the_answer_ends()
    {
        var filter = new StreamingNarrativeFilter();
        Assert.Equal("She reads the sign:", filter.Push("She reads the sign:\n```\nKEEP"));
        Assert.Equal("", filter.Push(" OUT\n```\n"));
        Assert.Equal("\n```\nKEEP OUT\n```\nand", filter.Push("and"));
        Assert.Equal("", filter.Push("\n```json\n{\"ops\":[]}\n```\n"));
        Assert.Equal("", filter.Complete());
    }

    private static string[] RandomChunks(string answer, Random random, int maxSize)
    {
        var chunks = new List<string>();
        for (var i = 0; i < answer.Length;)
        {
            var size = Math.Min(answer.Length - i, random.Next(1, maxSize + 1));
            chunks.Add(answer.Substring(i, size));
            i += size;
        }
        return [.. chunks];
    }

    private static string Streamed(string[] chunks)
    {
        var filter = new StreamingNarrativeFilter();
        return string.Concat(chunks.Select(filter.Push)) + filter.Complete();
    }

    private static string Stream(params string[] chunks)
    {
        var output = Streamed(chunks);
        Assert.DoesNotContain("loom-memory", output, StringComparison.OrdinalIgnoreCase);
        return output;
    }
}
