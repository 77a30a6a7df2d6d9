using System.Net;
using System.Text.Json.Nodes;
using Loom.Tests.Stubs;

namespace Loom.Tests.Api;

/// <summary>
/// Memory extraction and retrieval end to end against the OpenAI stub server: a good block is applied and hidden
/// from the stream, the next prompt carries what was remembered, a broken or missing block only warns.
/// </summary>
public sealed class MemoryNarratorTests : IAsyncLifetime
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    private OpenAiStubServer _stub = null!;
    private LoomAppFactory _app = null!;

    public async Task InitializeAsync()
    {
        _stub = await OpenAiStubServer.StartAsync();
        _app = LoomAppFactory.With(null, new Dictionary<string, string?>
        {
            ["Loom:Llm:Providers:openai:Endpoint"] = _stub.Endpoint.ToString(),
            ["Loom:Llm:Providers:openai:Model"] = "stub-model",
        });
    }

    public async Task DisposeAsync()
    {
        await _app.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private const string GoodAnswer =
        "The lighthouse keeper, Odessa Vane, presses a brass key into your palm.\n\n" +
        "```loom-memory\n" +
        "{\"ops\":[{\"op\":\"upsert\",\"type\":\"character\",\"name\":\"Odessa Vane\"," +
        "\"content\":\"The lighthouse keeper; she keeps the brass key to the sea gate.\",\"attributes\":{\"mood\":\"guarded\"}}," +
        "{\"op\":\"upsert\",\"type\":\"item\",\"name\":\"Brass key\",\"content\":\"Opens the sea gate below the lighthouse.\"}]}\n" +
        "```";

    private const string BrokenAnswer =
        "She frowns at the darkening sky and says nothing more.\n\n```loom-memory\n{\"ops\": [ {\"op\": \"upsert\", \"type\": \n```";

    private static async Task<(HttpResponseMessage, SseReader)> OpenEventsAsync(HttpClient client, string sessionId)
    {
        var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events"),
            HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (response, new SseReader(new StreamReader(await response.Content.ReadAsStreamAsync())));
    }

    [Fact]
    public async Task Good_block_is_applied_hidden_from_the_stream_and_retrieved_into_the_next_prompt()
    {
        var client = _app.Alice();
        var sessionId = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai" } });
        var (response, sse) = await OpenEventsAsync(client, sessionId);
        using var _ = response;

        // Two words per chunk: the fence arrives split over several chunks.
        _stub.Enqueue(StubReply.Ok(GoodAnswer), StubReply.Ok(BrokenAnswer), StubReply.Ok("The tide turns. Nothing else happens."));
        var first = await client.PlayAsync(sessionId, "I climb the lighthouse stairs.");
        var events = await sse.UntilAsync("turn.completed", Within);

        Assert.Equal("The lighthouse keeper, Odessa Vane, presses a brass key into your palm.", first["narrative"]!.GetValue<string>());
        Assert.Equal(["character:odessa-vane", "item:brass-key"],
            first["memoryUpdates"]!.AsArray().Select(o => o!["entityId"]!.GetValue<string>()).ToArray());
        Assert.Empty(first["warnings"]!.AsArray());
        var deltas = string.Concat(events.Where(e => e.Type == "turn.delta").Select(e => JsonNode.Parse(e.Data)!["text"]!.GetValue<string>()));
        Assert.DoesNotContain("`", deltas);
        Assert.Equal(first["narrative"]!.GetValue<string>(), deltas.Trim());
        var updated = events.Single(e => e.Type == "memory.updated");
        Assert.Equal(2, JsonNode.Parse(updated.Data)!["ops"]!.AsArray().Count);
        Assert.True(events.IndexOf(updated) < events.FindIndex(e => e.Type == "turn.completed"));

        var keeper = await client.GetAsync($"/api/sessions/{sessionId}/memory/character:odessa-vane").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal("guarded", keeper["attributes"]!["mood"]!.GetValue<string>());

        // Turn 2: the prompt the stub receives carries memory between the canon and the recent turns.
        var second = await client.PlayAsync(sessionId, "I ask Odessa Vane what the key opens.");
        var prompt = JsonNode.Parse(_stub.Requests.ElementAt(1).Body)!["messages"]!.AsArray();
        var system = prompt.Select(m => m!["content"]!.GetValue<string>()).ToList();
        var canonAt = system.FindIndex(c => c.Contains("=== CANON", StringComparison.Ordinal));
        var memoryAt = system.FindIndex(c => c.Contains("brass key to the sea gate", StringComparison.Ordinal));
        var historyAt = system.FindIndex(c => c.Contains("I climb the lighthouse stairs.", StringComparison.Ordinal));
        Assert.True(canonAt == 0 && memoryAt > canonAt && historyAt > memoryAt, $"canon {canonAt}, memory {memoryAt}, history {historyAt}");
        Assert.Equal("I ask Odessa Vane what the key opens.", system[^1]);
        Assert.Contains("character:odessa-vane", second["memoryUsed"]!.AsArray().Select(n => n!.GetValue<string>()));
        // The narrative the model sees again is the clean one, never the block.
        Assert.All(prompt.Where(m => m!["role"]!.GetValue<string>() == "assistant"),
            m => Assert.DoesNotContain("loom-memory", m!["content"]!.GetValue<string>()));

        // The broken block: the turn still completes with its narrative, nothing applied, a warning recorded.
        Assert.Equal("completed", second["status"]!.GetValue<string>());
        Assert.Equal("She frowns at the darkening sky and says nothing more.", second["narrative"]!.GetValue<string>());
        Assert.Empty(second["memoryUpdates"]!.AsArray());
        Assert.Contains("memory block", Assert.Single(second["warnings"]!.AsArray())!.GetValue<string>());

        // No block at all: a warning, and memory unchanged.
        var third = await client.PlayAsync(sessionId, "I wait for the tide.");
        Assert.Equal("completed", third["status"]!.GetValue<string>());
        Assert.Contains("missing", Assert.Single(third["warnings"]!.AsArray())!.GetValue<string>());
        var all = await client.GetAsync($"/api/sessions/{sessionId}/memory").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(2, all["items"]!.AsArray().Count);
    }

    [Fact]
    public async Task Memory_answers_while_a_turn_is_running()
    {
        var client = _app.Alice();
        var sessionId = await client.CreateSessionAsync(extra: new { llm = new { provider = "openai" } });
        _stub.Enqueue(StubReply.Ok(GoodAnswer));
        await client.PlayAsync(sessionId, "I climb the lighthouse stairs.");

        _stub.Enqueue(StubReply.Ok(GoodAnswer) with { ChunkDelay = TimeSpan.FromMilliseconds(400) });
        var queued = await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I go down to the sea gate." })
            .ExpectAsync(HttpStatusCode.Accepted);
        var turnPath = $"/api/sessions/{sessionId}/turns/{queued["turnId"]!.GetValue<string>()}";
        await client.PollAsync(turnPath, t => t["status"]!.GetValue<string>() == "running", Within);

        var list = await client.GetAsync($"/api/sessions/{sessionId}/memory").ExpectAsync(HttpStatusCode.OK);
        var hits = await client.PostJsonAsync($"/api/sessions/{sessionId}/memory/search", new { query = "brass key", mode = "hybrid" })
            .ExpectAsync(HttpStatusCode.OK);
        var still = await client.GetAsync(turnPath).ExpectAsync(HttpStatusCode.OK);

        Assert.Equal("running", still["status"]!.GetValue<string>());
        Assert.Equal(2, list["items"]!.AsArray().Count);
        Assert.Equal("item:brass-key", hits["items"]![0]!["entity"]!["entityId"]!.GetValue<string>());
        await client.PollAsync(turnPath, t => t["status"]!.GetValue<string>() == "completed", Within);
    }
}
