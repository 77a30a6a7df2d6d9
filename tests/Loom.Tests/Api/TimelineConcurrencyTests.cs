using System.Net;

namespace Loom.Tests.Api;

/// <summary>
/// Rollback and fork while turns are queued or running (a slow offline narrator keeps a turn running for
/// seconds). Defined behaviour: rollback answers 409 turns_pending and changes nothing; fork works at any
/// committed seq and never sees the running turn; export leaves pending turns out.
/// </summary>
public sealed class TimelineConcurrencyTests(SlowNarratorAppFactory app) : IClassFixture<SlowNarratorAppFactory>
{
    [Fact]
    public async Task Rollback_is_refused_while_a_turn_runs_and_fork_takes_only_committed_turns()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        await client.PlayAsync(id, "I light a lantern and walk to the old mill.");
        var memoryBefore = (await client.ExportAsync(id))["memory"]!.ToJsonString();

        var running = await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I ask the miller about the Cinder." })
            .ExpectAsync(HttpStatusCode.Accepted);
        var queued = await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I follow the river north." })
            .ExpectAsync(HttpStatusCode.Accepted);
        var runningPath = $"/api/sessions/{id}/turns/{running["turnId"].Str()}";
        await client.PollAsync(runningPath, t => t["status"].Str() == "running", TimeSpan.FromSeconds(30));

        var refused = await client.RollbackAsync(id, 0, "start over").ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Contains("queued or running", refused["detail"].Str());
        await client.ForkAsync(id, 2).ExpectProblemAsync(HttpStatusCode.Conflict);

        // Export and fork while the turn runs: committed turns only, memory as of turn 1.
        var export = await client.ExportAsync(id);
        Assert.Single(export["turns"]!.AsArray());
        Assert.Equal(memoryBefore, export["memory"]!.ToJsonString());
        var fork = await client.ForkAsync(id, 1, "side path").ExpectAsync(HttpStatusCode.Created);
        var forkId = fork["sessionId"].Str();
        Assert.Equal(1, fork["turnCount"]!.GetValue<int>());
        Assert.Equal(0, fork["pendingTurns"]!.GetValue<int>());
        Assert.Equal(memoryBefore, (await client.ExportAsync(forkId))["memory"]!.ToJsonString());

        // The running and queued turns finish normally, in order, untouched by the refused rollback.
        var third = await client.PollAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}", t => t["status"].Str() == "completed", TimeSpan.FromSeconds(60));
        var second = await client.GetAsync(runningPath).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("completed", 2), (second["status"].Str(), second["seq"]!.GetValue<int>()));
        Assert.Equal(3, third["seq"]!.GetValue<int>());
        Assert.DoesNotContain(await client.AuditAsync(id), a => a["action"].Str() == "rollback");
        Assert.Single(await client.TurnsAsync(forkId, includeRetconned: true));
        Assert.Equal(memoryBefore, (await client.ExportAsync(forkId))["memory"]!.ToJsonString());

        // Once idle, the rollback goes through.
        var rolled = await client.RollbackAsync(id, 1, "start over").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, rolled["turnCount"]!.GetValue<int>());
        Assert.Equal(memoryBefore, (await client.ExportAsync(id))["memory"]!.ToJsonString());
        Assert.Equal("retconned", (await client.GetAsync(runningPath).ExpectAsync(HttpStatusCode.OK))["status"].Str());
    }
}
