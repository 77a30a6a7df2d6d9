using Loom.Llm;
using Loom.Llm.Offline;
using Loom.Memory;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Prompt;

/// <summary>Tone, intent, retcons and OOC notes reach the narrator outside the story, and OOC answers come back apart.</summary>
public sealed class InterventionPromptTests
{
    private static readonly Dictionary<string, string> Canon = new() { ["world.md"] = "# World\nSaltmere.\n\n# Tone\nWet.\n" };

    private static AssembledPrompt Assemble() =>
        new PromptAssembler(Options.Create(new PromptOptions()), TiktokenCounter.Instance).Assemble(new PromptRequest
        {
            CanonFiles = Canon,
            Input = "I open the door.",
            Tone = "grim",
            Intent = "find the miller",
            Retcons = "the bridge was never out",
            OutOfCharacter = "is this too dark?",
        });

    [Fact]
    public void Markers_go_into_the_context_message_and_never_into_the_player_turn()
    {
        var prompt = Assemble();
        var context = prompt.Messages[1];
        Assert.Equal(LlmRole.System, context.Role);
        foreach (var text in new[] { "grim", "find the miller", "the bridge was never out", "is this too dark?", NarratorFormat.OutOfCharacterHeading, NarratorFormat.RetconHeading })
            Assert.Contains(text, context.Content);
        Assert.Equal("I open the door.", prompt.Messages[^1].Content);
    }

    [Fact]
    public void Markers_longer_than_the_memory_budget_are_kept_whole_and_memory_yields_to_them()
    {
        var note = string.Join(" ", Enumerable.Range(0, 400).Select(i => $"note{i}")); // far more than 100 tokens
        var assembler = new PromptAssembler(Options.Create(new PromptOptions { MemoryTokens = 100 }), TiktokenCounter.Instance);
        var prompt = assembler.Assemble(new PromptRequest
        {
            CanonFiles = Canon,
            Input = "I open the door.",
            Retcons = "the bridge was never out",
            OutOfCharacter = note,
            Memory = "- Mira: a smuggler of salt",
        });

        var context = prompt.Messages[1].Content;
        Assert.Contains(NarratorFormat.OutOfCharacterHeading, context);
        Assert.Contains("note399", context);
        Assert.Contains("the bridge was never out", context);
        Assert.DoesNotContain("Mira", context); // no room left for memory
        Assert.True(prompt.ContextTruncated);
    }

    [Fact]
    public void Markers_that_cannot_fit_the_prompt_refuse_the_turn_instead_of_vanishing_from_it()
    {
        var note = string.Join(" ", Enumerable.Range(0, 2000).Select(i => $"note{i}"));
        var assembler = new PromptAssembler(Options.Create(new PromptOptions { MaxPromptTokens = 2000, MemoryTokens = 100 }), TiktokenCounter.Instance);
        var refused = Assert.Throws<Loom.Errors.LoomProblemException>(() => assembler.Assemble(new PromptRequest
        {
            CanonFiles = Canon,
            Input = "I open the door.",
            OutOfCharacter = note,
        }));
        Assert.Equal("prompt_too_large", refused.Code);
    }

    [Fact]
    public void The_offline_narrator_answers_ooc_notes_in_the_memory_block_only()
    {
        var messages = Assemble().Messages.Select(m => new ChatMessage(m.Role == LlmRole.System ? ChatRole.System : ChatRole.User, m.Content)).ToList();
        var answer = OfflineStoryteller.Compose(messages);
        var split = MemoryBlockParser.Split(answer.FullText);

        Assert.Contains("is this too dark?", split.Ooc);
        Assert.DoesNotContain("too dark", split.Narrative);
        Assert.NotEmpty(split.Ops);
    }

    [Fact]
    public void A_block_without_ooc_leaves_it_null()
    {
        var split = MemoryBlockParser.Split("Rain.\n\n```loom-memory\n{\"ops\":[],\"ooc\":\"  \"}\n```");
        Assert.Null(split.Ooc);
        Assert.Equal("Rain.", split.Narrative);
    }
}
