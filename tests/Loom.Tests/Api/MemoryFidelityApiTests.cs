using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;
using Loom.Tests.Memory;
using Loom.Tests.Stubs;
using Loom.Text;
using Xunit.Abstractions;

namespace Loom.Tests.Api;

/// <summary>
/// The fidelity benchmark end to end: the scripted 500-turn story is narrated by the OpenAI stub through the real
/// API, session grain and storage, and a planted fact counts only when the prompt the narrator actually received
/// at the asking turn contains its answer. Default budgets (2,000-token context: summaries + memory).
/// </summary>
public sealed class MemoryFidelityApiTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Planted_facts_reach_the_narrators_prompt_in_at_least_95_percent_of_asking_turns()
    {
        await using var stub = await OpenAiStubServer.StartAsync();
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Llm:Providers:openai:Endpoint"] = stub.Endpoint.ToString(),
            ["Loom:Llm:Providers:openai:Model"] = "stub-model",
        });
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai" } });
        var turns = FidelityStory.Build(500, 50);
        foreach (var turn in turns) stub.Enqueue(StubReply.Ok(turn.Answer) with { WordsPerChunk = 40 });
        // The narrator also writes the rolling summaries: answer those with the first line of each summarized turn,
        // so the story's scripted answers stay in step with the turns.
        stub.Responder = request => IsSummary(request)
            ? StubReply.Ok(string.Join(" ", turns.Where(t => request.Body.Contains(t.Input, StringComparison.Ordinal)).Select(t => t.Answer.Split('\n')[0])))
            : null;

        var clock = Stopwatch.StartNew();
        var asked = 0;
        var found = 0;
        var contextTokens = new List<int>();
        var missed = new List<string>();
        foreach (var turn in turns)
        {
            var played = await client.PlayAsync(sessionId, turn.Input);
            Assert.Equal("completed", played["status"]!.GetValue<string>());
            Assert.Equal(turn.Seq, played["seq"]!.GetValue<int>());
            if (turn.Asks is not { } fact) continue;

            var messages = JsonNode.Parse(stub.Requests.Where(r => !IsSummary(r)).ElementAt(turn.Seq - 1).Body)!["messages"]!.AsArray();
            Assert.Equal(turn.Input, messages[^1]!["content"]!.GetValue<string>());
            var context = messages[1]!["role"]!.GetValue<string>() == "system" ? messages[1]!["content"]!.GetValue<string>() : "";
            contextTokens.Add(TiktokenCounter.Instance.Count(context));
            asked++;
            if (context.Contains(fact.Answer, StringComparison.Ordinal)) found++;
            else missed.Add($"fact {fact.Index} planted {fact.PlantedAt}, asked {fact.AskedAt}");
        }

        var summary = string.Create(CultureInfo.InvariantCulture,
            $"end-to-end fidelity: {found}/{asked} planted facts in the prompt ({(double)found / asked:P1}); context message avg " +
            $"{contextTokens.Average():F0} tokens, max {contextTokens.Max()}; 500 turns in {clock.Elapsed.TotalSeconds:F1} s");
        output.WriteLine(summary);
        Console.WriteLine(summary);
        foreach (var miss in missed) output.WriteLine("missed " + miss);
        Assert.Equal(50, asked);
        Assert.True(contextTokens.Max() <= 2000, summary);
        Assert.True((double)found / asked >= 0.95, summary);
        Assert.Equal(500 / 10 - 1, stub.Requests.Count(IsSummary)); // a summary every 10 turns once turns leave the window
    }

    private static bool IsSummary(StubRequest request) => request.Body.Contains("Summarize the following turns", StringComparison.Ordinal);
}
