using System.Net;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>
/// Stopping a turn (the studio's Stop): a running narration is cut off and a queued turn never narrated; both end
/// failed as "cancelled", leave nothing in memory, and the story goes on with the next turn in its place.
/// </summary>
public sealed class CancelTurnApiTests
{
    // Slow enough that a turn is still narrating when the test stops it (offline narrator, ~40 chunks).
    private static LoomAppFactory SlowApp() => LoomAppFactory.With(null, new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "250" });

    private static string Turns(string sessionId) => $"/api/sessions/{sessionId}/turns";

    [Fact]
    public async Task A_running_turn_stops_failed_as_cancelled_and_a_queued_one_is_never_narrated()
    {
        await using var app = SlowApp();
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var memoryBefore = (await client.ExportAsync(sessionId))["memory"]!.ToJsonString();

        var running = (await client.PostJsonAsync(Turns(sessionId), new { input = "[EDIT: fact: the bell tower is hollow] I climb the tower." })
            .ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        var queued = (await client.PostJsonAsync(Turns(sessionId), new { input = "I ring the bell." })
            .ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        await client.PollAsync($"{Turns(sessionId)}/{running}", t => t["status"]!.GetValue<string>() == "running");

        // Stop the queued one first (it must never start), then the one narrating now.
        await client.PostJsonAsync($"{Turns(sessionId)}/{queued}/cancel", new { }).ExpectAsync(HttpStatusCode.Accepted);
        var stopped = await client.PostJsonAsync($"{Turns(sessionId)}/{running}/cancel?wait=true&timeout=30", new { }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("failed", "cancelled"), (stopped["status"]!.GetValue<string>(), stopped["error"]!["code"]!.GetValue<string>()));

        var never = await client.PollAsync($"{Turns(sessionId)}/{queued}", t => t["status"]!.GetValue<string>() == "failed", TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", never["error"]!["code"]!.GetValue<string>());
        Assert.Null(never["startedAt"]);
        Assert.Equal(memoryBefore, (await client.ExportAsync(sessionId))["memory"]!.ToJsonString());

        // The story goes on: the next turn takes the next place, and a finished turn cannot be stopped.
        var next = (await client.PostJsonAsync(Turns(sessionId), new { input = "I climb down." }).ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        await client.PollAsync($"{Turns(sessionId)}/{next}", t => t["status"]!.GetValue<string>() == "completed", TimeSpan.FromSeconds(60));
        var turns = (await client.GetAsync(Turns(sessionId)).ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal([(1, "failed"), (2, "failed"), (3, "completed")],
            turns.Select(t => (t!["seq"]!.GetValue<int>(), t["status"]!.GetValue<string>())));
        var finished = await client.PostJsonAsync($"{Turns(sessionId)}/{next}/cancel", new { }).ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("turn_finished", finished["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_turn_waiting_for_a_busy_narrator_holds_none_of_its_edits_and_a_cancel_then_keeps_nothing()
    {
        // One narration at a time and no queue: a second session's turn finds the narrator overloaded and waits its turn.
        // The first session's narration must outlast the steps below on a loaded machine: a second a chunk (tens of
        // seconds in all; the app's disposal stops it).
        await using var app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Llm:Offline:ChunkDelayMs"] = "1000",
            ["Loom:Llm:Resilience:MaxConcurrency"] = "1",
            ["Loom:Llm:Resilience:QueueLimit"] = "0",
            ["Loom:Llm:Resilience:OverloadRetryDelay"] = "00:00:01",
        });
        var client = app.Alice();
        var busy = await client.CreateSessionAsync();
        var sessionId = await client.CreateSessionAsync();
        var memoryBefore = (await client.ExportAsync(sessionId))["memory"]!.ToJsonString();
        var occupying = (await client.PostJsonAsync(Turns(busy), new { input = "I tell a long story." }).ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        await client.PollAsync($"{Turns(busy)}/{occupying}", t => t["status"]!.GetValue<string>() == "running");

        using var events = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events"), HttpCompletionOption.ResponseHeadersRead);
        var sse = new SseReader(new StreamReader(await events.Content.ReadAsStreamAsync()));
        var waiting = (await client.PostJsonAsync(Turns(sessionId), new { input = "[EDIT: fact: the bridge is out] I cross the river." })
            .ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();
        // Started, refused by the busy narrator, queued again: it waits with its edit not applied.
        await sse.UntilAsync("turn.started", TimeSpan.FromSeconds(30));
        await sse.UntilAsync("turn.queued", TimeSpan.FromSeconds(30));
        await client.GetAsync($"/api/sessions/{sessionId}/memory/fact:the-bridge-is-out").ExpectProblemAsync(HttpStatusCode.NotFound);

        await client.PostJsonAsync($"{Turns(sessionId)}/{waiting}/cancel", new { }).ExpectAsync(HttpStatusCode.Accepted);
        var stopped = await client.PollAsync($"{Turns(sessionId)}/{waiting}", t => t["status"]!.GetValue<string>() == "failed", TimeSpan.FromSeconds(30));
        Assert.Equal("cancelled", stopped["error"]!["code"]!.GetValue<string>());
        Assert.Equal(memoryBefore, (await client.ExportAsync(sessionId))["memory"]!.ToJsonString());
    }

    [Fact]
    public async Task Stopping_an_unknown_turn_or_another_owners_is_404()
    {
        await using var app = SlowApp();
        var alice = app.Alice();
        var sessionId = await alice.CreateSessionAsync();
        var turn = (await alice.PostJsonAsync(Turns(sessionId), new { input = "I wait." }).ExpectAsync(HttpStatusCode.Accepted))["turnId"]!.GetValue<string>();

        await alice.PostJsonAsync($"{Turns(sessionId)}/t-999999/cancel", new { }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await app.Bob().PostJsonAsync($"{Turns(sessionId)}/{turn}/cancel", new { }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await alice.PostJsonAsync($"{Turns(sessionId)}/{turn}/cancel?timeout=0", new { }).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}
