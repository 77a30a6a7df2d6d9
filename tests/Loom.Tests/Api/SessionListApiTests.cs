using System.Net;
using System.Net.Http.Json;

namespace Loom.Tests.Api;

/// <summary>The owner's session list pages newest first by cursor, and a status filter fills pages across the index.</summary>
public sealed class SessionListApiTests
{
    [Fact]
    public async Task Pages_walk_every_session_once_newest_first_and_the_filter_spans_pages()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var created = new List<string>();
        for (var i = 0; i < 5; i++) created.Add(await client.CreateSessionAsync());
        // Pause the oldest and the newest: a status page has to look past the active ones between them.
        foreach (var id in new[] { created[0], created[4] })
        {
            await client.PatchAsJsonAsync($"/api/sessions/{id}", new { status = "paused" }).ExpectAsync(HttpStatusCode.OK);
        }

        var seen = await WalkAsync(client, "/api/sessions?limit=2");
        created.Reverse();
        Assert.Equal(created, seen);

        var paused = await WalkAsync(client, "/api/sessions?status=paused&limit=1");
        Assert.Equal([created[0], created[4]], paused);

        await client.GetAsync("/api/sessions?after=not-a-cursor").ExpectProblemAsync(HttpStatusCode.BadRequest);
    }

    [Fact]
    public async Task A_cursor_still_pages_on_after_its_session_is_deleted()
    {
        await using var app = LoomAppFactory.With(null, null);
        var client = app.Alice();
        var created = new List<string>();
        for (var i = 0; i < 3; i++) created.Add(await client.CreateSessionAsync());
        var first = await client.GetAsync("/api/sessions?limit=1").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal(created[2], first["items"]![0]!["sessionId"]!.GetValue<string>());
        var cursor = first["next"]!.GetValue<string>();

        // The session the cursor stopped at goes; the next page is still the one after it.
        await client.DeleteAsync($"/api/sessions/{created[2]}?permanent=true").ExpectAsync(HttpStatusCode.NoContent);
        var rest = await client.GetAsync($"/api/sessions?limit=5&after={Uri.EscapeDataString(cursor)}").ExpectAsync(HttpStatusCode.OK);
        Assert.Equal([created[1], created[0]], rest["items"]!.AsArray().Select(s => s!["sessionId"]!.GetValue<string>()));
    }

    private static async Task<List<string>> WalkAsync(HttpClient client, string first)
    {
        var ids = new List<string>();
        string? next = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = await client.GetAsync(next is null ? first : $"{first}&after={next}").ExpectAsync(HttpStatusCode.OK);
            ids.AddRange(page["items"]!.AsArray().Select(s => s!["sessionId"]!.GetValue<string>()));
            next = page["next"]?.GetValue<string>();
            if (next is null) return ids;
        }
        throw new InvalidOperationException("the list never ended");
    }
}
