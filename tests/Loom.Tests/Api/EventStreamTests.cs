using System.Net;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

public sealed class EventStreamTests(LoomAppFactory app) : IClassFixture<LoomAppFactory>
{
    private static readonly TimeSpan Within = TimeSpan.FromSeconds(60);

    private static async Task<(HttpResponseMessage Response, SseReader Reader)> OpenAsync(HttpClient client, string sessionId, string? lastEventId = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"/api/sessions/{sessionId}/events");
        if (lastEventId is not null) request.Headers.Add("Last-Event-ID", lastEventId);
        var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        return (response, new SseReader(new StreamReader(await response.Content.ReadAsStreamAsync())));
    }

    [Fact]
    public async Task Narration_streams_as_deltas_between_started_and_completed()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var (response, sse) = await OpenAsync(client, sessionId);
        using var _ = response;

        await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "I follow the river north." }).ExpectAsync(HttpStatusCode.Accepted);
        var events = await sse.UntilAsync("turn.completed", Within);

        Assert.Contains(": connected", sse.Comments);
        var types = events.Select(e => e.Type).ToList();
        Assert.True(types.IndexOf("turn.queued") < types.IndexOf("turn.started"));
        Assert.True(types.IndexOf("turn.started") < types.IndexOf("turn.delta"));
        var deltas = events.Where(e => e.Type == "turn.delta").Select(e => JsonNode.Parse(e.Data)!["text"]!.GetValue<string>()).ToList();
        Assert.True(deltas.Count > 1, "narration should arrive in several chunks");
        var completed = JsonNode.Parse(events[^1].Data)!;
        Assert.Equal(string.Concat(deltas).Trim(), completed["narrative"]!.GetValue<string>());
        Assert.All(events, e => Assert.False(string.IsNullOrEmpty(e.Id)));
        var ids = events.Select(e => long.Parse(e.Id!)).ToList();
        Assert.Equal(ids.OrderBy(i => i), ids);
    }

    [Fact]
    public async Task Reconnecting_with_Last_Event_ID_replays_only_what_was_missed()
    {
        var client = app.Alice();
        var sessionId = await client.CreateSessionAsync();
        var (first, sse) = await OpenAsync(client, sessionId);
        await client.PostJsonAsync($"/api/sessions/{sessionId}/turns", new { input = "One." }).ExpectAsync(HttpStatusCode.Accepted);
        var firstTurn = await sse.UntilAsync("turn.completed", Within);
        var lastSeen = firstTurn[^1].Id!;
        first.Dispose();

        // While disconnected, a second turn happens.
        var second = await client.PlayAsync(sessionId, "Two.");

        var (again, resumed) = await OpenAsync(client, sessionId, lastSeen);
        using var __ = again;
        var replay = await resumed.UntilAsync("turn.completed", Within);
        Assert.All(replay, e => Assert.True(long.Parse(e.Id!) > long.Parse(lastSeen)));
        Assert.Equal(second["turnId"]!.GetValue<string>(), JsonNode.Parse(replay[^1].Data)!["turnId"]!.GetValue<string>());
        Assert.Equal("turn.queued", replay[0].Type);
    }

    [Fact]
    public async Task Another_users_stream_is_404()
    {
        var sessionId = await app.Alice().CreateSessionAsync();
        await app.Bob().GetAsync($"/api/sessions/{sessionId}/events").ExpectProblemAsync(HttpStatusCode.NotFound);
    }
}
