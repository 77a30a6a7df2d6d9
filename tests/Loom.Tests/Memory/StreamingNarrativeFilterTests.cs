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
            var chunks = new List<string>();
            for (var i = 0; i < answer.Length;)
            {
                var size = Math.Min(answer.Length - i, random.Next(1, 9));
                chunks.Add(answer.Substring(i, size));
                i += size;
            }
            Assert.Equal(expected, Stream([.. chunks]));
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

    private static string Stream(params string[] chunks)
    {
        var filter = new StreamingNarrativeFilter();
        var output = string.Concat(chunks.Select(filter.Push)) + filter.Complete();
        Assert.DoesNotContain("loom-memory", output, StringComparison.OrdinalIgnoreCase);
        return output;
    }
}
