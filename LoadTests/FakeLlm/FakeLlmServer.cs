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
using Loom.LoadTests.Target;

namespace Loom.LoadTests.FakeLlm;

/// <summary>
/// A fake model on 127.0.0.1 with controllable timing, so turn latency under load measures the engine and not a real
/// provider. It speaks three wire formats (<see cref="FakeWireFormat"/>): OpenAI chat completions (SSE chunks, a usage
/// chunk, <c>[DONE]</c>), Anthropic messages (typed SSE events) and Ollama chat (newline-delimited JSON), each with
/// the same narration, timing and usage, so the providers table compares LOOM's provider clients, not the fakes.
/// </summary>
public sealed class FakeLlmServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private FakeLlmBehaviour _behaviour;
    private readonly long[] _requestsByFormat = new long[3];
    private long _requests, _streamed, _aborted, _badRequests;

    private FakeLlmServer(WebApplication app, FakeLlmBehaviour behaviour)
    {
        _app = app;
        _behaviour = behaviour;
    }

    /// <summary>Base address to configure as the OpenAI-compatible endpoint, e.g. http://127.0.0.1:41234/v1.</summary>
    public Uri BaseAddress { get; private set; } = null!;

    /// <summary>The server's root: the endpoint for the Anthropic (<c>/v1/messages</c>) and Ollama (<c>/api/chat</c>) shapes.</summary>
    public Uri Root { get; private set; } = null!;

    /// <summary>The endpoint a provider of <paramref name="format"/> is configured with.</summary>
    public Uri EndpointFor(FakeWireFormat format) => format == FakeWireFormat.OpenAi ? BaseAddress : Root;

    /// <summary>Requests answered in <paramref name="format"/>'s shape.</summary>
    public long RequestsIn(FakeWireFormat format) => Interlocked.Read(ref _requestsByFormat[(int)format]);

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

    /// <summary>Called when a request has been read: its last user message and <see cref="Stopwatch.GetTimestamp"/> of its
    /// arrival (scenarios split a turn's time around the model).</summary>
    public Action<string, long>? RequestArrived { get; set; }

    private Core.StepStats? _lateness;

    /// <summary>
    /// From now on, how late each streamed answer's last chunk was written against its due time (the fake shares the
    /// machine with the target, so under load its own timers and threads fall behind): what of a turn's time over L is
    /// the fake model's, not the engine's. A new window replaces the previous one.
    /// </summary>
    public Core.StepStats StartLatenessWindow() => _lateness = new Core.StepStats("fake model: last chunk after its due time");

    /// <summary>Starts on <paramref name="port"/> (0: any free loopback port).</summary>
    public static async Task<FakeLlmServer> StartAsync(FakeLlmBehaviour behaviour, CancellationToken ct = default, int port = 0)
    {
        var builder = HarnessWeb.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxConcurrentConnections = null;
        });
        // A model provider does not drop connections: Kestrel's default backlog of 512 lost part of the gateway's burst
        // of new connections at 1,000 users, each then retried by the kernel a second later.
        builder.WebHost.UseSockets(s => s.Backlog = 4096);
        var app = builder.Build();
        var server = new FakeLlmServer(app, behaviour);
        app.MapPost("/v1/chat/completions", (HttpContext http) => server.HandleAsync(http, FakeWireFormat.OpenAi));
        app.MapPost("/v1/messages", (HttpContext http) => server.HandleAsync(http, FakeWireFormat.Anthropic));
        app.MapPost("/api/chat", (HttpContext http) => server.HandleAsync(http, FakeWireFormat.Ollama));
        app.MapGet("/v1/models", () => Results.Json(new { @object = "list", data = new[] { new { id = "fake-model", @object = "model", owned_by = "loom-loadtests" } } }));
        await app.StartAsync(ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Root = new Uri(address.TrimEnd('/') + "/");
        server.BaseAddress = new Uri(address.TrimEnd('/') + "/v1");
        return server;
    }

    private async Task HandleAsync(HttpContext http, FakeWireFormat format)
    {
        var arrived = Stopwatch.GetTimestamp();
        Interlocked.Increment(ref _requests);
        Interlocked.Increment(ref _requestsByFormat[(int)format]);
        var ct = http.RequestAborted;
        var behaviour = Behaviour;

        ChatRequest request;
        try
        {
            request = await ChatRequest.ReadAsync(http.Request.Body, format, behaviour.ExactPromptTokens, ct);
        }
        catch (JsonException)
        {
            Interlocked.Increment(ref _badRequests);
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new { error = new { message = "body is not a chat request", type = "invalid_request_error" } }, ct);
            return;
        }

        RequestArrived?.Invoke(request.LastUserMessage, arrived);
        var chunks = FakeNarrative.Chunks(behaviour.CompletionTokens, behaviour.EffectiveChunks, behaviour.IncludeMemoryBlock);
        var usage = new FakeUsage(request.PromptText is { } prompt ? FakeNarrative.CountPromptTokens(prompt) : FakeNarrative.EstimateTokens(request.PromptChars),
            FakeNarrative.CountTokens(chunks));
        var writer = FakeWire.For(format, request.Model);

        try
        {
            if (!request.Stream)
            {
                await WaitUntilAsync(arrived, behaviour.TotalTime, ct);
                await http.Response.WriteAsync(writer.Complete(string.Concat(chunks), usage), Encoding.UTF8, ct);
                return;
            }

            Interlocked.Increment(ref _streamed);
            http.Response.ContentType = writer.StreamContentType;
            http.Response.Headers.CacheControl = "no-cache";
            for (var i = 0; i < chunks.Count; i++)
            {
                await WaitUntilAsync(arrived, behaviour.ChunkDueAt(i), ct);
                await WriteFlushedAsync(http.Response, (i == 0 ? writer.Start(usage) : "") + writer.Chunk(chunks[i], i == 0), ct);
                ChunkWritten?.Invoke(request.LastUserMessage, i, Stopwatch.GetTimestamp());
            }
            await WriteFlushedAsync(http.Response, writer.End(usage), ct);
            _lateness?.RecordOk(Max(TimeSpan.Zero, Stopwatch.GetElapsedTime(arrived) - behaviour.TotalTime));
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            Interlocked.Increment(ref _aborted);
        }
    }

    private static async Task WriteFlushedAsync(HttpResponse response, string text, CancellationToken ct)
    {
        await response.WriteAsync(text, Encoding.UTF8, ct);
        await response.Body.FlushAsync(ct);
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;

    /// <summary>
    /// Waits until <paramref name="due"/> after <paramref name="start"/>; absolute deadlines keep chunk timing from drifting.
    /// Never early: a delay counts whole milliseconds and its timer may fire a fraction before the exact time (a last
    /// chunk written 0.3 ms before L failed FakeLlmServerTests once), so the time left is rounded up and checked again.
    /// </summary>
    private static async Task WaitUntilAsync(long start, TimeSpan due, CancellationToken ct)
    {
        TimeSpan remaining;
        while ((remaining = due - Stopwatch.GetElapsedTime(start)) > TimeSpan.Zero)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Ceiling(remaining.TotalMilliseconds)), ct);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }

    private sealed record ChatRequest(string Model, bool Stream, int PromptChars, string? PromptText, string LastUserMessage)
    {
        public static async Task<ChatRequest> ReadAsync(Stream body, FakeWireFormat format, bool keepText, CancellationToken ct)
        {
            using var doc = await JsonDocument.ParseAsync(body, cancellationToken: ct);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("messages", out var messages) || messages.ValueKind != JsonValueKind.Array)
                throw new JsonException("messages missing");
            var model = root.TryGetProperty("model", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString()! : "fake-model";
            // Ollama streams unless told not to; the others only when asked.
            var stream = root.TryGetProperty("stream", out var s)
                ? s.ValueKind == JsonValueKind.True
                : format == FakeWireFormat.Ollama;
            // Anthropic carries the system prompt beside the messages.
            var text = keepText ? new StringBuilder() : null;
            var chars = root.TryGetProperty("system", out var system) ? TextChars(system, text) : 0;
            var lastUser = "";
            foreach (var message in messages.EnumerateArray())
            {
                if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content)) continue;
                chars += TextChars(content, text);
                if (content.ValueKind == JsonValueKind.String && message.TryGetProperty("role", out var role) && role.ValueEquals("user")) lastUser = content.GetString()!;
            }
            return new ChatRequest(model, stream, chars, text?.ToString(), lastUser);
        }

        /// <summary>Characters of a content value: a string, or an array of parts with "text"; appended to <paramref name="text"/> when kept.</summary>
        private static int TextChars(JsonElement content, StringBuilder? text)
        {
            if (content.ValueKind == JsonValueKind.String)
            {
                var s = content.GetString()!;
                text?.Append(s).Append('\n');
                return s.Length;
            }
            var chars = 0;
            if (content.ValueKind == JsonValueKind.Array)
                foreach (var part in content.EnumerateArray())
                    if (part.ValueKind == JsonValueKind.Object && part.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text?.Append(t.GetString()).Append('\n');
                        chars += t.GetString()!.Length;
                    }
            return chars;
        }
    }
}
