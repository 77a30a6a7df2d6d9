using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Tests.Api;

namespace Loom.Tests.Lore;

/// <summary>
/// SillyTavern chats in and out of sessions over HTTP (POST /api/sessions/import?format=st-jsonl, GET …/export?format=st-jsonl):
/// turns without the narrator, memory as the offline narrator builds it, round trips, hostile files refused with nothing
/// stored, and the world's visibility. Also: a card's character is in a new session's memory and retrieval finds it.
/// </summary>
public sealed class ChatImportApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static readonly DateTime Started = new(2025, 3, 1, 18, 0, 0, DateTimeKind.Utc);

    private static async Task<string> CardWorldAsync(HttpClient client)
    {
        var content = new ByteArrayContent(CardSamples.Bytes(CardSamples.V2Card()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var imported = await client.PostAsync("/api/worlds/import", content).ExpectAsync(HttpStatusCode.Created);
        return imported["worldId"]!.GetValue<string>();
    }

    private static JsonObject Header(string user = "Ash", string character = "Mira Vell") => new()
    {
        ["user_name"] = user,
        ["character_name"] = character,
        ["create_date"] = "2025-03-01@18h00m00s",
        ["chat_metadata"] = new JsonObject { ["note_prompt"] = "", ["tainted"] = false },
    };

    private static JsonObject Message(string name, bool isUser, string mes, int minute, JsonArray? swipes = null, bool system = false)
    {
        var message = new JsonObject
        {
            ["name"] = name,
            ["is_user"] = isUser,
            ["is_system"] = system,
            ["send_date"] = Started.AddMinutes(minute).ToString("o"),
            ["mes"] = mes,
        };
        if (swipes is not null)
        {
            message["swipes"] = swipes;
            message["swipe_id"] = 1;
        }
        return message;
    }

    private static byte[] Jsonl(params JsonNode[] lines) => Encoding.UTF8.GetBytes(string.Join("\n", lines.Select(l => l.ToJsonString())) + "\n");

    private static HttpContent Chat(byte[] data, string type = "application/jsonl")
    {
        var content = new ByteArrayContent(data);
        content.Headers.ContentType = new MediaTypeHeaderValue(type);
        return content;
    }

    private static Task<HttpResponseMessage> ImportAsync(HttpClient client, string worldId, byte[] data, string type = "application/jsonl") =>
        client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId={worldId}", Chat(data, type));

    private static async Task<List<JsonNode>> ExportLinesAsync(HttpClient client, string sessionId)
    {
        var response = await client.GetAsync($"/api/sessions/{sessionId}/export?format=st-jsonl");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/jsonl", response.Content.Headers.ContentType?.MediaType);
        Assert.EndsWith(".jsonl", response.Content.Headers.ContentDisposition?.FileName?.Trim('"'), StringComparison.Ordinal);
        var text = await response.Content.ReadAsStringAsync();
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
    }

    private static List<(string Input, string Narrative)> Texts(IEnumerable<JsonNode> turns) =>
        turns.Select(t => (t["input"]!.GetValue<string>(), t["narrative"]!.GetValue<string>())).ToList();

    private static async Task<int> SessionCountAsync(HttpClient client) =>
        (await client.GetAsync("/api/sessions?limit=200").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray().Count;

    [Fact]
    public async Task A_chat_becomes_completed_turns_without_the_narrator_and_exports_back()
    {
        var client = app.Alice();
        var worldId = await CardWorldAsync(client);
        var chat = Jsonl(
            Header(),
            Message("Mira Vell", false, "*Mira looks up from the nets.* Late ferry again?", 0),
            Message("Ash", true, "Yes. Is the inn still open?", 1),
            Message("Mira Vell", false, "Not this late. You can sleep in the net loft.", 2,
                swipes: ["The inn burned down last spring.", "Not this late. You can sleep in the net loft."]),
            Message("System", false, "[hidden narrator note]", 3, system: true),
            Message("Ash", true, "Thank you.", 4),
            Message("Ash", true, "What is that light on the rocks?", 5),
            Message("Mira Vell", false, "The lighthouse. Nobody has kept it for years.", 6),
            Message("Mira Vell", false, "*She hesitates.* Or so they say.", 7),
            Message("Ash", true, "I will go and see.", 8));

        var session = await ImportAsync(client, worldId, chat).ExpectAsync(HttpStatusCode.Created);
        var sessionId = session["sessionId"]!.GetValue<string>();
        Assert.Equal(3, session["turnCount"]!.GetValue<int>());
        Assert.Equal("*Mira looks up from the nets.* Late ferry again?", session["opening"]!.GetValue<string>());
        Assert.Equal(worldId, session["worldId"]!.GetValue<string>());

        var turns = await client.TurnsAsync(sessionId);
        Assert.All(turns, t => Assert.Equal("completed", t["status"]!.GetValue<string>()));
        Assert.Equal(
        [
            ("Yes. Is the inn still open?", "Not this late. You can sleep in the net loft."),
            ("Thank you.\n\nWhat is that light on the rocks?", "The lighthouse. Nobody has kept it for years.\n\n*She hesitates.* Or so they say."),
            ("I will go and see.", ""),
        ], Texts(turns));
        Assert.Equal("Ash", turns[0]["speaker"]!.GetValue<string>());
        Assert.Equal(Started.AddMinutes(1), turns[0]["createdAt"]!.GetValue<DateTime>().ToUniversalTime());
        // The narrator was never called: no usage, no tokens.
        Assert.All(turns, t => Assert.Equal(0, t["usage"]!["completionTokens"]!.GetValue<int>()));
        var audit = await client.AuditAsync(sessionId);
        Assert.Equal("import", audit[0]["action"]!.GetValue<string>());

        // Export: the metadata line, the greeting, then player and character lines (a turn without a reply has none).
        var lines = await ExportLinesAsync(client, sessionId);
        Assert.Equal(("Ash", "Mira Vell"), (lines[0]["user_name"]!.GetValue<string>(), lines[0]["character_name"]!.GetValue<string>()));
        Assert.Equal(7, lines.Count);
        Assert.Equal([false, true, false, true, false, true], lines.Skip(1).Select(l => l["is_user"]!.GetValue<bool>()));
        Assert.Equal("Not this late. You can sleep in the net loft.", lines[3]["mes"]!.GetValue<string>());
        // The reply's swipes are the turn's alternatives, the kept one chosen, and go back out as swipes.
        Assert.Equal((2, 2), (turns[0]["alternatives"]!["count"]!.GetValue<int>(), turns[0]["alternatives"]!["chosen"]!.GetValue<int>()));
        Assert.Equal("The inn burned down last spring.", turns[0]["alternatives"]!["items"]![0]!["narrative"]!.GetValue<string>());
        Assert.Equal(["The inn burned down last spring.", "Not this late. You can sleep in the net loft."],
            lines[3]["swipes"]!.AsArray().Select(x => x!.GetValue<string>()));
        Assert.Equal(1, lines[3]["swipe_id"]!.GetValue<int>());
        // A reply made of two character messages has no one set of swipes: one alternative.
        Assert.Null(turns[1]["alternatives"]);

        // … and back in: the same turns and opening.
        var again = await ImportAsync(client, worldId, Jsonl([.. lines])).ExpectAsync(HttpStatusCode.Created);
        var againId = again["sessionId"]!.GetValue<string>();
        var againTurns = await client.TurnsAsync(againId);
        Assert.Equal(Texts(turns), Texts(againTurns));
        Assert.Equal(turns[0]["alternatives"]!.ToJsonString(), againTurns[0]["alternatives"]!.ToJsonString());
        Assert.Equal(session["opening"]!.GetValue<string>(), again["opening"]!.GetValue<string>());

        // The imported session plays on like any other.
        var next = await client.PlayAsync(againId, "I walk to the lighthouse.");
        Assert.Equal((4, "completed"), (next["seq"]!.GetValue<int>(), next["status"]!.GetValue<string>()));
    }

    [Fact]
    public async Task Swipes_of_the_last_reply_can_be_chosen_and_more_than_twenty_keep_the_kept_one()
    {
        var client = app.Alice();
        var worldId = await CardWorldAsync(client);
        var many = new JsonArray([.. Enumerable.Range(0, 30).Select(i => (JsonNode?)JsonValue.Create($"Take {i}."))]);
        var reply = Message("Mira Vell", false, "Take 25, as kept.", 2, swipes: many);
        reply["swipe_id"] = 25;
        var sessionId = (await ImportAsync(client, worldId, Jsonl(Header(), Message("Ash", true, "Hello?", 1), reply))
            .ExpectAsync(HttpStatusCode.Created))["sessionId"]!.GetValue<string>();
        var turn = Assert.Single(await client.TurnsAsync(sessionId));
        var alternatives = turn["alternatives"]!;
        Assert.Equal((20, 20), (alternatives["count"]!.GetValue<int>(), alternatives["chosen"]!.GetValue<int>()));
        Assert.Equal("Take 25, as kept.", turn["narrative"]!.GetValue<string>());
        Assert.Equal("Take 0.", alternatives["items"]![0]!["narrative"]!.GetValue<string>());

        var chosen = await client.PutAsJsonAsync($"/api/sessions/{sessionId}/turns/{turn["turnId"]!.GetValue<string>()}/choice", new { alternative = 3 })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Take 2.", chosen["narrative"]!.GetValue<string>());
        var lines = await ExportLinesAsync(client, sessionId);
        Assert.Equal(("Take 2.", 2), (lines[^1]["mes"]!.GetValue<string>(), lines[^1]["swipe_id"]!.GetValue<int>()));

        // Swipes that are not strings are not a chat.
        var broken = Message("Mira Vell", false, "x", 2, swipes: [1, 2]);
        await ImportAsync(client, worldId, Jsonl(Header(), Message("Ash", true, "Hello?", 1), broken)).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_played_session_round_trips_through_a_chat_file()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        foreach (var input in new[] { "I light a lantern.", "I follow the river north.", "I knock on the mill door." })
            await client.PlayAsync(sessionId, input);
        var played = Texts(await client.TurnsAsync(sessionId));

        var lines = await ExportLinesAsync(client, sessionId);
        var imported = await ImportAsync(client, "ember-vale", Jsonl([.. lines])).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(played, Texts(await client.TurnsAsync(imported["sessionId"]!.GetValue<string>())));
    }

    [Fact]
    public async Task Memory_of_an_imported_chat_holds_the_card_character_and_the_rolling_summaries()
    {
        var client = app.Alice();
        var worldId = await CardWorldAsync(client);
        var lines = new List<JsonNode> { Header() };
        for (var i = 1; i <= 17; i++)
        {
            lines.Add(Message("Ash", true, $"I ask about boat number {i}.", 2 * i));
            lines.Add(Message("Mira Vell", false, $"Boat {i} belongs to the Harrow family. It sails at dawn.", 2 * i + 1));
        }
        var session = await ImportAsync(client, worldId, Jsonl([.. lines])).ExpectAsync(HttpStatusCode.Created);
        var sessionId = session["sessionId"]!.GetValue<string>();

        // With the defaults (a summary every 10 turns once they leave the 6-turn window), turn 16 summarized turns 1-10.
        var summaries = (await client.GetAsync($"/api/sessions/{sessionId}/memory?type=summary").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        var summary = Assert.Single(summaries)!;
        Assert.Equal(("1", "10"), (summary["attributes"]!["fromSeq"]!.GetValue<string>(), summary["attributes"]!["toSeq"]!.GetValue<string>()));
        Assert.Contains("Harrow", summary["content"]!.GetValue<string>());
        var turn16 = (await client.TurnsAsync(sessionId))[15];
        Assert.Contains(turn16["memoryUpdates"]!.AsArray(), op => op!["type"]!.GetValue<string>() == "summary");

        var character = Assert.Single((await client.GetAsync($"/api/sessions/{sessionId}/memory?type=character").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray())!;
        Assert.Equal("Mira Vell", character["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_new_session_of_a_card_world_remembers_the_character_and_retrieval_finds_it()
    {
        var client = app.Alice();
        var worldId = await CardWorldAsync(client);
        var sessionId = await client.CreateSessionAsync(worldId);

        var character = Assert.Single((await client.GetAsync($"/api/sessions/{sessionId}/memory?type=character").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray())!;
        Assert.Equal("Mira Vell", character["name"]!.GetValue<string>());
        Assert.Contains("harbour girl of Saltmere", character["content"]!.GetValue<string>());
        Assert.Equal("Wry, guarded, quick to laugh once she trusts you.", character["attributes"]!["personality"]!.GetValue<string>());
        Assert.Equal("character card", character["attributes"]!["source"]!.GetValue<string>());
        var entityId = character["entityId"]!.GetValue<string>();

        // Search and a turn's retrieval find her; the context viewer says so.
        var found = await client.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "Who knows every boat in the harbour?", mode = "keyword" })
            .ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(entityId, found["items"]![0]!["entity"]!["entityId"]!.GetValue<string>());
        var turn = await client.PlayAsync(sessionId, "I ask Mira Vell where the ferry docks.");
        Assert.Contains(entityId, turn["memoryUsed"]!.AsArray().Select(i => i!.GetValue<string>()));
        var context = (await client.GetAsync($"/api/sessions/{sessionId}/turns/{turn["turnId"]!.GetValue<string>()}/context").ExpectAsync(HttpStatusCode.OK))["context"]!;
        Assert.Contains(entityId, context["memory"]!.AsArray().Select(i => i!.GetValue<string>()));
        // … and why: her name is in the input, first of the fused ranking.
        var why = context["memoryScores"]!.AsArray().Single(s => s!["entityId"]!.GetValue<string>() == entityId)!;
        Assert.Equal(1, why["rank"]!.GetValue<int>());
        Assert.Contains(why["signals"]!.AsArray(), s => s!["signal"]!.GetValue<string>() == "name" && s["query"]!.GetValue<string>() == "input");

        // A world that never was a card starts with empty memory.
        var plain = await client.CreateSessionAsync();
        Assert.Empty((await client.GetAsync($"/api/sessions/{plain}/memory").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task A_card_whose_name_memory_cannot_hold_still_opens_sessions()
    {
        var client = app.Alice();
        var card = CardSamples.V2Card();
        card["data"]!["name"] = "★ ★ ★";
        var content = new ByteArrayContent(CardSamples.Bytes(card));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        var worldId = (await client.PostAsync("/api/worlds/import", content).ExpectAsync(HttpStatusCode.Created))["worldId"]!.GetValue<string>();
        var sessionId = await client.CreateSessionAsync(worldId);
        Assert.Empty((await client.GetAsync($"/api/sessions/{sessionId}/memory").ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray());
    }

    [Fact]
    public async Task Hostile_chat_files_are_refused_and_nothing_is_stored()
    {
        var client = app.Carol(); // a user of its own, so the session count is not disturbed by other tests
        var worldId = await CardWorldAsync(client);
        var before = await SessionCountAsync(client);
        var good = Message("Ash", true, "Hello.", 1);

        async Task<string?> Refused(byte[] data, HttpStatusCode status, string query = "")
        {
            var problem = await client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId={worldId}{query}", Chat(data)).ExpectProblemAsync(status);
            return problem["code"]?.GetValue<string>();
        }

        Assert.Equal("not_a_chat", await Refused([], HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Encoding.UTF8.GetBytes("this is not json\n"), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused([0xff, 0xfe, 0x00, 0x7b], HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(Header(), new JsonArray(1, 2)), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(Header(), new JsonObject { ["name"] = "Ash", ["is_user"] = true }), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(Header(), new JsonObject { ["mes"] = 42, ["is_user"] = true }), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(Header(), new JsonObject { ["mes"] = "hi", ["is_user"] = "yes" }), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(new JsonObject { ["chat_metadata"] = 3 }, good), HttpStatusCode.BadRequest));
        Assert.Equal("not_a_chat", await Refused(Jsonl(new JsonObject { ["something"] = "else" }, good), HttpStatusCode.BadRequest));
        // The first bad line is named, after good ones.
        var late = await client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId={worldId}", Chat(Jsonl(Header(), good, good, JsonValue.Create("x")!)))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.Contains("Line 4", late["detail"]!.GetValue<string>());

        // Too big: one huge line, too many lines, an input longer than a live turn may take.
        var huge = Jsonl(Header(), Message("Ash", true, new string('x', 1024 * 1024 + 10), 1));
        Assert.Equal("import_too_large", await Refused(huge, HttpStatusCode.RequestEntityTooLarge));
        var many = Jsonl([Header(), .. Enumerable.Range(0, 20_001).Select(i => (JsonNode)Message("Ash", i % 2 == 0, "Hi.", i))]);
        Assert.Equal("import_too_large", await Refused(many, HttpStatusCode.RequestEntityTooLarge));
        await client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId={worldId}", Chat(Jsonl(Header(), Message("Ash", true, new string('y', 9000), 1))))
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity); // as for a session export: the session's own limit

        // Bad parameters.
        await client.PostAsync("/api/sessions/import?format=st-jsonl", Chat(Jsonl(Header(), good))).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId=Not_A_World!", Chat(Jsonl(Header(), good))).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostAsync($"/api/sessions/import?format=tavern&worldId={worldId}", Chat(Jsonl(Header(), good))).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostAsync($"/api/sessions/import?format=st-jsonl&worldId=no-such-world", Chat(Jsonl(Header(), good))).ExpectProblemAsync(HttpStatusCode.NotFound);
        // A session export still needs JSON.
        await client.PostAsync("/api/sessions/import", Chat(Jsonl(Header(), good))).ExpectProblemAsync(HttpStatusCode.UnsupportedMediaType);

        Assert.Equal(before, await SessionCountAsync(client));
        // The same file, well formed, is accepted (so the refusals above were about the file).
        await ImportAsync(client, worldId, Jsonl(Header(), good), "application/x-ndjson").ExpectAsync(HttpStatusCode.Created);
        Assert.Equal(before + 1, await SessionCountAsync(client));
    }

    [Fact]
    public async Task Chats_follow_world_visibility_and_session_ownership()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var worldId = await CardWorldAsync(alice);
        var chat = Jsonl(Header(), Message("Ash", true, "Hello.", 1), Message("Mira Vell", false, "Evening.", 2));

        // A public world (the default) is playable by anyone; a private one is invisible to others, like every world route.
        await ImportAsync(bob, worldId, chat).ExpectAsync(HttpStatusCode.Created);
        await alice.PatchAsJsonAsync($"/api/worlds/{worldId}", new { visibility = "private" }).ExpectAsync(HttpStatusCode.OK);
        await ImportAsync(bob, worldId, chat).ExpectProblemAsync(HttpStatusCode.NotFound);
        var mine = await ImportAsync(alice, worldId, chat).ExpectAsync(HttpStatusCode.Created);

        // Someone else's session does not export (404 as for every session route).
        await bob.GetAsync($"/api/sessions/{mine["sessionId"]!.GetValue<string>()}/export?format=st-jsonl").ExpectProblemAsync(HttpStatusCode.NotFound);
        await alice.GetAsync($"/api/sessions/{mine["sessionId"]!.GetValue<string>()}/export?format=tavern").ExpectProblemAsync(HttpStatusCode.BadRequest);
    }
}
