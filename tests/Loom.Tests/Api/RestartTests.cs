using System.Net;

namespace Loom.Tests.Api;

/// <summary>Stopping the process and starting it on the same data keeps every world, session and turn.</summary>
public sealed class RestartTests
{
    [Fact]
    public async Task Worlds_sessions_and_turns_survive_a_restart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-restart-").FullName;
        string sessionId;
        string narrative;
        var worldId = "restart-" + Guid.NewGuid().ToString("N")[..6];
        await using (var first = LoomAppFactory.With(dataDirectory, null))
        {
            var client = first.Alice();
            await client.PutAsync($"/api/worlds/{worldId}", new StringContent(
                "# World\nA salt marsh kingdom of stilt houses and ferrymen who remember every debt.\n\n# Tone\nWry, warm, a little muddy.",
                System.Text.Encoding.UTF8, "text/markdown")).ExpectAsync(HttpStatusCode.Created);
            sessionId = await client.CreateSessionAsync(worldId);
            await client.PlayAsync(sessionId, "I hail the ferryman.");
            narrative = (await client.PlayAsync(sessionId, "I pay him in river pearls."))["narrative"]!.GetValue<string>();
        }

        await using var second = LoomAppFactory.With(dataDirectory, null);
        var again = second.Alice();
        var world = await again.GetAsync($"/api/worlds/{worldId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, world["latestVersion"]!.GetValue<int>());
        var session = await again.GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, session["turnCount"]!.GetValue<int>());
        var turns = (await again.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(2, turns.Count);
        Assert.Equal(narrative, turns[1]!["narrative"]!.GetValue<string>());
        var listed = await again.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(listed["items"]!.AsArray(), s => s!["sessionId"]!.GetValue<string>() == sessionId);

        // And the story goes on where it stopped.
        var third = await again.PlayAsync(sessionId, "I step onto the ferry.");
        Assert.Equal(3, third["seq"]!.GetValue<int>());
    }

    [Fact]
    public async Task Turns_queued_when_the_process_stops_are_played_after_the_restart()
    {
        var dataDirectory = Directory.CreateTempSubdirectory("loom-resume-").FullName;
        var slow = new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "150" };
        string sessionId;
        await using (var first = LoomAppFactory.With(dataDirectory, slow))
        {
            var client = first.Alice();
            sessionId = await client.CreateSessionAsync();
            for (var i = 1; i <= 4; i++)
                await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = $"Queued step {i}." }, $"q{i}").ExpectAsync(HttpStatusCode.Accepted);
        }

        await using var second = LoomAppFactory.With(dataDirectory, null);
        var again = second.Alice();
        var session = await again.PollAsync($"/api/sessions/{sessionId}", s => s["turnCount"]!.GetValue<int>() == 4, TimeSpan.FromSeconds(90));
        Assert.Equal(0, session["pendingTurns"]!.GetValue<int>());
        var turns = (await again.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(new[] { 1, 2, 3, 4 }, turns.Select(t => t!["seq"]!.GetValue<int>()));
        Assert.All(turns, t => Assert.Equal("completed", t!["status"]!.GetValue<string>()));
        // Resubmitting with the same key after the restart still answers the first turn.
        var repeat = await again.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "Queued step 1." }, "q1").ExpectAsync(HttpStatusCode.Accepted);
        Assert.Equal(turns[0]!["turnId"]!.GetValue<string>(), repeat["turnId"]!.GetValue<string>());
    }
}
