using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>Inline markers and the explicit policy, through the HTTP API with the offline narrator.</summary>
public sealed class InterventionApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static Dictionary<string, JsonNode> ByType(JsonNode turn) =>
        turn["interventions"]!.AsArray().GroupBy(i => i!["type"].Str()).ToDictionary(g => g.Key, g => g.Last()!);

    [Fact]
    public async Task Every_marker_takes_effect_and_ooc_never_reaches_the_story()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(id,
            "I walk to the old mill. (OOC: is this getting too dark?) [TONE: grim and quiet] [INTENT: find the miller] " +
            "[META: playtest run 4] [EDIT: character: add: name=Mira, description=a smuggler] [EDIT: fact: the bridge is out]");

        Assert.Equal("completed", turn["status"].Str());
        Assert.Equal("I walk to the old mill.", turn["storyInput"].Str());
        Assert.DoesNotContain("too dark", turn["narrative"].Str());
        Assert.Contains("too dark", turn["oocReply"].Str());
        var markers = ByType(turn);
        Assert.Equal("noted", markers["ooc"]["status"].Str());
        Assert.Equal("applied", markers["tone"]["status"].Str());
        Assert.Equal("applied", markers["intent"]["status"].Str());
        Assert.Equal("noted", markers["meta"]["status"].Str());
        Assert.All(turn["interventions"]!.AsArray().Where(i => i!["type"].Str() == "edit"), e => Assert.Equal("applied", e!["status"].Str()));

        // Edits are in memory as this turn's changes, and listed among its memory updates.
        var mira = await client.GetAsync($"/api/sessions/{id}/memory/character:mira").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("a smuggler", mira["content"].Str());
        Assert.Equal(1, mira["firstSeq"]!.GetValue<int>());
        var bridge = await client.GetAsync($"/api/sessions/{id}/memory/fact:the-bridge-is-out").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("the bridge is out", bridge["content"].Str());
        var updated = turn["memoryUpdates"]!.AsArray().Select(o => o!["entityId"].Str()).ToList();
        Assert.Contains("character:mira", updated);

        // Tone stays in force; OOC and markers never enter the next prompt's history (the story text is clean).
        var session = await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("grim and quiet", session["tone"].Str());
        var second = await client.PlayAsync(id, "I knock on the door.");
        Assert.Null(second["oocReply"]);

        var audit = await client.AuditAsync(id);
        var actions = audit.Select(a => a["action"].Str()).ToList();
        foreach (var action in new[] { "ooc", "tone", "intent", "meta", "edit" }) Assert.Contains(action, actions);
        Assert.All(audit, a =>
        {
            Assert.Equal("alice", a["actor"].Str());
            Assert.Equal(1, a["seq"]!.GetValue<int>());
            Assert.Equal(turn["turnId"].Str(), a["details"]!["turnId"].Str());
        });
        Assert.Equal("playtest run 4", audit.Single(a => a["action"].Str() == "meta")["details"]!["content"].Str());
    }

    [Theory]
    [InlineData("[EDIT: item: name=Key [rusty], description=old and heavy] I open the door.", "I open the door.", "edit", "item:key-rusty")]
    [InlineData("I shout ((wait, is Mira here?)) into the dark.", "I shout into the dark.", "ooc", null)]
    [InlineData("I wait.\n/ooc please keep answers short", "I wait.", "ooc", null)]
    [InlineData("我走进磨坊。（OOC：这段太黑暗了吗？）[TONE：阴郁]", "我走进磨坊。", "ooc,tone", null)]
    [InlineData("[EDIT：事实：桥断了] 我过河。", "我过河。", "edit", "fact:桥断了")]
    public async Task Markers_are_cut_from_the_story_and_applied(string input, string story, string types, string? entity)
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(id, input);

        Assert.Equal(story, turn["storyInput"].Str());
        Assert.Equal(types.Split(','), turn["interventions"]!.AsArray().Select(i => i!["type"].Str()));
        Assert.All(turn["interventions"]!.AsArray(), i => Assert.NotEqual("refused", i!["status"].Str()));
        if (entity is not null)
            await client.GetAsync($"/api/sessions/{id}/memory/{Uri.EscapeDataString(entity)}").ExpectAsync(HttpStatusCode.OK);
    }

    [Theory]
    [InlineData("I read the sign [EDIT: fact: the bridge is out")]
    [InlineData("The note says:\n```\n[TONE: whimsical]\n(OOC: hi)\n```\nI read it twice.")]
    [InlineData("I write `[RETCON: nothing]` on the wall.")]
    public async Task Unterminated_or_quoted_markers_stay_story_text_and_change_nothing(string input)
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(id, input);

        Assert.Empty(turn["interventions"]!.AsArray());
        Assert.Equal(input.Trim(), turn["storyInput"].Str());
        Assert.Null((await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK))["tone"]);
        await client.GetAsync($"/api/sessions/{id}/memory/fact:the-bridge-is-out").ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Empty(await client.AuditAsync(id));
    }

    [Fact]
    public async Task An_edit_that_cannot_apply_is_refused_on_the_turn_and_changes_nothing()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(id, "I look around. [EDIT: Nobody Here: mood=angry]");

        var edit = turn["interventions"]!.AsArray().Single()!;
        Assert.Equal("refused", edit["status"].Str());
        Assert.Contains("no entity named", edit["detail"].Str());
        Assert.DoesNotContain(turn["memoryUpdates"]!.AsArray(), o => o!["name"].Str() == "Nobody Here");
        Assert.Equal("refused", (await client.AuditAsync(id)).Single()["details"]!["status"].Str());
    }

    [Fact]
    public async Task Session_policy_without_interventions_refuses_markers_and_world_edits()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync(extra: new { policy = new { interventionsAllowed = false } });
        var turn = await client.PlayAsync(id, "I wait. [EDIT: fact: the bridge is out] [TONE: silly] (OOC: hi) [META: note]");

        var markers = ByType(turn);
        Assert.Equal("refused", markers["edit"]["status"].Str());
        Assert.Equal("refused", markers["tone"]["status"].Str());
        Assert.Equal("refused", markers["ooc"]["status"].Str());
        Assert.Equal("noted", markers["meta"]["status"].Str());
        Assert.Null(turn["oocReply"]);
        await client.GetAsync($"/api/sessions/{id}/memory/fact:the-bridge-is-out").ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Null((await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK))["tone"]);

        var before = (await client.ExportAsync(id))["memory"]!.ToJsonString();
        var put = await client.PutAsync($"/api/sessions/{id}/memory/fact:the-bridge-is-out",
            JsonContent.Create(new { type = "fact", name = "The bridge is out", content = "x" })).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal("interventions_not_allowed", put["code"]?.Str() ?? "interventions_not_allowed");
        await client.RollbackAsync(id, 0).ExpectProblemAsync(HttpStatusCode.Forbidden);
        Assert.Equal(before, (await client.ExportAsync(id))["memory"]!.ToJsonString());
        Assert.Equal(1, (await client.GetAsync($"/api/sessions/{id}").ExpectAsync(HttpStatusCode.OK))["turnCount"]!.GetValue<int>());
    }

    [Fact]
    public async Task Retcons_need_permission_and_a_long_enough_justification()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync(extra: new { policy = new { requireJustification = true, minJustificationChars = 20 } });
        var refused = await client.PlayAsync(id, "I go on. [RETCON: the miller never left | short]");
        Assert.Equal("refused", refused["interventions"]![0]!["status"].Str());
        Assert.Contains("at least 20", refused["interventions"]![0]!["detail"].Str());
        await client.GetAsync($"/api/sessions/{id}/memory/fact:the-miller-never-left").ExpectProblemAsync(HttpStatusCode.NotFound);

        var applied = await client.PlayAsync(id, "I go on. [RETCON: the miller never left because the scene at the river was a dream]");
        Assert.Equal("applied", applied["interventions"]![0]!["status"].Str());
        var fact = await client.GetAsync($"/api/sessions/{id}/memory/fact:the-miller-never-left").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, fact["firstSeq"]!.GetValue<int>());
        var retcon = (await client.AuditAsync(id)).Where(a => a["action"].Str() == "retcon").ToList();
        Assert.Equal(2, retcon.Count);
        Assert.Equal("because the scene at the river was a dream", retcon[1]["reason"].Str());

        // The same rule holds for rollbacks through the API.
        var problem = await client.RollbackAsync(id, 1, "too short").ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(problem["errors"]!["reason"]);
        await client.RollbackAsync(id, 1, "the retcon made the river scene pointless").ExpectAsync(HttpStatusCode.OK);

        // PATCH can forbid retcons for the rest of the session.
        await client.PatchAsJsonAsync($"/api/sessions/{id}", new { policy = new { retconAllowed = false } }).ExpectAsync(HttpStatusCode.OK);
        var blocked = await client.PlayAsync(id, "I go on. [RETCON: the mill burned down | the player asked for it, with reasons]");
        Assert.Equal("refused", blocked["interventions"]![0]!["status"].Str());
        await client.RollbackAsync(id, 0, "a long enough reason for the record").ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task World_canon_metadata_policy_cannot_be_widened_by_the_session()
    {
        var client = app.Alice();
        var world = "strict-" + Guid.NewGuid().ToString("N")[..6];
        const string canon = """
            ---
            title: Strict Harbour
            retconAllowed: false
            ---
            # World
            A grey harbour town on a cold sea, where the lighthouse never goes dark.

            # Tone
            Quiet and melancholic.
            """;
        await client.PutAsJsonAsync($"/api/worlds/{world}", new { files = new Dictionary<string, string> { ["world.md"] = canon } })
            .ExpectAsync(HttpStatusCode.Created);
        var id = await client.CreateSessionAsync(world, new { policy = new { retconAllowed = true } });

        var turn = await client.PlayAsync(id, "I walk the pier. [RETCON: the lighthouse is dark | the player wants a darker night] [EDIT: fact: the tide is high]");
        var markers = ByType(turn);
        Assert.Equal("refused", markers["retcon"]["status"].Str());
        Assert.Equal("applied", markers["edit"]["status"].Str());
        await client.RollbackAsync(id, 0, "undo everything please").ExpectProblemAsync(HttpStatusCode.Forbidden);
    }

    [Fact]
    public async Task World_edits_through_the_api_are_audited_with_their_reason()
    {
        var client = app.Alice();
        var id = await client.CreateSessionAsync();
        await client.PutAsync($"/api/sessions/{id}/memory/character:osk",
            JsonContent.Create(new { type = "character", name = "Osk", content = "a ferryman", reason = "he was missing" })).ExpectAsync(HttpStatusCode.OK);
        await client.DeleteAsync($"/api/sessions/{id}/memory/character:osk?reason=not%20needed").ExpectAsync(HttpStatusCode.NoContent);

        var audit = await client.AuditAsync(id);
        Assert.Equal(["memory.put", "memory.delete"], audit.Select(a => a["action"].Str()));
        Assert.Equal(["he was missing", "not needed"], audit.Select(a => a["reason"].Str()));
        Assert.All(audit, a => Assert.Equal("character:osk", a["details"]!["entityId"].Str()));
        await app.Bob().GetAsync($"/api/sessions/{id}/audit").ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_timeline_endpoints()
    {
        var openapi = await app.Alice().GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK);
        var paths = openapi["paths"]!.AsObject().Select(p => p.Key).ToList();
        foreach (var path in new[] { "rollback", "fork", "audit", "export" })
            Assert.Contains($"/api/sessions/{{sessionId}}/{path}", paths);
        Assert.Contains("/api/sessions/import", paths);
    }
}
