using System.Net;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>Rollback and fork through the API (summaries every 3 turns so they are rolled back too).</summary>
public sealed class RollbackApiTests(TimelineAppFactory app) : IClassFixture<TimelineAppFactory>
{
    private static readonly string[] Inputs =
    [
        "I light a lantern and walk to the old mill. [TONE: hushed and wary]",
        "I ask the miller about the Cinder. [EDIT: character: add: name=Mira, description=a smuggler who owes me]",
        "I follow the river north toward the glowing fields.",
        "I pocket a shard of emberglass. [TONE: feverish]",
        "[EDIT: fact: the bridge is out] I look for another way across.",
        "I wake Mira and tell her about the whispers. [RETCON: Mira never left the vale | she was hiding in the mill all along]",
        "I climb the ridge and watch the sky.",
        "I throw the shard into the river.",
    ];

    private static async Task<string> PlayAllAsync(HttpClient client, IEnumerable<string> inputs)
    {
        var id = await client.CreateSessionAsync();
        foreach (var input in inputs) await client.PlayAsync(id, input);
        return id;
    }

    [Fact]
    public async Task Rollback_restores_memory_summaries_and_tone_exactly_as_a_session_that_stopped_there()
    {
        const int k = 4;
        var client = app.Alice();
        var full = await PlayAllAsync(client, Inputs);
        var shortOne = await PlayAllAsync(client, Inputs.Take(k));
        var before = await client.ExportAsync(full);
        Assert.Contains(before["memory"]!.AsArray(), e => e!["current"]?["type"]?.Str() == "summary"
            && int.Parse(e["current"]!["attributes"]!["toSeq"].Str()) > k); // a summary that must go

        var session = await client.RollbackAsync(full, k, "the ridge scene went nowhere").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(k, session["turnCount"]!.GetValue<int>());
        Assert.Equal("feverish", session["tone"].Str());

        var rolled = await client.ExportAsync(full);
        var reference = await client.ExportAsync(shortOne);
        // Byte for byte: memory (with history, summaries included) equals the session that only had turns 1..k.
        Assert.Equal(reference["memory"]!.ToJsonString(), rolled["memory"]!.ToJsonString());
        Assert.Equal(reference["timeline"]!["tones"]!.ToJsonString(), rolled["timeline"]!["tones"]!.ToJsonString());

        // Later turns are kept as retconned; the live timeline ends at k; the next turn is k+1.
        var live = await client.TurnsAsync(full);
        Assert.Equal(Enumerable.Range(1, k), live.Select(t => t["seq"]!.GetValue<int>()));
        var all = await client.TurnsAsync(full, includeRetconned: true);
        Assert.Equal(Inputs.Length, all.Count);
        Assert.Equal(Enumerable.Repeat("retconned", Inputs.Length - k), all.Skip(k).Select(t => t["status"].Str()));
        var old = all[k]!;
        Assert.Equal("retconned", (await client.GetAsync($"/api/sessions/{full}/turns/{old["turnId"].Str()}").ExpectAsync(HttpStatusCode.OK))["status"].Str());

        // Prompts after the rollback see exactly what the short session sees: same narrative, same memory (vectors,
        // BM25 and summaries all restored, or retrieval would differ).
        var next = await client.PlayAsync(full, "I sit by the mill wheel and listen.");
        var nextRef = await client.PlayAsync(shortOne, "I sit by the mill wheel and listen.");
        Assert.Equal(k + 1, next["seq"]!.GetValue<int>());
        Assert.Equal(nextRef["narrative"].Str(), next["narrative"].Str());
        Assert.Equal(nextRef["memoryUsed"]!.ToJsonString(), next["memoryUsed"]!.ToJsonString());
        Assert.Equal((await client.ExportAsync(shortOne))["memory"]!.ToJsonString(), (await client.ExportAsync(full))["memory"]!.ToJsonString());
        var withBoth = await client.TurnsAsync(full, includeRetconned: true);
        Assert.Equal(2, withBoth.Count(t => t["seq"]!.GetValue<int>() == k + 1));

        var audit = (await client.AuditAsync(full)).Single(a => a["action"].Str() == "rollback");
        Assert.Equal(k, audit["seq"]!.GetValue<int>());
        Assert.Equal("the ridge scene went nowhere", audit["reason"].Str());
        Assert.Equal((Inputs.Length - k).ToString(), audit["details"]!["retconnedTurns"].Str());
    }

