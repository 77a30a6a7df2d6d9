using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Loom.Tests.Api;

/// <summary>Small helpers for talking to the API as a client would: JSON in, JSON (or problem+json) out.</summary>
public static class ApiClientExtensions
{
    public static async Task<JsonNode> ReadJsonAsync(this HttpResponseMessage response)
    {
        var text = await response.Content.ReadAsStringAsync();
        return JsonNode.Parse(text) ?? throw new InvalidOperationException("empty body");
    }

    public static async Task<JsonNode> ExpectAsync(this Task<HttpResponseMessage> call, HttpStatusCode status)
    {
        var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} but got {(int)response.StatusCode}: {text}");
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text)!;
    }

    public static async Task<JsonNode> ExpectProblemAsync(this Task<HttpResponseMessage> call, HttpStatusCode status)
    {
        var response = await call;
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == status, $"Expected {(int)status} but got {(int)response.StatusCode}: {text}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal((int)status, problem["status"]!.GetValue<int>());
        Assert.False(string.IsNullOrEmpty(problem["title"]?.GetValue<string>()));
        Assert.DoesNotContain("   at ", text); // never a stack trace
        return problem;
    }

    public static Task<HttpResponseMessage> PostJsonAsync(this HttpClient client, string path, object body, string? idempotencyKey = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body) };
        if (idempotencyKey is not null) request.Headers.Add("Idempotency-Key", idempotencyKey);
        return client.SendAsync(request);
    }

    public static async Task<string> CreateSessionAsync(this HttpClient client, string worldId = "ember-vale", object? extra = null)
    {
        var body = new Dictionary<string, object?> { ["worldId"] = worldId };
        if (extra is not null)
            foreach (var p in JsonSerializer.SerializeToNode(extra)!.AsObject()) body[p.Key] = p.Value?.DeepClone();
        var session = await client.PostJsonAsync("/api/sessions", body).ExpectAsync(HttpStatusCode.Created);
        return session["sessionId"]!.GetValue<string>();
    }

    /// <summary>Submits and waits for the turn to finish (the API's own ?wait=true).</summary>
    public static Task<JsonNode> PlayAsync(this HttpClient client, string sessionId, string input, string? key = null) =>
        client.PostJsonAsync($"/api/sessions/{sessionId}/turns?wait=true&timeout=60", new { input }, key).ExpectAsync(HttpStatusCode.OK);

    /// <summary>Polls until <paramref name="condition"/> holds or the deadline passes (then fails with the last value).</summary>
    public static async Task<JsonNode> PollAsync(this HttpClient client, string path, Func<JsonNode, bool> condition, TimeSpan? within = null)
    {
        var deadline = DateTime.UtcNow + (within ?? TimeSpan.FromSeconds(60));
        JsonNode? last = null;
        while (DateTime.UtcNow < deadline)
        {
            var response = await client.GetAsync(path);
            if (response.IsSuccessStatusCode)
            {
                last = await response.ReadJsonAsync();
                if (condition(last)) return last;
            }
            await Task.Delay(50);
        }
        throw new TimeoutException($"Condition on {path} not met in time; last: {last?.ToJsonString()}");
    }
}

public static class RawPolling
{
    public static async Task PollAsyncRaw(this HttpClient client, string path)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var response = await client.GetAsync(path);
            if (response.IsSuccessStatusCode) return;
            if (DateTime.UtcNow > deadline) Assert.Fail($"{path} answered {(int)response.StatusCode}");
            await Task.Delay(100);
        }
    }
}
