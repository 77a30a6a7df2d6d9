using Loom.Errors;
using Loom.Llm;
using Loom.Prompt;
using Loom.Text;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Prompt;

public sealed class PromptAssemblerTests
{
    private static readonly Dictionary<string, string> Canon = new()
    {
        ["z-rules.md"] = "# Permissions\nThe player may not kill **named** characters.\n  <!-- keep me -->  ",
        ["a-world.md"] = "# World\nSaltmere, a harbour city.\n\n# Tone\nWet and tense.\n",
    };

    private static PromptAssembler Assembler(int history = 3000, int memory = 2000, int max = 12000) =>
        new(Options.Create(new PromptOptions { HistoryTokens = history, MemoryTokens = memory, MaxPromptTokens = max }), TiktokenCounter.Instance);

    private static List<PromptTurn> Turns(int count) =>
        Enumerable.Range(1, count)
            .Select(i => new PromptTurn($"Input number {i}: I walk a little further along the quay.",
                $"Narrative number {i}: " + string.Join(' ', Enumerable.Repeat("The fog thickens around you.", 8))))
            .ToList();

    [Fact]
    public void Canon_is_verbatim_first_in_file_name_order_and_input_is_last()
    {
        var prompt = Assembler().Assemble(new PromptRequest { CanonFiles = Canon, Input = "I open the door.", History = Turns(2) });

        var system = prompt.Messages[0];
        Assert.Equal(LlmRole.System, system.Role);
        Assert.Contains(Canon["a-world.md"], system.Content);
        Assert.Contains(Canon["z-rules.md"], system.Content);
        Assert.True(system.Content.IndexOf("a-world.md", StringComparison.Ordinal) < system.Content.IndexOf("z-rules.md", StringComparison.Ordinal));
        Assert.Contains("```loom-memory", system.Content);
        Assert.Equal(new LlmMessage { Role = LlmRole.User, Content = "I open the door." }, prompt.Messages[^1]);
        Assert.Equal(
            [LlmRole.System, LlmRole.User, LlmRole.Assistant, LlmRole.User, LlmRole.Assistant, LlmRole.User],
            prompt.Messages.Select(m => m.Role));
    }

    [Fact]
    public void The_context_count_from_cached_pieces_equals_a_full_count_of_the_message()
    {
        // The context is counted from its pieces (each memory and summary line, each other section whole) instead of
        // tokenizing it: prove the sum is the exact count across scripts, punctuation before line breaks, blank lines
        // inside free text, CRLF, lines that begin with '/' or spaces, and budgets that cut lines or whole sections.
        string[] endings = ["ends with a stop.", "ends with a bracket]", "digits 12345", "…?!", "中文结尾。", "slash/", "quote\"", "word"];
        var memoryLines = Enumerable.Range(0, 60).Select(i => i switch
        {
            7 => "/starts with a slash " + endings[i % endings.Length],
            11 => "   indented line " + endings[i % endings.Length],
            13 => "### Characters",
            _ => $"- **Keeper {i}** (aka 守夜人{i}): {endings[i % endings.Length]}",
        }).ToList();
        var assembler = Assembler(memory: 4000);
        var requests = new List<PromptRequest>();
        foreach (var budgetLines in new[] { 1, 5, 30, 60 })
        {
            var memory = string.Join(budgetLines % 2 == 0 ? "\n" : "\r\n", memoryLines.Take(budgetLines)) + "\n";
            requests.Add(new PromptRequest { CanonFiles = Canon, Input = "I look.", Memory = memory });
            requests.Add(new PromptRequest
            {
                CanonFiles = Canon, Input = "I look.", Memory = memory, Tone = "Grim.\n\n  Quiet/", Intent = "find the key/",
                Summaries = "Turns 1-10: the storm came.\nTurns 11-20: 灯塔熄灭了。\n/odd summary line", OutOfCharacter = "be brief.\r\n",
            });
        }
        var tight = Assembler(memory: 120);
        foreach (var request in requests)
        {
            foreach (var prompt in new[] { assembler.Assemble(request), tight.Assemble(request) })
            {
                var context = prompt.Messages[1];
                Assert.Equal(LlmRole.System, context.Role);
                Assert.Equal(TiktokenCounter.Instance.Count(context.Content) + PromptAssembler.MessageOverheadTokens, prompt.ContextTokens);
            }
        }
        Assert.True(tight.Assemble(requests[^1]).ContextTruncated);
    }