    [Fact]
    public async Task Rollback_emits_session_rolledback_and_refuses_bad_targets()
    {
        var client = app.Alice();
        var id = await PlayAllAsync(client, Inputs.Take(2));
        await client.RollbackAsync(id, 3).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.RollbackAsync(id, -1).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync($"/api/sessions/{id}/rollback", new { reason = "no target" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await app.Bob().RollbackAsync(id, 1).ExpectProblemAsync(HttpStatusCode.NotFound);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{id}/events");
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var reader = new SseReader(new StreamReader(await response.Content.ReadAsStreamAsync()));
        await client.RollbackAsync(id, 0, "start over").ExpectAsync(HttpStatusCode.OK);
        SseReader.Event? ev;
        do ev = await reader.NextAsync(TimeSpan.FromSeconds(20));
        while (ev is not null && ev.Type != "session.rolledback");
        Assert.NotNull(ev);
        Assert.Equal(0, JsonNode.Parse(ev.Data)!["turnCount"]!.GetValue<int>());
        Assert.Empty((await client.GetAsync($"/api/sessions/{id}/memory").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task A_fork_holds_turns_up_to_its_seq_and_evolves_independently()
    {
        var client = app.Alice();
        var source = await PlayAllAsync(client, Inputs.Take(5));
        var reference = await PlayAllAsync(client, Inputs.Take(3));

        var fork = await client.ForkAsync(source, 3, "what if").ExpectAsync(HttpStatusCode.Created);
        var forkId = fork["sessionId"].Str();
        Assert.Equal("what if", fork["name"].Str());
        Assert.Equal(3, fork["turnCount"]!.GetValue<int>());
        Assert.Equal($"{source}@3", fork["forkedFrom"].Str());
        Assert.Equal("hushed and wary", fork["tone"].Str());

        // Turns 1..3 only (new ids), memory exactly as of turn 3 (same as a session that stopped there).
        var forkTurns = await client.TurnsAsync(forkId, includeRetconned: true);
        var sourceTurns = await client.TurnsAsync(source);
        Assert.Equal([1, 2, 3], forkTurns.Select(t => t["seq"]!.GetValue<int>()));
        Assert.Equal(sourceTurns.Take(3).Select(t => t["narrative"].Str()), forkTurns.Select(t => t["narrative"].Str()));
        Assert.Empty(forkTurns.Select(t => t["turnId"].Str()).Intersect(sourceTurns.Select(t => t["turnId"].Str())));
        Assert.Equal((await client.ExportAsync(reference))["memory"]!.ToJsonString(), (await client.ExportAsync(forkId))["memory"]!.ToJsonString());

        // Independent afterwards, both ways.
        var sourceMemory = (await client.ExportAsync(source))["memory"]!.ToJsonString();
        await client.PlayAsync(forkId, "I turn back toward the mill.");
        await client.DeleteAsync($"/api/sessions/{forkId}/memory/character:mira").ExpectAsync(HttpStatusCode.NoContent);
        Assert.Equal(sourceMemory, (await client.ExportAsync(source))["memory"]!.ToJsonString());
        Assert.Equal(5, (await client.GetAsync($"/api/sessions/{source}").ExpectAsync(HttpStatusCode.OK))["turnCount"]!.GetValue<int>());
        var forkMemory = (await client.ExportAsync(forkId))["memory"]!.ToJsonString();
        var sixth = await client.PlayAsync(source, "I climb the ridge and watch the sky.");
        Assert.Equal(6, sixth["seq"]!.GetValue<int>());
        Assert.Equal(forkMemory, (await client.ExportAsync(forkId))["memory"]!.ToJsonString());
        Assert.Equal(4, (await client.TurnsAsync(forkId)).Count);

        Assert.Contains(await client.AuditAsync(source), a => a["action"].Str() == "fork" && a["details"]!["forkSessionId"].Str() == forkId);
        Assert.Contains(await client.AuditAsync(forkId), a => a["action"].Str() == "fork" && a["details"]!["sourceSessionId"].Str() == source);
        var listed = await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
        Assert.Contains(listed["items"]!.AsArray(), s => s!["sessionId"].Str() == forkId);
        await client.ForkAsync(source, 99).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await app.Bob().ForkAsync(source, 1).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Export_imports_into_an_identical_session()
    {
        var client = app.Alice();
        var id = await PlayAllAsync(client, Inputs.Take(6));
        await client.RollbackAsync(id, 4, "trying another path").ExpectAsync(HttpStatusCode.OK);
        await client.PlayAsync(id, "I follow the smoke instead. (OOC: nice scene)");
        await client.PutAsync($"/api/sessions/{id}/memory/item:lantern",
            System.Net.Http.Json.JsonContent.Create(new { type = "item", name = "Lantern", content = "brass, dented", reason = "inventory" }))
            .ExpectAsync(HttpStatusCode.OK);
        var export = await client.ExportAsync(id);
        Assert.Equal("loom.session.v1", export["format"].Str());
        Assert.StartsWith("sha256:", export["canon"]!["hash"].Str());
        Assert.Equal(7, export["turns"]!.AsArray().Count);

        // Markdown: a readable story in chapters per summary window.
        var markdown = await (await client.GetAsync($"/api/sessions/{id}/export?format=markdown")).Content.ReadAsStringAsync();
        Assert.Contains("## Chapter 1 (turns 1–3)", markdown);
        Assert.Contains("**You:** I light a lantern and walk to the old mill.", markdown);
        Assert.DoesNotContain("[TONE", markdown);
        Assert.DoesNotContain("loom-memory", markdown);

        var imported = await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created);
        var copy = imported["sessionId"].Str();
        Assert.NotEqual(id, copy);
        var again = await client.ExportAsync(copy);

        foreach (var part in new[] { "canon", "turns", "memory", "timeline", "llm" })
            Assert.Equal(export[part]!.ToJsonString(), again[part]!.ToJsonString());
        var (a, b) = (export["session"]!.AsObject(), again["session"]!.AsObject());
        foreach (var field in new[] { "name", "worldId", "canonVersion", "status", "createdAt", "turnCount", "lastTurnAt", "usage", "tone", "policy" })
            Assert.Equal(a[field]?.ToJsonString(), b[field]?.ToJsonString());
        var audit = again["audit"]!.AsArray();
        Assert.Equal(export["audit"]!.ToJsonString(), new JsonArray(audit.Take(audit.Count - 1).Select(n => n!.DeepClone()).ToArray()).ToJsonString());
        Assert.Equal("import", audit[^1]!["action"].Str());

        // The copy plays on, and can still roll back into the history it imported.
        Assert.Equal(6, (await client.PlayAsync(copy, "I look back at the vale."))["seq"]!.GetValue<int>());
        await client.RollbackAsync(copy, 2, "earlier").ExpectAsync(HttpStatusCode.OK);
        await client.RollbackAsync(id, 2, "earlier").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal((await client.ExportAsync(id))["memory"]!.ToJsonString(), (await client.ExportAsync(copy))["memory"]!.ToJsonString());
        await app.Bob().GetAsync($"/api/sessions/{copy}").ExpectProblemAsync(HttpStatusCode.NotFound);

    }

    [Fact]
    public async Task Export_after_rollbacks_to_ever_earlier_turns_imports_and_plays_on()
    {
        var client = app.Alice();
        var id = await PlayAllAsync(client, Inputs.Take(5));
        await client.RollbackAsync(id, 3, "not this way").ExpectAsync(HttpStatusCode.OK);
        await client.RollbackAsync(id, 1, "further back").ExpectAsync(HttpStatusCode.OK);
        await client.PlayAsync(id, "I take the other road.");
        var export = await client.ExportAsync(id);
        // The first rollback's segment (from turn 4) places no turn any more: the second one starts before it.
        Assert.Equal([1, 2], export["timeline"]!["segments"]!.AsArray().Select(s => s!["startSeq"]!.GetValue<int>()));

        var copy = (await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created))["sessionId"].Str();
        var again = await client.ExportAsync(copy);
        foreach (var part in new[] { "turns", "memory", "timeline" })
            Assert.Equal(export[part]!.ToJsonString(), again[part]!.ToJsonString());
        Assert.Equal(3, (await client.PlayAsync(copy, "I look back at the vale."))["seq"]!.GetValue<int>());

        // An export of an older build still lists the shadowed segment; it imports all the same.
        var segments = export["timeline"]!["segments"]!.AsArray();
        segments.Insert(1, new JsonObject { ["startSeq"] = 4, ["startOrdinal"] = 5 });
        var older = (await client.PostJsonAsync("/api/sessions/import", export).ExpectAsync(HttpStatusCode.Created))["sessionId"].Str();
        Assert.Equal(again["turns"]!.ToJsonString(), (await client.ExportAsync(older))["turns"]!.ToJsonString());
        Assert.Equal(3, (await client.PlayAsync(older, "I look back at the vale."))["seq"]!.GetValue<int>());
    }

    [Fact]
    public async Task Import_reads_left_out_lists_as_empty_and_refuses_nulls_and_oversized_memory_before_storing_anything()
    {
        var client = app.Alice();
        var id = await PlayAllAsync(client, Inputs.Take(1));
        var export = await client.ExportAsync(id);
        JsonObject Entity(JsonNode value) => new()
        {
            ["entityId"] = "fact:bridge",
            ["history"] = new JsonArray(new JsonObject { ["seq"] = 1, ["value"] = value.DeepClone() }),
        };
        JsonNode With(JsonNode entity, Action<JsonObject>? change = null)
        {
            var copy = export.DeepClone().AsObject();
            copy["memory"]!.AsArray().Add(entity);
            change?.Invoke(copy);
            return copy;
        }
        var bridge = new JsonObject { ["entityId"] = "fact:bridge", ["type"] = "fact", ["name"] = "Bridge", ["content"] = "out", ["aliases"] = null, ["attributes"] = null };

        // Lists left out or null are empty (as an entity always has them), and tones too: the copy reads and plays.
        var copy = (await client.PostJsonAsync("/api/sessions/import", With(Entity(bridge), e => e["timeline"]!["tones"] = null))
            .ExpectAsync(HttpStatusCode.Created))["sessionId"].Str();
        var fact = await client.GetAsync($"/api/sessions/{copy}/memory/fact:bridge").ExpectAsync(HttpStatusCode.OK);
        Assert.Empty(fact["aliases"]!.AsArray());
        Assert.Equal("completed", (await client.PlayAsync(copy, "I look at the bridge."))["status"].Str());

        var before = (await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;
        var nullRevision = new JsonObject { ["entityId"] = "fact:bridge", ["history"] = new JsonArray((JsonNode?)null) };
        await client.PostJsonAsync("/api/sessions/import", With(nullRevision)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var nullAlias = (JsonObject)bridge.DeepClone();
        nullAlias["aliases"] = new JsonArray((JsonNode?)null);
        await client.PostJsonAsync("/api/sessions/import", With(Entity(nullAlias))).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var bigAttribute = (JsonObject)bridge.DeepClone();
        bigAttribute["attributes"] = new JsonObject { ["state"] = new string('x', 5000) };
        var large = await client.PostJsonAsync("/api/sessions/import", With(Entity(bigAttribute))).ExpectProblemAsync((HttpStatusCode)422);
        Assert.Equal("import_too_large", large["code"].Str());
        await client.PostJsonAsync("/api/sessions/import", With(Entity(bridge), e => e["canon"]!["worldId"] = null)).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Equal(before, (await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Import_takes_bodies_larger_than_the_default_limit()
    {
        var client = app.Alice();
        var id = await PlayAllAsync(client, Inputs.Take(1));
        var export = await client.ExportAsync(id);
        // A long story exports to megabytes: pad a real export past the 2 MiB default with a field import ignores.
        export["padding"] = new string('x', 3 * 1024 * 1024);
        // A string body has a Content-Length, so the up-front limit check is the one exercised.
        var body = new System.Net.Http.StringContent(export.ToJsonString(), System.Text.Encoding.UTF8, "application/json");
        Assert.True(body.Headers.ContentLength > 3 * 1024 * 1024);
        var imported = await client.PostAsync("/api/sessions/import", body).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(export["turns"]!.ToJsonString(), (await client.ExportAsync(imported["sessionId"].Str()))["turns"]!.ToJsonString());

        // Other endpoints keep the 2 MiB limit.
        var big = new System.Net.Http.StringContent("{\"name\":\"" + new string('x', 3 * 1024 * 1024) + "\"}", System.Text.Encoding.UTF8, "application/json");
        await client.PatchAsync($"/api/sessions/{id}", big).ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
    }

    [Fact]
    public async Task Import_refuses_malformed_or_mismatched_exports()
    {
        var client = app.Bob(); // a user of its own, so the session count below is not disturbed by other tests
        var id = await PlayAllAsync(client, Inputs.Take(1));
        var export = await client.ExportAsync(id);

        var wrongFormat = export.DeepClone();
        wrongFormat["format"] = "something.else";
        await client.PostJsonAsync("/api/sessions/import", wrongFormat).ExpectProblemAsync(HttpStatusCode.BadRequest);
        var wrongHash = export.DeepClone();
        wrongHash["canon"]!["hash"] = "sha256:0000";
        await client.PostJsonAsync("/api/sessions/import", wrongHash).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        var missingTurn = export.DeepClone();
        missingTurn["turns"] = new JsonArray();
        // Counters that claim more than the export holds are refused as inconsistent (422), before any storage call.
        await client.PostJsonAsync("/api/sessions/import", missingTurn).ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        await client.PostJsonAsync("/api/sessions/import", new { format = "loom.session.v1" }).ExpectProblemAsync(HttpStatusCode.BadRequest);

        var sessions = await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal([id], sessions["items"]!.AsArray().Select(s => s!["sessionId"].Str()));
    }
}
