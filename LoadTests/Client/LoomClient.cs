using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;

namespace Loom.LoadTests.Client;

/// <summary>The few calls of the LOOM HTTP API (contract v1) that the scenarios drive. Throws on any non-success.</summary>
public sealed class LoomClient : IDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly HttpClient _http;

    public LoomClient(Uri baseAddress, string? apiKey = null)
    {
        var handler = new SocketsHttpHandler
        {
            // Load tests open one connection per concurrent user; the default pool has no cap but say so explicitly.
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(2),
            ConnectTimeout = TimeSpan.FromSeconds(10),
            UseProxy = false,
        };
        // Turns wait up to 120 s on the server; give the hop a margin beyond that.
        _http = new HttpClient(new TrafficHandler(handler)) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(150) };
        if (!string.IsNullOrEmpty(apiKey)) _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    public async Task<bool> IsReadyAsync(CancellationToken ct)
    {
        try
        {
            using var response = await _http.GetAsync("/readyz", ct);
            return response.StatusCode == HttpStatusCode.OK;
        }
        catch (HttpRequestException) { return false; }
    }

    /// <summary>A plain-text GET of an absolute URL (a process's /metrics); throws on non-success.</summary>
    public async Task<string> GetTextAsync(Uri url, CancellationToken ct)
    {
        using var response = await _http.GetAsync(url, ct);
        await EnsureSuccessAsync(response, "GET", url.AbsolutePath, ct);
        return await response.Content.ReadAsStringAsync(ct);
    }

    public Task<CanonVersionInfo> PutWorldAsync(string worldId, IReadOnlyDictionary<string, string> files, CancellationToken ct) =>
        SendAsync<CanonVersionInfo>(HttpMethod.Put, $"/api/worlds/{Uri.EscapeDataString(worldId)}", new { title = worldId, files }, ct);

    public Task<ValidationInfo> ValidateCanonAsync(IReadOnlyDictionary<string, string> files, CancellationToken ct) =>
        SendAsync<ValidationInfo>(HttpMethod.Post, "/api/canon/validate", new { files }, ct);

    public Task<SessionInfo> CreateSessionAsync(string worldId, string? name, CancellationToken ct) =>
        SendAsync<SessionInfo>(HttpMethod.Post, "/api/sessions", new { worldId, name }, ct);

    /// <summary>A session narrated by <paramref name="provider"/>'s <paramref name="model"/> (the target must have that provider configured).</summary>
    public Task<SessionInfo> CreateSessionAsync(string worldId, string? name, string provider, string model, CancellationToken ct) =>
        SendAsync<SessionInfo>(HttpMethod.Post, "/api/sessions", new { worldId, name, llm = new { provider, model } }, ct);

    public Task<SessionInfo> GetSessionAsync(string sessionId, CancellationToken ct) =>
        SendAsync<SessionInfo>(HttpMethod.Get, $"/api/sessions/{Uri.EscapeDataString(sessionId)}", null, ct);

    public Task<SessionInfo> PatchSessionAsync(string sessionId, string name, CancellationToken ct) =>
        SendAsync<SessionInfo>(HttpMethod.Patch, $"/api/sessions/{Uri.EscapeDataString(sessionId)}", new { name }, ct);

    public Task<ItemList<TurnInfo>> ListTurnsAsync(string sessionId, CancellationToken ct) => ListTurnsAsync(sessionId, null, ct);

    /// <summary>One page (up to 200) of the timeline, after the cursor <paramref name="after"/> (null: from the start).</summary>
    public Task<ItemList<TurnInfo>> ListTurnsAsync(string sessionId, string? after, CancellationToken ct) =>
        SendAsync<ItemList<TurnInfo>>(HttpMethod.Get,
            $"/api/sessions/{Uri.EscapeDataString(sessionId)}/turns?limit=200{(after is null ? "" : "&after=" + Uri.EscapeDataString(after))}", null, ct);

    /// <summary>
    /// Sends a turn and waits for it (<c>?wait=true</c>). Anything but a completed turn throws
    /// <see cref="TurnNotCompletedException"/>, so a step only counts as ok when the narration really finished.
    /// </summary>
    public async Task<TurnInfo> SendTurnAsync(string sessionId, string input, string idempotencyKey, int waitSeconds, CancellationToken ct)
    {
        var path = $"/api/sessions/{Uri.EscapeDataString(sessionId)}/turns?wait=true&timeout={waitSeconds}";
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(new { input }, options: Json) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        await EnsureSuccessAsync(response, "POST", path, ct);
        var turn = await response.Content.ReadFromJsonAsync<TurnInfo>(Json, ct) ?? throw new JsonException("empty turn");
        if (response.StatusCode == HttpStatusCode.Accepted || turn.Status is "queued" or "running")
            throw new TurnNotCompletedException("turn still pending at wait timeout", $"turn {turn.TurnId} still {turn.Status}");
        if (turn.Status != "completed")
            throw new TurnNotCompletedException($"turn {turn.Status}: {turn.Error?.Code ?? "unknown"}", turn.Error?.Message ?? turn.Status);
        return turn;
    }

    /// <summary>PUT of a memory entity; a 404/405 means the memory endpoints are not there (reported "n/a").</summary>
    public Task<MemoryEntityInfo> PutMemoryAsync(string sessionId, string entityId, string type, string name, string content, CancellationToken ct) =>
        SendAsync<MemoryEntityInfo>(HttpMethod.Put, $"/api/sessions/{Uri.EscapeDataString(sessionId)}/memory/{Uri.EscapeDataString(entityId)}",
            new { type, name, content, attributes = new Dictionary<string, string> { ["origin"] = "loadtest" } }, ct, missingRouteIsNotAvailable: true);

    public Task<MemoryEntityInfo> GetMemoryAsync(string sessionId, string entityId, CancellationToken ct) =>
        SendAsync<MemoryEntityInfo>(HttpMethod.Get, $"/api/sessions/{Uri.EscapeDataString(sessionId)}/memory/{Uri.EscapeDataString(entityId)}", null, ct);

    public Task<ItemList<MemoryHit>> SearchMemoryAsync(string sessionId, string query, string mode, int limit, CancellationToken ct) =>
        SendAsync<ItemList<MemoryHit>>(HttpMethod.Post, $"/api/sessions/{Uri.EscapeDataString(sessionId)}/memory/search",
            new { query, mode, limit }, ct, missingRouteIsNotAvailable: true);

    private async Task<T> SendAsync<T>(HttpMethod method, string path, object? body, CancellationToken ct, bool missingRouteIsNotAvailable = false)
    {
        using var request = new HttpRequestMessage(method, path);
        if (body is not null) request.Content = JsonContent.Create(body, body.GetType(), options: Json);
        using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseContentRead, ct);
        if (missingRouteIsNotAvailable && response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed or HttpStatusCode.NotImplemented)
            throw new Core.NotAvailableException($"{method} {path} answered {(int)response.StatusCode}");
        await EnsureSuccessAsync(response, method.Method, path, ct);
        return await response.Content.ReadFromJsonAsync<T>(Json, ct) ?? throw new JsonException($"empty body from {method} {path}");
    }

    private static async Task EnsureSuccessAsync(HttpResponseMessage response, string method, string path, CancellationToken ct)
    {
        if (response.IsSuccessStatusCode) return;
        string? title = null;
        try
        {
            if (response.Content.Headers.ContentType?.MediaType is { } media && media.Contains("json", StringComparison.OrdinalIgnoreCase))
            {
                using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
                if (doc.RootElement.ValueKind == JsonValueKind.Object && doc.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
                    title = t.GetString();
            }
        }
        catch (JsonException) { }
        throw new LoomApiException((int)response.StatusCode, title, method, path);
    }

    public void Dispose() => _http.Dispose();
}
