using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Tests.Api;

namespace Loom.Tests.Multiplayer;

/// <summary>
/// Shared sessions seen from the edges: the OpenAI-compatible surface keeps turn-taking, a member's list shows the
/// sessions they joined, and outsiders get the right refusal in the right shape on every multiplayer and /v1 route.
/// </summary>
public sealed class SharedSessionAccessTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static async Task<string> InviteAsync(HttpClient owner, string sessionId, string role = "player") =>
        (await owner.PostJsonAsync($"/api/sessions/{sessionId}/invites", new { role }).ExpectAsync(HttpStatusCode.Created))["code"]!.GetValue<string>();

    private static Task<HttpResponseMessage> CompleteAsync(HttpClient client, string name, params string[] messages) =>
        client.PostJsonAsync("/v1/chat/completions", new
        {
            model = "loom/ember-vale",
            user = name,
            messages = messages.Select((text, i) => new { role = i % 2 == 0 ? "user" : "assistant", content = text }).ToArray(),
        });

    /// <summary>A chat request naming an existing session by id (<c>X-Loom-Session-Id</c>), as a member's client sends it.</summary>
    private static Task<HttpResponseMessage> CompleteInAsync(HttpClient client, string sessionId, bool stream, params string[] messages)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new
            {
                model = "loom/ember-vale",
                stream,
                messages = messages.Select((text, i) => new { role = i % 2 == 0 ? "user" : "assistant", content = text }).ToArray(),
            }),
        };
        request.Headers.Add("X-Loom-Session-Id", sessionId);
        return client.SendAsync(request);
    }

    private static async Task<string> ErrorCodeAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        return (await response.ReadJsonAsync())["error"]!["code"]!.GetValue<string>();
    }

    private async Task<List<string>> InputsAsync(string sessionId) =>
        (await app.Alice().GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray()
            .Where(t => t!["status"]!.GetValue<string>() != "retconned").Select(t => t!["input"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_member_plays_a_shared_session_through_v1_by_its_id_attributed_deduped_and_within_their_role()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var sessionId = await alice.CreateSessionAsync();
        // Before Bob is a member, the id reaches nothing of Alice's: the session's 404, in OpenAI's shape.
        Assert.Equal("not_found", await ErrorCodeAsync(await CompleteInAsync(bob, sessionId, false, "I knock."), HttpStatusCode.NotFound));
        await alice.PlayAsync(sessionId, "I light the lantern.");
        await bob.PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId)}/join", new { displayName = "Bran" }).ExpectAsync(HttpStatusCode.OK);

        // Bob's conversation is his own turns: Alice's turn from before is story he never sent.
        var first = await CompleteInAsync(bob, sessionId, false, "I hold the horses.").ExpectAsync(HttpStatusCode.OK);
        var reply1 = first["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        Assert.False(string.IsNullOrWhiteSpace(reply1));
        Assert.Equal(["I light the lantern.", "Bran: I hold the horses."], await InputsAsync(sessionId));

        // Alice plays between; Bob's client resends his whole conversation plus a new line: one new turn, streamed to him.
        await alice.PlayAsync(sessionId, "I open the gate.");
        var streamed = await CompleteInAsync(bob, sessionId, true, "I hold the horses.", reply1, "I follow her through.");
        Assert.Equal(HttpStatusCode.OK, streamed.StatusCode);
        Assert.Equal(sessionId, streamed.Headers.GetValues("X-Loom-Session").Single());
        Assert.Equal("submitted", streamed.Headers.GetValues("X-Loom-Action").Single());
        var sse = await streamed.Content.ReadAsStringAsync();
        Assert.Contains("\"finish_reason\":\"stop\"", sse);
        Assert.EndsWith("data: [DONE]\n\n", sse);
        var inputs = await InputsAsync(sessionId);
        Assert.Equal(["I light the lantern.", "Bran: I hold the horses.", "alice: I open the gate.", "Bran: I follow her through."], inputs);
        var turns = (await alice.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        var told = string.Concat(sse.Split("\n\n").Where(e => e.StartsWith("data: {", StringComparison.Ordinal))
            .Select(e => JsonNode.Parse(e[6..])!["choices"]!.AsArray().FirstOrDefault()?["delta"]?["content"]?.GetValue<string>()));
        Assert.Equal(turns[^1]!["narrative"]!.GetValue<string>(), told);

        // Editing his first line would roll back Alice's turns too: refused, nothing changes.
        Assert.Equal("conversation_diverged",
            await ErrorCodeAsync(await CompleteInAsync(bob, sessionId, false, "I steal the horses."), HttpStatusCode.Conflict));
        // Regenerating his own latest reply is a rollback, which the room keeps for the owner by default: 403.
        var regenerate = await CompleteInAsync(bob, sessionId, false, "I hold the horses.", reply1, "I follow her through.");
        Assert.Equal(HttpStatusCode.Forbidden, regenerate.StatusCode);
        Assert.Equal("permission_error", (await regenerate.ReadJsonAsync())["error"]!["type"]!.GetValue<string>());
        Assert.Equal(inputs, await InputsAsync(sessionId));

        // A spectator reads but does not play; the wrong model for the session is a conflict; a malformed id is a 400.
        await app.Carol().PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId, "spectator")}/join", new { displayName = "Cara" }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.Forbidden, (await CompleteInAsync(app.Carol(), sessionId, false, "I cheer.")).StatusCode);
        using (var wrongModel = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "loom/nope-world", messages = new[] { new { role = "user", content = "hi" } } }),
        })
        {
            wrongModel.Headers.Add("X-Loom-Session-Id", sessionId);
            Assert.Equal("session_world_mismatch", await ErrorCodeAsync(await bob.SendAsync(wrongModel), HttpStatusCode.Conflict));
        }
        var malformed = await CompleteInAsync(bob, "two words", false, "hi");
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("X-Loom-Session-Id", (await malformed.ReadJsonAsync())["error"]!["param"]!.GetValue<string>());
        Assert.Equal(inputs, await InputsAsync(sessionId));
    }

    private static async Task<JsonNode> SessionsOfAsync(HttpClient client) =>
        await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK);

    private static JsonNode? Find(JsonNode page, string sessionId) =>
        page["items"]!.AsArray().FirstOrDefault(s => s!["sessionId"]!.GetValue<string>() == sessionId);

    [Fact]
    public async Task Chat_completions_on_a_shared_session_honour_round_mode_with_an_OpenAI_409_and_keep_deduping()
    {
        var alice = app.Alice();
        var name = "shared-v1-" + Guid.NewGuid().ToString("N")[..8];
        var first = await CompleteAsync(alice, name, "I light the lantern.");
        var firstBody = await Task.FromResult(first).ExpectAsync(HttpStatusCode.OK);
        var sessionId = first.Headers.GetValues("X-Loom-Session").Single();
        var reply1 = firstBody["choices"]![0]!["message"]!["content"]!.GetValue<string>();

        await app.Bob().PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId)}/join", new { displayName = "Bran" }).ExpectAsync(HttpStatusCode.OK);
        await alice.PatchAsJsonAsync($"/api/sessions/{sessionId}/room", new { mode = "round", roundTimeoutSeconds = 0 }).ExpectAsync(HttpStatusCode.OK);

        // Round order is alice, then bob: alice plays through /v1 (attributed like any member's input) ...
        var second = await CompleteAsync(alice, name, "I light the lantern.", reply1, "I open the gate.").ExpectAsync(HttpStatusCode.OK);
        var reply2 = second["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        var turns = await alice.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("alice: I open the gate.", turns["items"]!.AsArray()[^1]!["input"]!.GetValue<string>());

        // ... and then it is Bob's turn: /v1 answers 409 in OpenAI's shape, naming him, and queues nothing.
        var refused = await CompleteAsync(alice, name, "I light the lantern.", reply1, "I open the gate.", reply2, "I step through.");
        Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
        var error = (await refused.ReadJsonAsync())["error"]!;
        Assert.Equal("not_your_turn", error["code"]!.GetValue<string>());
        Assert.Contains("Bran", error["message"]!.GetValue<string>());
        Assert.Equal(2, (await alice.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count);

        // After Bob plays, the same resent conversation is a new turn: the client's conversation is alice's own (attributed)
        // turns; Bob's turn is story it never sent, and is not rolled back.
        await app.Bob().PlayAsync(sessionId, "I hold the horses.");
        var third = await CompleteAsync(alice, name, "I light the lantern.", reply1, "I open the gate.", reply2, "I step through.");
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal("submitted", third.Headers.GetValues("X-Loom-Action").Single());
        var story = (await alice.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal(["I light the lantern.", "alice: I open the gate.", "Bran: I hold the horses.", "alice: I step through."],
            story.Select(t => t!["input"]!.GetValue<string>()));
    }

    [Fact]
    public async Task A_member_lists_joined_sessions_with_their_role_until_removed()
    {
        var sessionId = await app.Alice().CreateSessionAsync();
        var before = Find(await SessionsOfAsync(app.Alice()), sessionId)!;
        Assert.False(before["shared"]!.GetValue<bool>());
        Assert.Equal("owner", before["role"]!.GetValue<string>());
        Assert.Null(Find(await SessionsOfAsync(app.Carol()), sessionId));

        await app.Carol().PostJsonAsync($"/api/invites/{await InviteAsync(app.Alice(), sessionId, "spectator")}/join", new { displayName = "Cara" }).ExpectAsync(HttpStatusCode.OK);
        var joined = Find(await SessionsOfAsync(app.Carol()), sessionId)!;
        Assert.True(joined["shared"]!.GetValue<bool>());
        Assert.Equal("spectator", joined["role"]!.GetValue<string>());
        Assert.Equal("owner", Find(await SessionsOfAsync(app.Alice()), sessionId)!["role"]!.GetValue<string>());
        Assert.True(Find(await SessionsOfAsync(app.Alice()), sessionId)!["shared"]!.GetValue<bool>());
        // The member's read of the session says the same.
        Assert.Equal("spectator", (await app.Carol().GetAsync($"/api/sessions/{sessionId}").ExpectAsync(HttpStatusCode.OK))["role"]!.GetValue<string>());

        await app.Alice().PatchAsJsonAsync($"/api/sessions/{sessionId}/members/carol", new { role = "player" }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("player", Find(await SessionsOfAsync(app.Carol()), sessionId)!["role"]!.GetValue<string>());

        await app.Alice().DeleteAsync($"/api/sessions/{sessionId}/members/carol").ExpectAsync(HttpStatusCode.NoContent);
        Assert.Null(Find(await SessionsOfAsync(app.Carol()), sessionId));
    }

    [Fact]
    public async Task Outsiders_get_401_404_and_the_right_error_shape_on_multiplayer_and_v1_routes()
    {
        var sessionId = await app.Alice().CreateSessionAsync();
        var code = await InviteAsync(app.Alice(), sessionId);
        var anonymous = app.CreateClient();
        var wrongKey = app.ClientFor("not-a-key");

        foreach (var client in new[] { anonymous, wrongKey })
        {
            await client.GetAsync($"/api/sessions/{sessionId}/room").ExpectProblemAsync(HttpStatusCode.Unauthorized);
            await client.PostJsonAsync($"/api/invites/{code}/join", new { displayName = "X" }).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            var v1 = await client.PostJsonAsync("/v1/chat/completions", new { model = "loom/ember-vale", user = "x", messages = new[] { new { role = "user", content = "hi" } } });
            Assert.Equal(HttpStatusCode.Unauthorized, v1.StatusCode);
            Assert.Equal("authentication_error", (await v1.ReadJsonAsync())["error"]!["type"]!.GetValue<string>());
        }

        // Another owner: every room route is the session's 404, even asking for HTML or an event stream.
        var carol = app.Carol();
        await carol.GetAsync($"/api/sessions/{sessionId}/room").ExpectProblemAsync(HttpStatusCode.NotFound);
        await carol.GetAsync($"/api/sessions/{sessionId}/invites").ExpectProblemAsync(HttpStatusCode.NotFound);
        await carol.PostJsonAsync($"/api/sessions/{sessionId}/room/pass", new { }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await carol.GetAsync($"/api/sessions/{sessionId}/proposals").ExpectProblemAsync(HttpStatusCode.NotFound);
        foreach (var accept in new[] { "text/html", "text/event-stream" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/members");
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue(accept));
            await carol.SendAsync(request).ExpectProblemAsync(HttpStatusCode.NotFound);
        }
        // An event-stream Accept on a JSON route of one's own session is still JSON.
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/room"))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
            var response = await app.Alice().SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        }
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models/loom/nope"))
        {
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/html"));
            var response = await app.Alice().SendAsync(request);
            Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
            Assert.Equal("model_not_found", (await response.ReadJsonAsync())["error"]!["code"]!.GetValue<string>());
        }

        // Hostile bodies: malformed JSON is 400, an oversized one 413, on both surfaces.
        await app.Alice().PostAsync($"/api/sessions/{sessionId}/chat", new StringContent("{\"text\":", Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        var huge = new string('a', 3 * 1024 * 1024);
        await app.Alice().PostAsync($"/api/sessions/{sessionId}/chat", new StringContent($"{{\"text\":\"{huge}\"}}", Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.RequestEntityTooLarge);
        var tooBig = await app.Alice().PostAsync("/v1/chat/completions", new StringContent($"{{\"model\":\"loom/ember-vale\",\"user\":\"{huge}\"}}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, tooBig.StatusCode);
        Assert.NotNull((await tooBig.ReadJsonAsync())["error"]);
        var broken = await app.Alice().PostAsync("/v1/chat/completions", new StringContent("[1,2", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, broken.StatusCode);
        Assert.Equal("invalid_request_error", (await broken.ReadJsonAsync())["error"]!["type"]!.GetValue<string>());
        // An over-long display name or chat line is a 400 naming the field.
        await app.Bob().PostJsonAsync($"/api/invites/{code}/join", new { displayName = new string('b', 61) }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await app.Alice().PostJsonAsync($"/api/sessions/{sessionId}/chat", new { text = new string('c', 2001) }).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Support_reads_are_the_owners_to_see_room_members_do_not_see_them_in_the_audit_or_the_export()
    {
        var alice = app.Alice();
        var sessionId = await alice.CreateSessionAsync();
        await app.Bob().PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId)}/join", new { displayName = "Bran" }).ExpectAsync(HttpStatusCode.OK);
        await alice.PutAsync($"/api/sessions/{sessionId}/memory/fact:bridge", JsonContent.Create(new { type = "fact", name = "Bridge", content = "The bridge is out." })).ExpectAsync(HttpStatusCode.OK);
        await app.Admin().GetAsync($"/api/admin/sessions/{sessionId}?reason=ticket%207").ExpectAsync(HttpStatusCode.OK);

        static bool IsSupportRead(JsonNode? entry) => entry!["action"]!.GetValue<string>() == "admin.read";
        var owners = (await alice.GetAsync($"/api/sessions/{sessionId}/audit").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Single(owners, IsSupportRead);
        var members = (await app.Bob().GetAsync($"/api/sessions/{sessionId}/audit").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Contains(members, e => e!["action"]!.GetValue<string>() == "memory.put"); // the session's own entries stay
        Assert.DoesNotContain(members, IsSupportRead);
        var export = await app.Bob().GetAsync($"/api/sessions/{sessionId}/export").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(export["audit"]!.AsArray(), IsSupportRead);
        Assert.Contains((await alice.GetAsync($"/api/sessions/{sessionId}/export").ExpectAsync(HttpStatusCode.OK))["audit"]!.AsArray(), IsSupportRead);
    }

    [Fact]
    public async Task Erasing_a_shared_session_closes_its_room_so_the_same_v1_name_used_again_is_not_open_to_old_members()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var first = await CompleteAsync(alice, "erased-tale", "I knock.");
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        var sessionId = first.Headers.GetValues("X-Loom-Session").Single();
        await bob.PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId)}/join", new { displayName = "Bran" }).ExpectAsync(HttpStatusCode.OK);
        var unused = await InviteAsync(alice, sessionId);
        await bob.GetAsync($"/api/sessions/{sessionId}/turns").ExpectAsync(HttpStatusCode.OK);

        (await alice.DeleteAsync($"/api/sessions/{sessionId}?permanent=true")).EnsureSuccessStatusCode();

        await bob.GetAsync($"/api/sessions/{sessionId}").ExpectProblemAsync(HttpStatusCode.NotFound);
        // Members' lists are tidied just after the close (the session does not wait on their owners): wait for it.
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        bool Listed(JsonNode page) => page["items"]!.AsArray().Any(s => s!["sessionId"]!.GetValue<string>() == sessionId);
        while (Listed(await bob.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK)) && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.False(Listed(await bob.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK)));
        await app.Carol().PostJsonAsync($"/api/invites/{unused}/join", new { displayName = "Cara" }).ExpectProblemAsync(HttpStatusCode.NotFound);

        // The name used again makes a new session under the same id: it is Alice's alone.
        var again = await CompleteAsync(alice, "erased-tale", "I knock again.");
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Equal(sessionId, again.Headers.GetValues("X-Loom-Session").Single());
        await bob.GetAsync($"/api/sessions/{sessionId}/turns").ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I barge in." }).ExpectProblemAsync(HttpStatusCode.NotFound);
        Assert.Equal(["I knock again."], await InputsAsync(sessionId));
    }

    [Fact]
    public async Task An_edit_in_v1_that_the_room_would_refuse_to_play_does_not_rewind_the_shared_story_first()
    {
        var alice = app.Alice();
        var first = await CompleteAsync(alice, "round-rewind", "I knock.").ExpectAsync(HttpStatusCode.OK);
        var reply1 = first["choices"]![0]!["message"]!["content"]!.GetValue<string>();
        var second = await CompleteAsync(alice, "round-rewind", "I knock.", reply1, "I wait.");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var sessionId = second.Headers.GetValues("X-Loom-Session").Single();
        await app.Bob().PostJsonAsync($"/api/invites/{await InviteAsync(alice, sessionId)}/join", new { displayName = "Bran" }).ExpectAsync(HttpStatusCode.OK);
        await alice.PatchAsJsonAsync($"/api/sessions/{sessionId}/room", new { mode = "round", roundTimeoutSeconds = 0 }).ExpectAsync(HttpStatusCode.OK);
        await alice.PostJsonAsync($"/api/sessions/{sessionId}/room/pass", new { }).ExpectAsync(HttpStatusCode.OK); // Bran's turn now

        // Editing her last line would rewind to turn 1 and play the new line, which the round refuses: nothing happens.
        var edited = await CompleteAsync(alice, "round-rewind", "I knock.", reply1, "I hide instead.");
        Assert.Equal("not_your_turn", await ErrorCodeAsync(edited, HttpStatusCode.Conflict));
        Assert.Equal(["I knock.", "I wait."], await InputsAsync(sessionId));
    }
}
