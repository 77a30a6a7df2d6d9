using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Loom.LoadTests.FakeLlm;

/// <summary>
/// An OpenAI-compatible chat completions endpoint on 127.0.0.1 with controllable timing, so turn latency under load
/// measures the engine and not a real provider. Streams SSE chunks, a usage chunk and <c>[DONE]</c> when asked.
/// </summary>
public sealed class FakeLlmServer : IAsyncDisposable
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly WebApplication _app;
    private FakeLlmBehaviour _behaviour;
    private long _requests, _streamed, _aborted, _badRequests;

    private FakeLlmServer(WebApplication app, FakeLlmBehaviour behaviour)
    {
        _app = app;
        _behaviour = behaviour;
    }

    /// <summary>Base address to configure as the provider endpoint, e.g. http://127.0.0.1:41234/v1.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>Current behaviour; scenarios switch latency between phases without restarting the target.</summary>
    public FakeLlmBehaviour Behaviour
    {
        get => Volatile.Read(ref _behaviour);
        set => Volatile.Write(ref _behaviour, value ?? throw new ArgumentNullException(nameof(value)));
    }

    public long Requests => Interlocked.Read(ref _requests);
    public long StreamedRequests => Interlocked.Read(ref _streamed);
    public long AbortedRequests => Interlocked.Read(ref _aborted);
    public long BadRequests => Interlocked.Read(ref _badRequests);

    /// <summary>Called after each streamed chunk is flushed: the request's last user message, the chunk index and
    /// <see cref="Stopwatch.GetTimestamp"/> (scenarios time event delivery from the narrator's chunk).</summary>
    public Action<string, int, long>? ChunkWritten { get; set; }

    /// <summary>Starts on <paramref name="port"/> (0: any free loopback port).</summary>
    public static async Task<FakeLlmServer> StartAsync(FakeLlmBehaviour behaviour, CancellationToken ct = default, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxConcurrentConnections = null;
        });
        var app = builder.Build();
        var server = new FakeLlmServer(app, behaviour);
        app.MapPost("/v1/chat/completions", server.HandleAsync);
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "fake-model", @object = "model", owned_by = "loom-loadtests" } } }));
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    private async Task HandleAsync(HttpContext http)
    {
        var arrived = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _requests);
        var ct = http.RequestAborted;
        var behaviour = Behaviour;

        ChatRequest request;
        try
        {
            request = await ChatRequest.ReadAsync(http.Request.Body, ct);
        }
        catch (JsonException)
        {
            Interlocked.Increment(ref _badRequests);
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "body is not a chat completion request", type = "invalid_request_error" } }, ct);
            return;
        }

        var id = "chatcmpl-" + Guid.NewGuid().ToString("N")[..24];
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var chunks = FakeNarrative.Chunks(behaviour.CompletionTokens, behaviour.EffectiveChunks, behaviour.IncludeMemoryBlock);
        var usage = new
        {
            prompt_tokens = FakeNarrative.EstimateTokens(request.PromptChars),
            completion_tokens = behaviour.CompletionTokens,
            total_tokens = FakeNarrative.EstimateTokens(request.PromptChars) + behaviour.CompletionTokens,
        };

        try
        {
            if (!request.Stream)
            {
                await WaitUntilAsync(arrived, behaviour.TotalTime, ct);
                await http.Response.WriteAsJsonAsync(new
                {
                    id, @object = "chat.completion", created, model = request.Model,
                    choices = new[] { new { index = 0, message = new { role = "assistant", content = string.Concat(chunks) }, finish_reason = "stop" } },
                    usage,
                }, Json, ct);
                return;
            }

            Interlocked.Increment(ref _streamed);
            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            for (var i = 0; i < chunks.Count; i++)
            {
                await WaitUntilAsync(arrived, behaviour.ChunkDueAt(i), ct);
                object delta = i == 0 ? new { role = "assistant", content = chunks[i] } : new { content = chunks[i] };
                await WriteEventAsync(http.Response, new
                {
                    id, @object = "chat.completion.chunk", created, model = request.Model,
                    choices = new[] { new { index = 0, delta, finish_reason = (string?)null } },
                }, ct);
                ChunkWritten?.Invoke(request.LastUserMessage, i, Stopwatch.GetTimestamp());
            }
            await WriteEventAsync(http.Response, new
            {
                id, @object = "chat.completion.chunk", created, model = request.Model,
                choices = new[] { new { index = 0, delta = new { }, finish_reason = "stop" } },
            }, ct);
            // Usage arrives in a final chunk with no choices, as OpenAI sends it for stream_options.include_usage.
            await WriteEventAsync(http.Response, new
            {
                id, @object = "chat.completion.chunk", created, model = request.Model,
                choices = Array.Empty<object>(), usage,
            }, ct);
            await http.Response.WriteAsync("data: [DONE]\n\n", ct);
            await http.Response.Body.FlushAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _aborted);
        }
    }

    private static async Task WriteEventAsync(HttpResponse response, object payload, CancellationToken ct)
    {
        var json = JsonSerializer.Serialize(payload, Json);
        await response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8, ct);
        await response.Body.FlushAsync(ct);
    }

    /// <summary>Waits until <paramref name="due"/> after <paramref name="start"/>; absolute deadlines keep chunk timing from drifting.</summary>
    private static Task WaitUntilAsync(long start, TimeSpan due, CancellationToken ct)
    {
        var remaining = due - Stopwatch.GetElapsedTime(start);
        return remaining > TimeSpan.Zero ? Task.Delay(remaining, ct) : Task.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed record ChatRequest(string Model, bool Stream, int PromptChars, string LastUserMessage)
    {
        public static async Task<ChatRequest> ReadAsync(Stream body, CancellationToken ct)
        {
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                throw new JsonException("messages missing");
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "fake-model";
            var stream = root.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;
            var chars = 0;
            var lastUser = "";
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content)) continue;
                if (content.ValueKind == JsonValueKind.String && message.TryGetProperty("role", out var role) && role.ValueEquals("user")) lastUser = content.GetString()!;
                if (content.ValueKind == JsonValueKind.String) chars += content.GetString()!.Length;
                else if (content.ValueKind == JsonValueKind.Array)
                    foreach (var part in content.EnumerateArray())
                        if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                            chars += t.GetString()!.Length;
            }
            return new ChatRequest(model, stream, chars, lastUser);
        }
    }
}