    [Fact]
    public void The_system_message_is_a_stable_prefix()
    {
        var assembler = Assembler();
        var reordered = Canon.Reverse().ToDictionary(kv => kv.Key, kv => kv.Value);

        var one = assembler.Assemble(new PromptRequest { CanonFiles = Canon, Input = "a", Memory = "Mira: wary", Tone = "grim" });
        var two = assembler.Assemble(new PromptRequest { CanonFiles = reordered, Input = "b", History = Turns(3) });

        Assert.Equal(one.Messages[0].Content, two.Messages[0].Content);
        Assert.Equal(one.SystemTokens, two.SystemTokens);
        Assert.Contains("Mira: wary", one.Messages[1].Content);
        Assert.Contains("grim", one.Messages[1].Content);
        Assert.Equal(LlmRole.System, one.Messages[1].Role);
        Assert.Equal(0, two.ContextTokens); // no context message when the caller gives none
        Assert.Equal(LlmRole.User, two.Messages[1].Role);
    }

    [Fact]
    public void History_is_trimmed_oldest_first_to_the_budget()
    {
        var turns = Turns(20);
        var turnCost = TiktokenCounter.Instance.Count(turns[0].Input) + TiktokenCounter.Instance.Count(turns[0].Narrative) + 8;

        var prompt = Assembler(history: turnCost * 5 + 3).Assemble(new PromptRequest { CanonFiles = Canon, Input = "now", History = turns });

        Assert.Equal(5, prompt.HistoryTurnsIncluded);
        Assert.Equal(15, prompt.HistoryTurnsOmitted);
        var inputs = prompt.Messages.Where(m => m.Role == LlmRole.User).Select(m => m.Content).ToList();
        Assert.StartsWith("Input number 16:", inputs[0]);
        Assert.StartsWith("Input number 20:", inputs[4]);
        Assert.Equal("now", inputs[5]);
    }

    [Fact]
    public void Prompt_tokens_are_counted_and_stay_under_the_ceiling()
    {
        var request = new PromptRequest
        {
            CanonFiles = Canon,
            Input = "I wait.",
            History = Turns(40),
            Memory = string.Join('\n', Enumerable.Range(1, 300).Select(i => $"- fact {i}: the tide rises at the {i}th bell")),
        };

        var prompt = Assembler(history: 5000, memory: 5000, max: 2500).Assemble(request);

        var counted = prompt.Messages.Sum(m => TiktokenCounter.Instance.Count(m.Content) + 4);
        Assert.Equal(counted, prompt.PromptTokens);
        Assert.True(prompt.PromptTokens <= 2500, $"{prompt.PromptTokens} tokens");
        Assert.True(prompt.ContextTruncated);
        Assert.Contains("- fact 1:", prompt.Messages[1].Content); // memory keeps its first (most relevant) lines
        Assert.DoesNotContain("- fact 300:", prompt.Messages[1].Content);
        Assert.True(prompt.HistoryTurnsIncluded < 40);
    }

    [Fact]
    public void Turns_without_narrative_are_left_out()
    {
        var turns = Turns(3);
        turns[1] = turns[1] with { Narrative = "" };

        var prompt = Assembler().Assemble(new PromptRequest { CanonFiles = Canon, Input = "x", History = turns });

        Assert.Equal(2, prompt.HistoryTurnsIncluded);
        Assert.DoesNotContain(prompt.Messages, m => m.Content.StartsWith("Input number 2:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_canon_too_large_for_the_ceiling_is_a_clear_422()
    {
        var huge = new Dictionary<string, string> { ["world.md"] = "# World\n" + string.Join(' ', Enumerable.Repeat("Saltmere harbour rain.", 2000)) };

        var problem = Assert.Throws<LoomProblemException>(() =>
            Assembler(max: 1000).Assemble(new PromptRequest { CanonFiles = huge, Input = "x" }));

        Assert.Equal(422, problem.Status);
        Assert.Equal("prompt_too_large", problem.Code);
    }
}
