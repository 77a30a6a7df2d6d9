using System.Net;
using Loom.Tests.Api;
using Loom.Tests.Stubs;

namespace Loom.Tests.Providers;

/// <summary>Summaries every two turns with a one-turn window, so the third turn folds turns 1-2; one attempt per provider.</summary>
public abstract class SummaryFixtureBase : ProviderAppFixture
{
    protected override void Tune(Dictionary<string, string?> settings)
    {
        settings["Loom:Memory:SummaryEveryTurns"] = "2";
        settings["Loom:Memory:RecentWindowTurns"] = "1";
        settings["Loom:Llm:Resilience:MaxRetries"] = "0";
        settings.Remove("Loom:Llm:Resilience:Fallbacks:0");
        settings.Remove("Loom:Llm:Resilience:Fallbacks:1");
    }
}

/// <summary>No fallback, so a scripted failure reaches the session.</summary>
public sealed class SummaryAppFixture : SummaryFixtureBase;

/// <summary>A provider that is down falls back to the offline narrator.</summary>
public sealed class SummaryOfflineFallbackFixture : SummaryFixtureBase
{
    protected override void Tune(Dictionary<string, string?> settings)
    {
        base.Tune(settings);
        settings["Loom:Llm:Resilience:Fallbacks:0"] = "offline";
    }
}

/// <summary>The offline narrator tells a story; it cannot summarize one, so its answer is never kept as a summary.</summary>
public sealed class SummaryOfflineFallbackTests(SummaryOfflineFallbackFixture fixture) : IClassFixture<SummaryOfflineFallbackFixture>
{
    [Fact]
    public async Task A_summary_the_offline_fallback_answered_is_replaced_by_an_extractive_one()
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        fixture.OpenAi.Enqueue(StubReply.Ok("The bell tower leans over the square."), StubReply.Ok("Crows circle the broken bell."),
            StubReply.Ok("Night falls on the square."));
        // The provider is down for summaries only: the chain falls through to the offline narrator.
        fixture.OpenAi.Responder = request => request.Body.Contains("Summarize the following turns", StringComparison.Ordinal)
            ? StubReply.Error(503, "overloaded") : null;
        await client.PlayAsync(sessionId, "I look at the bell tower.");
        await client.PlayAsync(sessionId, "I climb the stairs.");

        var third = await client.PlayAsync(sessionId, "I wait for night.");

