using System.Collections.Concurrent;
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

namespace Loom.Tests.Stubs;

/// <summary>
/// A real Kestrel server on 127.0.0.1 (random port) that plays an LLM provider from a script: replies are
/// dequeued per request (then <see cref="Default"/>), with HTTP errors, delays, malformed JSON and resets.
/// Subclasses supply the wire format (OpenAI, Anthropic, Ollama). Every request is logged.
/// </summary>
public abstract class LlmStubServer : IAsyncDisposable
{
    private readonly ConcurrentQueue<StubReply> _script = new();
    private readonly ConcurrentQueue<StubRequest> _requests = new();
    private WebApplication? _app;

    /// <summary>Base address, e.g. http://127.0.0.1:41234/.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Reply used when the script is empty.</summary>
    public StubReply Default { get; set; } = new();

    /// <summary>Answers a request before the script is consulted when it returns a reply (e.g. summary requests).</summary>
    public Func<StubRequest, StubReply?>? Responder { get; set; }

    public IReadOnlyCollection<StubRequest> Requests => _requests;

    public int RequestCount => _requests.Count;

    public void Enqueue(params StubReply[] replies)
    {
        foreach (var reply in replies)
        {
            _script.Enqueue(reply);
        }
    }

    protected async Task StartCoreAsync() => (_app, Address) = await LoopbackHost.StartAsync(MapRoutes);

    protected abstract void MapRoutes(WebApplication app);

    /// <summary>Writes a successful non-streamed answer.</summary>
    protected abstract Task WriteCompleteAsync(HttpContext context, StubReply reply, string model);

    /// <summary>Writes what a provider sends before the first text chunk (e.g. Anthropic's message_start).</summary>
    protected virtual Task WriteStreamStartAsync(HttpContext context, StubReply reply, string model) => Task.CompletedTask;

    /// <summary>Writes one streamed text chunk.</summary>
    protected abstract Task WriteChunkAsync(HttpContext context, string text, string model, bool first);

    /// <summary>Writes the end of a stream: finish reason, usage, terminator.</summary>
    protected abstract Task WriteStreamEndAsync(HttpContext context, StubReply reply, string model);

    /// <summary>Writes a provider-style error body.</summary>
    protected abstract Task WriteErrorAsync(HttpContext context, StubReply reply);

    /// <summary>The content type of this provider's stream.</summary>
    protected virtual string StreamContentType => "text/event-stream";

    /// <summary>Writes a broken streamed event.</summary>
    protected virtual Task WriteMalformedChunkAsync(HttpContext context) => WriteRawAsync(context, "data: {\"id\": \"broken\n\n");

    /// <summary>Whether the request asks for a stream; default: a JSON "stream": true.</summary>
    protected virtual bool IsStreaming(JsonElement body) =>
        body.ValueKind == JsonValueKind.Object && body.TryGetProperty("stream", out var s) && s.ValueKind == JsonValueKind.True;

    /// <summary>Shared handling: log, script, delay, error, fault, then the format-specific body.</summary>
    protected async Task HandleAsync(HttpContext context)
    {
        var aborted = context.RequestAborted;
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync(aborted);
        JsonElement json = default;
        try
        {
            json = JsonDocument.Parse(body).RootElement.Clone();
        }
        catch (JsonException)
        {
            // logged as-is; the script decides the answer
        }

        var stream = IsStreaming(json);
        var model = json.ValueKind == JsonValueKind.Object && json.TryGetProperty("model", out var m) ? m.GetString() ?? "" : "";
        var headers = context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase);
        var request = new StubRequest(context.Request.Path, body, stream, model, headers);
        _requests.Enqueue(request);

        var reply = Responder?.Invoke(request) ?? (_script.TryDequeue(out var scripted) ? scripted : Default);
        if (reply.AnsweredBy is { } snapshot) model = snapshot; // a provider names the snapshot that answered
        if (reply.Delay > TimeSpan.Zero || reply.Gate is not null)
        {
            try
            {
                if (reply.Delay > TimeSpan.Zero) await Task.Delay(reply.Delay, aborted);
                if (reply.Gate is { } gate) await gate.WaitAsync(aborted);
            }
            catch (OperationCanceledException)
            {
                return; // the client gave up
            }
        }

        foreach (var (name, value) in reply.Headers)
        {
            context.Response.Headers[name] = value;
        }

        if (reply.Status != 200)
        {
            context.Response.StatusCode = reply.Status;
            await WriteErrorAsync(context, reply);
            return;
        }

        if (!stream)
        {
            if (reply.Fault == StubFault.MalformedJson)
            {
                context.Response.ContentType = "application/json";
                await WriteRawAsync(context, "{\"id\": \"broken\", \"choices\": [");
                return;
            }

            await WriteCompleteAsync(context, reply, model);
            return;
        }

        context.Response.ContentType = StreamContentType;
        context.Response.Headers.CacheControl = "no-cache";
        await context.Response.StartAsync(aborted);
        var chunks = Chunk(reply.Text, reply.WordsPerChunk);
        await WriteStreamStartAsync(context, reply, model);
        for (var i = 0; i < chunks.Count; i++)
        {
            if (reply.Fault == StubFault.ResetMidStream && i == reply.ResetAfterChunks)
            {
                await context.Response.Body.FlushAsync(aborted);
                // A reset discards data the client has not read yet (TCP RST), so let the sent chunks land first:
                // the fault under test is "the stream died after some text", not "the request never got an answer".
                await Task.Delay(TimeSpan.FromMilliseconds(250), CancellationToken.None);
                context.Abort();
                return;
            }

            if (reply.Fault == StubFault.MalformedJson && i == 1)
            {
                await WriteMalformedChunkAsync(context);
                await context.Response.Body.FlushAsync(aborted);
                continue;
            }

            if (i > 0 && reply.ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(reply.ChunkDelay, aborted);
            }

            await WriteChunkAsync(context, chunks[i], model, i == 0);
            await context.Response.Body.FlushAsync(aborted);
        }

        await WriteStreamEndAsync(context, reply, model);
        await context.Response.Body.FlushAsync(aborted);
    }

    protected static Task WriteRawAsync(HttpContext context, string text) =>
        context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(text), context.RequestAborted).AsTask();

    protected static Task WriteSseAsync(HttpContext context, object payload) =>
        WriteRawAsync(context, "data: " + JsonSerializer.Serialize(payload) + "\n\n");

    /// <summary>Splits text into groups of words keeping whitespace, so the chunks concatenate to the text.</summary>
    public static List<string> Chunk(string text, int wordsPerChunk)
    {
        var words = System.Text.RegularExpressions.Regex.Matches(text, @"\S+\s*").Select(m => m.Value).ToList();
        var chunks = new List<string>();
        for (var i = 0; i < words.Count; i += Math.Max(1, wordsPerChunk))
        {
            chunks.Add(string.Concat(words.Skip(i).Take(Math.Max(1, wordsPerChunk))));
        }

        return chunks;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            using var stopping = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await _app.StopAsync(stopping.Token);
            await _app.DisposeAsync();
        }

        GC.SuppressFinalize(this);
    }
}
