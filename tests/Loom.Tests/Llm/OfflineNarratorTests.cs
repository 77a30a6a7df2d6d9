using System.Text.Json;
using Loom.Llm.Offline;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.AI;
using Xunit.Abstractions;

namespace Loom.Tests.Llm;

public sealed class OfflineNarratorTests(ITestOutputHelper output)
{
    private static readonly Dictionary<string, string> Canon = new()
    {
        ["world.md"] = """
            # World
            The harbour city of Saltmere clings to black cliffs. Smugglers meet at the Drowned Lantern tavern.

            ## Mira Vance
            A smuggler who owes money to the Tide Council. She trusts no one, least of all Captain Oren.

            # Tone
            Wet, tense, quietly hopeful.
            """,
    };

    private static readonly OfflineNarrator Narrator = new(TiktokenCounter.Instance);

    private static List<ChatMessage> Prompt(string input, params (string Input, string Narrative)[] history)
    {
        var messages = new List<ChatMessage> { new(ChatRole.System, PromptAssembler.BuildSystemMessage(Canon)) };
        foreach (var (i, n) in history)
        {
            messages.Add(new ChatMessage(ChatRole.User, i));
            messages.Add(new ChatMessage(ChatRole.Assistant, n));
        }

        messages.Add(new ChatMessage(ChatRole.User, input));
        return messages;
    }

    private static async Task<(string Text, List<string> Chunks, UsageDetails? Usage)> StreamAsync(List<ChatMessage> messages)
    {
        var chunks = new List<string>();
        UsageDetails? usage = null;
        await foreach (var update in Narrator.GetStreamingResponseAsync(messages))
        {
            if (update.Text.Length > 0)
            {
                chunks.Add(update.Text);
            }

            usage = update.Contents.OfType<UsageContent>().FirstOrDefault()?.Details ?? usage;
        }

        return (string.Concat(chunks), chunks, usage);
    }

    [Fact]
    public async Task Same_messages_give_the_same_text_and_different_input_gives_different_text()
    {
        var first = await StreamAsync(Prompt("I search the rotten crates for the ledger."));
        var again = await StreamAsync(Prompt("I search the rotten crates for the ledger."));
        var other = await StreamAsync(Prompt("I climb the cliff path toward the lighthouse."));
        output.WriteLine(first.Text);
        output.WriteLine("-----");
        output.WriteLine(other.Text);

        Assert.Equal(first.Text, again.Text);
        Assert.Equal(first.Chunks, again.Chunks);
        Assert.NotEqual(first.Text, other.Text);
    }

    [Fact]
    public async Task Narration_answers_the_input_in_second_person_and_uses_canon_names()
    {
        var (text, chunks, usage) = await StreamAsync(Prompt("I search the rotten crates for the ledger."));
        var narrative = text[..text.IndexOf(NarratorFormat.MemoryFence, StringComparison.Ordinal)].Trim();

        Assert.StartsWith("You search the rotten crates for the ledger.", narrative);
        var paragraphs = narrative.Split("\n\n");
        Assert.InRange(paragraphs.Length, 2, 4);
        Assert.True(chunks.Count > 5, "streamed in word groups");
        Assert.NotNull(usage);
        Assert.Equal(TiktokenCounter.Instance.Count(text), usage!.OutputTokenCount);
        Assert.True(usage.InputTokenCount > 50);

        // Across a few inputs the canon's names show up.
        var texts = new List<string>();
        foreach (var input in new[] { "I wait.", "I open the door.", "Who is watching me?", "I light a candle." })
        {
            texts.Add((await StreamAsync(Prompt(input))).Text);
        }

        Assert.Contains(texts, t => t.Contains("Mira Vance") || t.Contains("Saltmere") || t.Contains("Drowned Lantern") || t.Contains("Oren"));
    }

    [Theory]
    [InlineData("I search the rotten crates for the ledger.")]
    [InlineData("Who is watching me?")]
    [InlineData("我推开门。")]
    [InlineData("")]
    public async Task The_answer_ends_with_one_valid_memory_block(string input)
    {
        var (text, _, _) = await StreamAsync(Prompt(input));

        var fence = text.IndexOf(NarratorFormat.MemoryFence, StringComparison.Ordinal);
        Assert.True(fence > 0);
        Assert.Equal(fence, text.LastIndexOf(NarratorFormat.MemoryFence, StringComparison.Ordinal));
        Assert.EndsWith("\n```", text);
        var json = text[(fence + NarratorFormat.MemoryFence.Length)..^3].Trim();
        using var document = JsonDocument.Parse(json);
        var ops = document.RootElement.GetProperty("ops").EnumerateArray().ToList();
        Assert.Contains(ops, op => op.GetProperty("type").GetString() == "event");
        string[] types = ["character", "location", "item", "fact", "event", "plotline", "relationship", "summary"];
        Assert.All(ops, op =>
        {
            Assert.Equal("upsert", op.GetProperty("op").GetString());
            Assert.Contains(op.GetProperty("type").GetString(), types);
            Assert.False(string.IsNullOrWhiteSpace(op.GetProperty("name").GetString()));
        });
        foreach (var op in ops.Where(op => op.GetProperty("type").GetString() != "event"))
        {
            Assert.Contains(op.GetProperty("name").GetString()!, text[..fence]);
        }
    }

    [Fact]
    public async Task Streaming_and_non_streaming_answers_are_identical()
    {
        var messages = Prompt("I ask Mira about the Tide Council.", ("I enter the tavern.", "You enter the Drowned Lantern."));

        var streamed = await StreamAsync(messages);
        var whole = await Narrator.GetResponseAsync(messages);

        Assert.Equal(streamed.Text, whole.Text);
        Assert.Equal(streamed.Usage!.InputTokenCount, whole.Usage!.InputTokenCount);
    }

    [Fact]
    public async Task Summarisation_requests_get_an_extractive_summary_without_a_memory_block()
    {
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System, NarratorFormat.SummarizeMarker + " Summarise the story so far."),
            new(ChatRole.User, "You reach Saltmere at dusk. The rain never stops.\n\nMira sells you a map. It is a forgery.\n\n```loom-memory\n{\"ops\":[]}\n```"),
        };

        var response = await Narrator.GetResponseAsync(messages);

        Assert.Equal("You reach Saltmere at dusk. Mira sells you a map.", response.Text);
    }

    [Fact]
    public async Task Chunk_delay_paces_the_stream()
    {
        var slow = new OfflineNarrator(TiktokenCounter.Instance, TimeSpan.FromMilliseconds(15));
        var started = DateTime.UtcNow;
        var count = 0;
        await foreach (var update in slow.GetStreamingResponseAsync(Prompt("I wait.")))
        {
            count += update.Text.Length > 0 ? 1 : 0;
        }

        Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(15 * (count - 1) * 0.8));
    }
}
