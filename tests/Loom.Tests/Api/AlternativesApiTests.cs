using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>Regenerate, resend, continue and choice of the latest turn, and the story tree, through the API
/// (summaries every 3 turns, so a switch must carry summaries along too).</summary>
public sealed class AlternativesApiTests(TimelineAppFactory app) : IClassFixture<TimelineAppFactory>
{
    private static string Turn(string sessionId, string turnId, string action = "") =>
        $"/api/sessions/{sessionId}/turns/{turnId}" + (action.Length == 0 ? "" : "/" + action);

    private static Task<HttpResponseMessage> ChooseAsync(HttpClient client, string sessionId, string turnId, object body) =>
        client.PutAsJsonAsync(Turn(sessionId, turnId, "choice"), body);

    private static async Task<(string Id, JsonNode Last)> PlayAsync(HttpClient client, params string[] inputs)
    {
        var id = await client.CreateSessionAsync();
        JsonNode last = new JsonObject();
        foreach (var input in inputs) last = await client.PlayAsync(id, input);
        return (id, last);
    }

    private static async Task<string> MemoryAsync(HttpClient client, string id) => (await client.ExportAsync(id))["memory"]!.ToJsonString();

    [Fact]
    public async Task Regenerate_and_resend_add_alternatives_that_memory_follows_and_choice_restores_it_exactly()
    {
        var client = app.Alice();
        var (id, first) = await PlayAsync(client,
            "I light a lantern and walk to the old mill. [TONE: hushed and wary]",
            "I follow the river north toward the glowing fields.",
            "I ask the miller about the Cinder. [EDIT: character: add: name=Mira, description=a smuggler who owes me]");
        var turnId = first["turnId"].Str();
        var memoryBefore = await MemoryAsync(client, id);
        var infoBefore = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Contains("Mira", memoryBefore);

        var regenerated = await client.PostJsonAsync(Turn(id, turnId, "regenerate") + "?wait=true&timeout=60", new { reason = "flat" })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", regenerated["status"].Str());
        Assert.Equal(turnId, regenerated["turnId"].Str());
        Assert.Equal(3, regenerated["seq"]!.GetValue<int>());
        Assert.Equal(2, regenerated["alternatives"]!["count"]!.GetValue<int>());
        Assert.Equal(2, regenerated["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.NotEqual(first["narrative"].Str(), regenerated["narrative"].Str());
        Assert.Equal(first["narrative"].Str(), regenerated["alternatives"]!["items"]![0]!["narrative"].Str());
        Assert.Equal(first["input"].Str(), regenerated["input"].Str());
        // The edit marker is applied again by the new take, so Mira is still known.
        Assert.Contains("Mira", await MemoryAsync(client, id));

        // Resend: a new input, a new alternative; the old input's edit is gone from memory, the new one is there.
        var resent = await client.PostJsonAsync(Turn(id, turnId, "resend") + "?wait=true&timeout=60",
            new { input = "[EDIT: fact: the ford is flooded] I look for another way across." }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, resent["alternatives"]!["count"]!.GetValue<int>());
        Assert.Equal(3, resent["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.StartsWith("[EDIT: fact: the ford is flooded]", resent["input"].Str());
        var resentMemory = await MemoryAsync(client, id);
        Assert.Contains("the ford is flooded", resentMemory);
        Assert.DoesNotContain("a smuggler who owes me", resentMemory);

        // Back to the first: memory (with history and summaries) is byte for byte what it was; so is the header.
        var chosen = await ChooseAsync(client, id, turnId, new { alternative = 1 }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, chosen["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.Equal(first["narrative"].Str(), chosen["narrative"].Str());
        Assert.Equal(memoryBefore, await MemoryAsync(client, id));
        var infoAfter = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(infoBefore["turnCount"]!.GetValue<int>(), infoAfter["turnCount"]!.GetValue<int>());
        Assert.Equal(infoBefore["tone"]?.ToJsonString(), infoAfter["tone"]?.ToJsonString());

        // And forward again: the resent alternative's memory comes back exactly too.
        await ChooseAsync(client, id, turnId, new { alternative = 3 }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(resentMemory, await MemoryAsync(client, id));
        await ChooseAsync(client, id, turnId, new { alternative = 3 }).ExpectAsync(HttpStatusCode.OK); // already chosen: no-op

        // Reads show the alternatives; the audit log names every step.
        var read = await client.GetAsync(Turn(id, turnId)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, read["alternatives"]!["count"]!.GetValue<int>());
        var listed = (await client.TurnsAsync(id)).Last();
        Assert.Equal(3, listed["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.Null((await client.TurnsAsync(id))[0]["alternatives"]);
        var actions = (await client.AuditAsync(id)).Select(a => a["action"].Str()).ToList();
        Assert.Contains("regenerate", actions);
        Assert.Contains("resend", actions);
        Assert.Equal(2, actions.Count(a => a == "choice"));

        // The next turn plays on from the chosen alternative.
        var next = await client.PlayAsync(id, "I wade into the river.");
        Assert.Equal(4, next["seq"]!.GetValue<int>());
    }

    [Fact]
    public async Task Continue_extends_the_chosen_narrative_and_its_memory()
    {
        var client = app.Alice();
        var (id, first) = await PlayAsync(client, "I light a lantern and walk to the old mill.");
        var turnId = first["turnId"].Str();
        var continued = await client.PostAsync(Turn(id, turnId, "continue") + "?wait=true&timeout=60", null).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("completed", continued["status"].Str());
        var before = first["narrative"].Str();
        Assert.StartsWith(before.TrimEnd(), continued["narrative"].Str());
        Assert.True(continued["narrative"].Str().Length > before.Length + 10, continued["narrative"].Str());
        Assert.Equal(first["input"].Str(), continued["input"].Str());
        Assert.Null(continued["alternatives"]);
        Assert.True(continued["memoryUpdates"]!.AsArray().Count >= first["memoryUpdates"]!.AsArray().Count);
        var info = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(1, info["turnCount"]!.GetValue<int>());
        Assert.Contains((await client.AuditAsync(id)), a => a["action"].Str() == "continue");
    }

    [Fact]
    public async Task Tree_shows_retconned_stretches_forks_and_alternatives()
    {
        var client = app.Alice();
        var (id, _) = await PlayAsync(client, "I walk to the mill.", "I climb the ridge.", "I watch the sky.");
        await client.RollbackAsync(id, 1).ExpectAsync(HttpStatusCode.OK);
        var replayed = await client.PlayAsync(id, "I go down to the river instead.");
        var fork = await client.ForkAsync(id, 1).ExpectAsync(HttpStatusCode.Created);
        await client.PostAsync(Turn(id, replayed["turnId"].Str(), "regenerate") + "?wait=true&timeout=60", null).ExpectAsync(HttpStatusCode.OK);

        var tree = await client.GetAsync($"/api/sessions/{id}/tree").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(id, tree["sessionId"].Str());
        Assert.Null(tree["forkedFrom"]);
        var live = tree["turns"]!.AsArray();
        Assert.Equal([1, 2], live.Select(t => t!["seq"]!.GetValue<int>()));
        Assert.Equal(replayed["turnId"].Str(), live[1]!["turnId"].Str());
        Assert.Equal(2, live[1]!["alternatives"]!.GetValue<int>());
        Assert.Equal(2, live[1]!["chosen"]!.GetValue<int>());
        var branch = tree["retconned"]!.AsArray().Single()!;
        Assert.Equal(1, branch["afterSeq"]!.GetValue<int>());
        Assert.Equal(live[0]!["turnId"].Str(), branch["afterTurnId"].Str());
        Assert.Equal([2, 3], branch["turns"]!.AsArray().Select(t => t!["seq"]!.GetValue<int>()));
        Assert.All(branch["turns"]!.AsArray(), t => Assert.Equal("retconned", t!["status"].Str()));
        var forked = tree["forks"]!.AsArray().Single()!;
        Assert.Equal(fork["sessionId"].Str(), forked["sessionId"].Str());
        Assert.Equal(1, forked["atSeq"]!.GetValue<int>());

        var forkTree = await client.GetAsync($"/api/sessions/{fork["sessionId"].Str()}/tree").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(id, forkTree["forkedFrom"]!["sessionId"].Str());
        Assert.Equal(1, forkTree["forkedFrom"]!["atSeq"]!.GetValue<int>());
        Assert.Single(forkTree["turns"]!.AsArray());
    }

    [Fact]
    public async Task Reworks_refuse_old_turns_bad_indexes_and_strangers_and_replay_the_same_key()
    {
        var client = app.Alice();
        var (id, _) = await PlayAsync(client, "I walk to the mill.", "I climb the ridge.");
        var turns = await client.TurnsAsync(id);
        var oldId = turns[0]["turnId"].Str();
        var latestId = turns[1]["turnId"].Str();

        var notLatest = await client.PostAsync(Turn(id, oldId, "regenerate"), null).ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("not_latest_turn", notLatest["code"].Str());
        await ChooseAsync(client, id, oldId, new { alternative = 2 }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostAsync(Turn(id, "t99-nope", "regenerate"), null).ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.PostAsync(Turn(id, "garbage", "continue"), null).ExpectProblemAsync(HttpStatusCode.NotFound);
        var badIndex = await ChooseAsync(client, id, latestId, new { alternative = 2 }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(badIndex["errors"]?["alternative"]);
        await ChooseAsync(client, id, latestId, new { alternative = 0 }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await ChooseAsync(client, id, latestId, new { }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync(Turn(id, latestId, "resend"), new { input = "  " }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync(Turn(id, latestId, "resend"), new { }).ExpectProblemAsync(HttpStatusCode.BadRequest);

        using var anonymous = app.CreateClient();
        await anonymous.PostAsync(Turn(id, latestId, "regenerate"), null).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        await anonymous.GetAsync($"/api/sessions/{id}/tree").ExpectProblemAsync(HttpStatusCode.Unauthorized);
        var bob = app.Bob();
        await bob.PostAsync(Turn(id, latestId, "regenerate"), null).ExpectProblemAsync(HttpStatusCode.NotFound);
        await ChooseAsync(bob, id, latestId, new { alternative = 1 }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.GetAsync($"/api/sessions/{id}/tree").ExpectProblemAsync(HttpStatusCode.NotFound);

        // The same Idempotency-Key twice makes one alternative.
        var once = await client.PostJsonAsync(Turn(id, latestId, "regenerate"), new { }, "regen-1").ExpectAsync(HttpStatusCode.Accepted);
        Assert.Equal("queued", once["status"].Str());
        var again = await client.PostJsonAsync(Turn(id, latestId, "regenerate"), new { }, "regen-1");
        Assert.True(again.StatusCode is HttpStatusCode.Accepted, await again.Content.ReadAsStringAsync());
        var done = await client.PollAsync(Turn(id, latestId), t => t["status"].Str() == "completed" && t["alternatives"] is not null);
        Assert.Equal(2, done["alternatives"]!["count"]!.GetValue<int>());
        var replay = await client.PostJsonAsync(Turn(id, latestId, "regenerate") + "?wait=true", new { }, "regen-1").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, replay["alternatives"]!["count"]!.GetValue<int>());
        Assert.Single(await client.AuditAsync(id), a => a["action"].Str() == "regenerate");

        // That key on another kind of rework, or one resend's key on another input, is not a retry: 422, nothing queued.
        var reused = await client.PostJsonAsync(Turn(id, latestId, "continue"), new { }, "regen-1").ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("idempotency_key_reused", reused["code"].Str());
        var resent = await client.PostJsonAsync(Turn(id, latestId, "resend") + "?wait=true&timeout=60", new { input = "I knock harder." }, "resend-1")
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(3, resent["alternatives"]!["count"]!.GetValue<int>());
        var retried = await client.PostJsonAsync(Turn(id, latestId, "resend"), new { input = "I knock harder." }, "resend-1").ExpectAsync(HttpStatusCode.Accepted);
        Assert.Equal(3, retried["alternatives"]!["count"]!.GetValue<int>());
        await client.PostJsonAsync(Turn(id, latestId, "resend"), new { input = "I leave." }, "resend-1").ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        var after = await client.GetAsync(Turn(id, latestId)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(("I knock harder.", 3), (after["input"].Str(), after["alternatives"]!["count"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Alternatives_survive_export_and_import_and_can_still_be_chosen()
    {
        var client = app.Alice();
        var (id, first) = await PlayAsync(client, "I walk to the mill.", "I knock on the door.");
        var turnId = first["turnId"].Str();
        var regenerated = await client.PostJsonAsync(Turn(id, turnId, "regenerate") + "?wait=true&timeout=60", new { })
            .ExpectAsync(HttpStatusCode.OK);
        var export = await client.ExportAsync(id);

        var imported = await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created);
        var importedId = imported["sessionId"].Str();
        var memoryAfterImport = await MemoryAsync(client, importedId);
        var latest = await client.GetAsync(Turn(importedId, turnId)).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((2, 2), (latest["alternatives"]!["count"]!.GetValue<int>(), latest["alternatives"]!["chosen"]!.GetValue<int>()));
        Assert.Equal(regenerated["narrative"].Str(), latest["narrative"].Str());

        // The first take is chosen back: its text is the turn's, and memory (whose per-take changes no export carries) stays.
        var chosen = await ChooseAsync(client, importedId, turnId, new { alternative = 1 }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(first["narrative"].Str(), chosen["narrative"].Str());
        Assert.Equal(1, chosen["alternatives"]!["chosen"]!.GetValue<int>());
        Assert.Equal(memoryAfterImport, await MemoryAsync(client, importedId));

        // An export that lies about its alternatives is refused and stores nothing.
        var lie = JsonNode.Parse(export.ToJsonString())!;
        lie["turns"]!.AsArray().Single(t => t!["turnId"].Str() == turnId)!["alternatives"]!["chosen"] = 7;
        await client.PostJsonAsync("/api/sessions/import", lie).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}

/// <summary>Reworks while a turn is still running (the slow offline narrator).</summary>
public sealed class AlternativesPendingTests(SlowNarratorAppFactory app) : IClassFixture<SlowNarratorAppFactory>
{
    [Fact]
    public async Task Reworks_and_choice_answer_409_while_a_turn_is_pending()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var first = await client.PlayAsync(id, "I walk to the mill.");
        var turnId = first["turnId"].Str();
        var queued = await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I climb the ridge." }).ExpectAsync(HttpStatusCode.Accepted);

        var pending = await client.PostAsync($"/api/sessions/{id}/turns/{turnId}/regenerate", null).ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("turns_pending", pending["code"].Str());
        var self = await client.PostAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}/continue", null).ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("turns_pending", self["code"].Str());
        await client.PutAsJsonAsync($"/api/sessions/{id}/turns/{turnId}/choice", new { alternative = 1 }).ExpectAsync(HttpStatusCode.OK);

        // A rework is itself pending while it runs: a second one waits its turn too.
        await client.PollAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}", t => t["status"].Str() == "completed");
        await client.PostAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}/regenerate", null).ExpectAsync(HttpStatusCode.Accepted);
        var twice = await client.PostAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}/regenerate", null).ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("turns_pending", twice["code"].Str());
        await client.PollAsync($"/api/sessions/{id}/turns/{queued["turnId"].Str()}", t => t["alternatives"]?["count"]?.GetValue<int>() == 2);
    }

    [Fact]
    public async Task A_failed_turn_regenerated_exports_with_its_failed_attempt_and_imports()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I walk to the mill." }).ExpectAsync(HttpStatusCode.Accepted);
        var second = await client.PostJsonAsync($"/api/sessions/{id}/turns", new { input = "I climb the ridge." }).ExpectAsync(HttpStatusCode.Accepted);
        var secondId = second["turnId"].Str();
        await client.PostAsync($"/api/sessions/{id}/turns/{secondId}/cancel", null).ExpectAsync(HttpStatusCode.Accepted);
        await client.PollAsync($"/api/sessions/{id}/turns/{secondId}", t => t["status"].Str() == "failed");
        await client.PostAsync($"/api/sessions/{id}/turns/{secondId}/regenerate", null).ExpectAsync(HttpStatusCode.Accepted);
        await client.PollAsync($"/api/sessions/{id}/turns/{secondId}", t => t["status"].Str() == "completed" && t["alternatives"]?["count"]?.GetValue<int>() == 2);

        var export = await client.ExportAsync(id);
        var items = export["turns"]![1]!["alternatives"]!["items"]!.AsArray();
        Assert.Equal(["failed", "completed"], items.Select(a => a!["status"].Str()));
        var copy = (await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created))["sessionId"].Str();
        Assert.Equal(export["turns"]!.ToJsonString(), (await client.ExportAsync(copy))["turns"]!.ToJsonString());
    }

    [Fact]
    public async Task While_a_rework_runs_the_full_timeline_still_lists_every_turn_and_export_waits_for_it()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var first = await client.PlayAsync(id, "I walk to the mill.");
        await client.PlayAsync(id, "I climb the ridge.");
        await client.RollbackAsync(id, 1, "back to the mill").ExpectAsync(HttpStatusCode.OK);

        // Regenerating turn 1 rewrites its record in place; the retconned turn 2 after it is still in the journal.
        await client.PostAsync($"/api/sessions/{id}/turns/{first["turnId"].Str()}/regenerate", null).ExpectAsync(HttpStatusCode.Accepted);
        var all = await client.GetAsync($"/api/sessions/{id}/turns?includeRetconned=true").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["I walk to the mill.", "I climb the ridge."], all["items"]!.AsArray().Select(t => t!["input"].Str()));
        Assert.Equal("retconned", all["items"]![1]!["status"].Str());
        var busy = await client.GetAsync($"/api/sessions/{id}/export").ExpectProblemAsync(HttpStatusCode.Conflict);
        Assert.Equal("rework_running", busy["code"].Str());

        await client.PollAsync($"/api/sessions/{id}/turns/{first["turnId"].Str()}", t => t["alternatives"]?["count"]?.GetValue<int>() == 2);
        var export = await client.ExportAsync(id);
        Assert.Equal(2, export["turns"]!.AsArray().Count);
        await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created);
    }

}

