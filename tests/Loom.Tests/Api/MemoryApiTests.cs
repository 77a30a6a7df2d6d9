using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>World memory through the HTTP API with the offline narrator: extraction, edits, search, ownership.</summary>
public sealed class MemoryApiTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string path, object body) =>
        client.PutAsync(path, JsonContent.Create(body));

    private static List<string> Ids(JsonNode page) =>
        page["items"]!.AsArray().Select(e => e!["entityId"]!.GetValue<string>()).ToList();

    [Fact]
    public async Task A_turn_applies_its_memory_block_and_keeps_it_out_of_the_narrative()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var turn = await client.PlayAsync(sessionId, "I light a lantern and walk to the old mill.");

        var narrative = turn["narrative"]!.GetValue<string>();
        Assert.NotEmpty(narrative);
        Assert.DoesNotContain("```", narrative);
        Assert.DoesNotContain("loom-memory", narrative);
        var updates = turn["memoryUpdates"]!.AsArray();
        Assert.NotEmpty(updates);
        Assert.Empty(turn["warnings"]!.AsArray());

        // Completed means applied: the very next read sees every update.
        var listed = Ids(await client.GetAsync($"/api/sessions/{sessionId}/memory?limit=200").ExpectAsync(HttpStatusCode.OK));
        foreach (var op in updates)
        {
            var id = op!["entityId"]!.GetValue<string>();
            Assert.Contains(id, listed);
            var entity = await client.GetAsync($"/api/sessions/{sessionId}/memory/{Uri.EscapeDataString(id)}").ExpectAsync(HttpStatusCode.OK);
            Assert.Equal(1, entity["firstSeq"]!.GetValue<int>());
            Assert.Equal(op["type"]!.GetValue<string>(), entity["type"]!.GetValue<string>());
        }

        // The next turn's prompt is given memory: the turn says which entities it used.
        var second = await client.PlayAsync(sessionId, "I look around the old mill again.");
        Assert.NotEmpty(second["memoryUsed"]!.AsArray());
        Assert.All(second["memoryUsed"]!.AsArray(), id => Assert.Contains(id!.GetValue<string>(), listed.Concat(
            second["memoryUpdates"]!.AsArray().Select(o => o!["entityId"]!.GetValue<string>()))));
    }

    [Fact]
    public async Task World_edits_create_replace_and_delete_entities()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var path = $"/api/sessions/{sessionId}/memory/fact:the-bridge-is-out";

        var created = await PutAsync(client, path, new
        {
            type = "fact", name = "The bridge is out", content = "The stone bridge over the Ember collapsed in the flood.",
            attributes = new Dictionary<string, string> { ["cause"] = "flood", ["where"] = "the Ember river" },
        }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("fact:the-bridge-is-out", created["entityId"]!.GetValue<string>());
        Assert.Equal(1, created["version"]!.GetValue<int>());

        var replaced = await PutAsync(client, path, new
        {
            type = "fact", name = "The bridge is out", content = "The bridge collapsed; ferrymen now charge double.",
            attributes = new Dictionary<string, string> { ["cause"] = "sabotage" },
        }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, replaced["version"]!.GetValue<int>());
        var attributes = replaced["attributes"]!.AsObject();
        Assert.Equal("sabotage", attributes["cause"]!.GetValue<string>());
        Assert.False(attributes.ContainsKey("where"), "PUT replaces the attribute map");

        var read = await client.GetAsync(path).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("The bridge collapsed; ferrymen now charge double.", read["content"]!.GetValue<string>());
        var facts = await client.GetAsync($"/api/sessions/{sessionId}/memory?type=fact").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(["fact:the-bridge-is-out"], Ids(facts));
        Assert.Empty(Ids(await client.GetAsync($"/api/sessions/{sessionId}/memory?type=character").ExpectAsync(HttpStatusCode.OK)));
        Assert.Single(Ids(await client.GetAsync($"/api/sessions/{sessionId}/memory?query=ferrymen").ExpectAsync(HttpStatusCode.OK)));

        // The edit reaches the next prompt.
        var turn = await client.PlayAsync(sessionId, "I walk down to the bridge to see the damage.");
        Assert.Contains("fact:the-bridge-is-out", turn["memoryUsed"]!.AsArray().Select(n => n!.GetValue<string>()));

        // PUT replaces the text as given: empty content clears it (a narrator's op without content keeps it).
        var cleared = await PutAsync(client, path, new { type = "fact", name = "The bridge is out", content = "" }).ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("", cleared["content"]!.GetValue<string>());
        Assert.Equal(3, cleared["version"]!.GetValue<int>());
        Assert.Equal("", (await client.GetAsync(path).ExpectAsync(HttpStatusCode.OK))["content"]!.GetValue<string>());

        var deleted = await client.DeleteAsync(path);
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        await client.GetAsync(path).ExpectProblemAsync(HttpStatusCode.NotFound);
        await client.DeleteAsync(path).ExpectProblemAsync(HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Search_ranks_by_keyword_vector_and_hybrid()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var memory = $"/api/sessions/{sessionId}/memory";
        await PutAsync(client, $"{memory}/item:moonstone-compass", new
        {
            type = "item", name = "Moonstone compass", content = "A compass whose needle points to the nearest lie.",
        }).ExpectAsync(HttpStatusCode.OK);
        await PutAsync(client, $"{memory}/character:brannoch", new
        {
            type = "character", name = "Brannoch", content = "A one-eyed ferryman who owes the player three favours.",
        }).ExpectAsync(HttpStatusCode.OK);
        await PutAsync(client, $"{memory}/location:saltmere", new
        {
            type = "location", name = "Saltmere", content = "A drowned village of stilt houses at the river mouth.",
        }).ExpectAsync(HttpStatusCode.OK);

        foreach (var (mode, query) in new[] { ("keyword", "compass needle"), ("vector", "moonstone compass lie"), ("hybrid", "where is the compass") })
        {
            var hits = (await client.PostJsonAsync($"{memory}/search", new { query, mode, limit = 2 }).ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
            Assert.InRange(hits.Count, 1, 2);
            Assert.Equal("item:moonstone-compass", hits[0]!["entity"]!["entityId"]!.GetValue<string>());
            Assert.True(hits[0]!["score"]!.GetValue<double>() > 0);
        }
        var ferry = (await client.PostJsonAsync($"{memory}/search", new { query = "Brannoch the ferryman", mode = "keyword" })
            .ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray();
        Assert.Equal("character:brannoch", ferry[0]!["entity"]!["entityId"]!.GetValue<string>());

        await client.PostJsonAsync($"{memory}/search", new { query = "compass", mode = "fuzzy" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync($"{memory}/search", new { query = " ", mode = "keyword" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PostJsonAsync($"{memory}/search", new { query = "compass", limit = 0 }).ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task Bad_edits_are_problems_and_change_nothing()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var memory = $"/api/sessions/{sessionId}/memory";

        var bad = await PutAsync(client, $"{memory}/Not An Id", new { type = "fact", name = "x", content = "y" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(bad["errors"]!["entityId"]);
        var mismatch = await PutAsync(client, $"{memory}/fact:a-thing", new { type = "item", name = "A thing", content = "" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.NotNull(mismatch["errors"]!["type"]);
        // A 2,000-character id (longer than any slug): refused as no entity id, and not echoed back.
        var longId = "fact:" + new string('a', 2000);
        var longMismatch = await PutAsync(client, $"{memory}/{longId}", new { type = "item", name = "A thing", content = "" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        Assert.DoesNotContain(longId, longMismatch.ToJsonString());
        Assert.True(longMismatch["detail"]!.GetValue<string>().Length <= 200, longMismatch.ToJsonString());
        await PutAsync(client, $"{memory}/fact:a-thing", new { type = "dragon", name = "A thing", content = "" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await PutAsync(client, $"{memory}/fact:a-thing", new { type = "fact", content = "no name" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await PutAsync(client, $"{memory}/fact:a-thing", new { type = "fact", name = "A thing" }).ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.PutAsync($"{memory}/fact:a-thing", new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json"))
            .ExpectProblemAsync(HttpStatusCode.BadRequest);
        var tooLong = await PutAsync(client, $"{memory}/fact:a-thing", new { type = "fact", name = "A thing", content = new string('x', 9000) })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.Equal("invalid_memory_op", tooLong["code"]!.GetValue<string>());
        Assert.NotNull(tooLong["errors"]!["content"]); // the body's field, not an internal op index
        var longName = await PutAsync(client, $"{memory}/fact:a-thing", new { type = "fact", name = "A " + new string('n', 300), content = "" })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(longName["errors"]!["name"]);
        var badAttribute = await PutAsync(client, $"{memory}/fact:a-thing", new { type = "fact", name = "A thing", content = "", attributes = new Dictionary<string, string> { ["mood"] = new string('m', 1500) } })
            .ExpectProblemAsync(HttpStatusCode.UnprocessableEntity);
        Assert.NotNull(badAttribute["errors"]!["attributes"]);
        await client.GetAsync($"{memory}?type=dragon").ExpectProblemAsync(HttpStatusCode.BadRequest);
        await client.GetAsync($"{memory}?limit=0").ExpectProblemAsync(HttpStatusCode.BadRequest);

        Assert.Empty(Ids(await client.GetAsync(memory).ExpectAsync(HttpStatusCode.OK)));
    }

    [Fact]
    public async Task Another_owners_memory_is_404_and_untouched()
    {
        var alice = app.Alice();
        var bob = app.Bob();
        var sessionId = await alice.CreateSessionAsync();
        var memory = $"/api/sessions/{sessionId}/memory";
        await PutAsync(alice, $"{memory}/fact:secret", new { type = "fact", name = "Secret", content = "Alice's secret." }).ExpectAsync(HttpStatusCode.OK);

        await bob.GetAsync(memory).ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.GetAsync($"{memory}/fact:secret").ExpectProblemAsync(HttpStatusCode.NotFound);
        await PutAsync(bob, $"{memory}/fact:secret", new { type = "fact", name = "Secret", content = "Bob was here." }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.DeleteAsync($"{memory}/fact:secret").ExpectProblemAsync(HttpStatusCode.NotFound);
        await bob.PostJsonAsync($"{memory}/search", new { query = "secret" }).ExpectProblemAsync(HttpStatusCode.NotFound);
        await alice.GetAsync("/api/sessions/nope/memory").ExpectProblemAsync(HttpStatusCode.NotFound);

        var kept = await alice.GetAsync($"{memory}/fact:secret").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("Alice's secret.", kept["content"]!.GetValue<string>());
    }

    [Fact]
    public async Task Memory_endpoints_are_in_the_openapi_document()
    {
        var openapi = await app.Alice().GetAsync("/openapi/v1.json").ExpectAsync(HttpStatusCode.OK);
        var paths = openapi["paths"]!.AsObject();
        Assert.NotNull(paths["/api/sessions/{sessionId}/memory"]?["get"]);
        Assert.NotNull(paths["/api/sessions/{sessionId}/memory/{entityId}"]?["put"]);
        Assert.NotNull(paths["/api/sessions/{sessionId}/memory/{entityId}"]?["delete"]);
        Assert.NotNull(paths["/api/sessions/{sessionId}/memory/search"]?["post"]);
    }
}
