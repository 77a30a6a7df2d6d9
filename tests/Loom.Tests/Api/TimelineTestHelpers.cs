using System.Net;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>Timeline calls as a client makes them.</summary>
public static class TimelineTestHelpers
{
    public static Task<HttpResponseMessage> RollbackAsync(this HttpClient client, string sessionId, int toSeq, string? reason = "testing") =>
        client.PostJsonAsync($"/api/sessions/{sessionId}/rollback", new { toSeq, reason });

    public static Task<HttpResponseMessage> ForkAsync(this HttpClient client, string sessionId, int atSeq, string? name = null) =>
        client.PostJsonAsync($"/api/sessions/{sessionId}/fork", new { atSeq, name });

    public static Task<JsonNode> ExportAsync(this HttpClient client, string sessionId) =>
        client.GetAsync($"/api/sessions/{sessionId}/export?format=json").ExpectAsync(HttpStatusCode.OK);

    public static async Task<List<JsonNode>> AuditAsync(this HttpClient client, string sessionId)
    {
        var items = new List<JsonNode>();
        string? after = null;
        do
        {
            var page = await client.GetAsync($"/api/sessions/{sessionId}/audit?limit=200" + (after is null ? "" : "&after=" + after))
                .ExpectAsync(HttpStatusCode.OK);
            items.AddRange(page["items"]!.AsArray().Select(i => i!));
            after = page["next"]?.GetValue<string>();
        } while (after is not null);
        return items;
    }

    public static async Task<List<JsonNode>> TurnsAsync(this HttpClient client, string sessionId, bool includeRetconned = false)
    {
        var items = new List<JsonNode>();
        string? after = null;
        do
        {
            var page = await client.GetAsync($"/api/sessions/{sessionId}/turns?limit=200&includeRetconned={includeRetconned}"
                + (after is null ? "" : "&after=" + after)).ExpectAsync(HttpStatusCode.OK);
            items.AddRange(page["items"]!.AsArray().Select(i => i!));
            after = page["next"]?.GetValue<string>();
        } while (after is not null);
        return items;
    }

    public static string Str(this JsonNode? node) => node!.GetValue<string>();
}