        Assert.Equal("completed", third["status"]!.GetValue<string>());
        Assert.Contains(third["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("offline narrator") && w.GetValue<string>().Contains("summarized extractively"));
        var summary = await client.GetAsync($"/api/sessions/{sessionId}/memory/summary:turns-1-2").ExpectAsync(HttpStatusCode.OK);
        // Sentences of the turns themselves, not the offline narrator's invented prose.
        var content = summary["content"]!.GetValue<string>();
        Assert.Contains("The bell tower leans over the square.", content);
        Assert.Contains("Crows circle the broken bell.", content);
    }
}

/// <summary>Rolling summaries written by the session's real narrator (an OpenAI-compatible stub on loopback).</summary>
public sealed class SummaryProviderTests(SummaryAppFixture fixture) : IClassFixture<SummaryAppFixture>
{
    [Fact]
    public async Task The_narrator_writes_the_rolling_summary_and_the_turn_pays_for_it()
    {
        // The third turn's narration streams its six words 400 ms apart: its answer ends at least 2 s after it was asked.
        var narrationDelay = TimeSpan.FromSeconds(2);
        var (client, sessionId) = await StartAsync(StubReply.Ok("Mira crossed the ford and traded her knife for a map of the hills.", new StubUsage(40, 15)),
            StubReply.Ok("Mira crosses the ford at dawn."), StubReply.Ok("She trades her knife for a map."),
            StubReply.Ok("The map leads into the hills.") with { WordsPerChunk = 1, ChunkDelay = narrationDelay / 5 });
        await client.PlayAsync(sessionId, "I cross the ford at dawn.");
        await client.PlayAsync(sessionId, "I trade my knife for a map.");
        var before = fixture.OpenAi.RequestCount;

        var third = await client.PlayAsync(sessionId, "I follow the map into the hills.");

        // Two calls: the narration and the summary, whose request carries both old turns and asks for a summary.
        Assert.Equal(2, fixture.OpenAi.RequestCount - before);
        var requests = fixture.OpenAi.Requests.Skip(before).ToList();
        var request = Assert.Single(requests, IsSummary);
        // The summary folds turns already committed, so it is asked while the turn's narration is still streaming (once
        // its first words are in): the player waits about one model call, not two in a row.
        var narration = Assert.Single(requests, r => !IsSummary(r));
        Assert.True(request.ReceivedAt < narration.ReceivedAt + narrationDelay,
            $"summary asked {(request.ReceivedAt - narration.ReceivedAt).TotalMilliseconds:F0} ms after the narration, whose answer took at least {narrationDelay.TotalMilliseconds:F0} ms");
        Assert.Contains("Summarize the following turns", request.Body);
        Assert.Contains("I trade my knife for a map.", request.Body);
        Assert.Contains("She trades her knife for a map.", request.Body);
        Assert.DoesNotContain("I follow the map into the hills.", request.Body);

        var summary = await client.GetAsync($"/api/sessions/{sessionId}/memory/summary:turns-1-2").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Mira crossed the ford and traded her knife for a map of the hills.", summary["content"]!.GetValue<string>());
        Assert.DoesNotContain(third["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("summar"));
        // The turn's usage is its narration (11 + 7) plus the summary (40 + 15).
        Assert.Equal(11 + 40, third["usage"]!["promptTokens"]!.GetValue<long>());
        Assert.Equal(7 + 15, third["usage"]!["completionTokens"]!.GetValue<long>());
    }

    [Fact]
    public async Task When_the_narrator_cannot_summarize_the_turn_still_completes_with_an_extractive_summary()
    {
        var (client, sessionId) = await StartAsync(StubReply.Error(400, "bad request"), StubReply.Ok("The bell tower leans over the square."),
            StubReply.Ok("Crows circle the broken bell."), StubReply.Ok("Night falls on the square."));
        await client.PlayAsync(sessionId, "I look at the bell tower.");
        await client.PlayAsync(sessionId, "I climb the stairs.");

        var third = await client.PlayAsync(sessionId, "I wait for night.");

        Assert.Equal("completed", third["status"]!.GetValue<string>());
        Assert.Equal("Night falls on the square.", third["narrative"]!.GetValue<string>());
        Assert.Contains(third["warnings"]!.AsArray(), w => w!.GetValue<string>().Contains("summarized extractively"));
        var summary = await client.GetAsync($"/api/sessions/{sessionId}/memory/summary:turns-1-2").ExpectAsync(HttpStatusCode.OK);
        // Extractive: sentences of the turns themselves.
        Assert.Contains("The bell tower leans over the square.", summary["content"]!.GetValue<string>());
    }

    /// <summary>
    /// A new session of Alice's with the OpenAI stub answering summary requests with <paramref name="summary"/> and
    /// narration requests with <paramref name="narrations"/> in order (the two may reach it in either order).
    /// </summary>
    private async Task<(HttpClient Client, string SessionId)> StartAsync(StubReply summary, params StubReply[] narrations)
    {
        fixture.Reset();
        var client = fixture.App.Alice();
        var sessionId = await client.CreateSessionAsync();
        fixture.OpenAi.Enqueue(narrations);
        fixture.OpenAi.Responder = request => IsSummary(request) ? summary : null;
        return (client, sessionId);
    }

    private static bool IsSummary(StubRequest request) => request.Body.Contains("Summarize the following turns", StringComparison.Ordinal);
}
