using System.Collections.Concurrent;
using System.Text.Json;
using Loom.LoadTests.Client;
using Loom.LoadTests.Scenarios.Roll;
using Loom.Tests.Stubs;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Loom.Tests.LoadTests;

/// <summary>The roll scenario's player: retries keep the turn's key, and the timeline check catches what a roll could break.</summary>
public sealed class RollingPlayerTests
{
    [Fact]
    public async Task A_503_is_retried_with_the_same_key_and_the_timeline_check_passes_when_every_turn_is_there_once()
    {
        await using var api = await TurnApi.StartAsync();
        using var client = new LoomClient(api.BaseAddress);
        var player = new RollingPlayer("s1", () => client, TimeSpan.Zero, TimeSpan.FromSeconds(30));

        await player.RunAsync(() => player.Turns.Count < 3, CancellationToken.None);

        Assert.Equal(3, player.Completed);
        Assert.All(player.Turns, t => Assert.Equal(2, t.Attempts));
        Assert.Equal(3, player.Retried["503"]);
        // Each key was sent twice (refused, then answered) and made one turn.
        Assert.All(api.Attempts.Values, n => Assert.Equal(2, n));
        Assert.Equal(3, api.Attempts.Count);
        Assert.Empty(player.Violations);
        Assert.Empty(await player.CheckTimelineAsync(client, CancellationToken.None));
    }

    [Fact]
    public async Task A_turn_made_twice_or_a_5xx_other_than_503_is_reported()
    {
        await using var api = await TurnApi.StartAsync(firstAnswer: 500, repeatOnTimeline: true);
        using var client = new LoomClient(api.BaseAddress);
        var player = new RollingPlayer("s1", () => client, TimeSpan.Zero, TimeSpan.FromSeconds(30));

        await player.RunAsync(() => player.Turns.Count < 2, CancellationToken.None);

        Assert.Equal(2, player.Violations.Count);
        var problems = await player.CheckTimelineAsync(client, CancellationToken.None);
        Assert.Contains(problems, p => p.Contains("duplicates: 1", StringComparison.Ordinal));
    }

    /// <summary>Answers each turn's first request with <c>firstAnswer</c>, the retry with the completed turn.</summary>
    private sealed class TurnApi : IAsyncDisposable
    {
        private WebApplication _app = null!;
        private readonly List<string> _timeline = [];
        public ConcurrentDictionary<string, int> Attempts { get; } = new();
        public Uri BaseAddress { get; private set; } = null!;

        public static async Task<TurnApi> StartAsync(int firstAnswer = 503, bool repeatOnTimeline = false)
        {
            var api = new TurnApi();
            (api._app, api.BaseAddress) = await LoopbackHost.StartAsync(app =>
            {
                app.MapPost("/api/sessions/{id}/turns", async (string id, HttpRequest request) =>
                {
                    var key = request.Headers["Idempotency-Key"].ToString();
                    using var body = await JsonDocument.ParseAsync(request.Body);
                    var input = body.RootElement.GetProperty("input").GetString()!;
                    if (api.Attempts.AddOrUpdate(key, 1, (_, n) => n + 1) == 1)
                        return Results.Problem(title: "try again", statusCode: firstAnswer);
                    lock (api._timeline)
                    {
                        api._timeline.Add(input);
                        if (repeatOnTimeline && api._timeline.Count == 1) api._timeline.Add(input);
                        return Results.Json(new { turnId = key, seq = api._timeline.Count, status = "completed", narrative = "ok", input });
                    }
                });
                app.MapGet("/api/sessions/{id}/turns", () =>
                {
                    lock (api._timeline)
                        return Results.Json(new { items = api._timeline.Select((input, i) => new { turnId = $"t{i}", seq = i + 1, status = "completed", input }).ToList(), next = (string?)null });
                });
            });
            return api;
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
