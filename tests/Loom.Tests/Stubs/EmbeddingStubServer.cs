using System.Collections.Concurrent;
using System.Text.Json;
using Loom.Memory;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Loom.Tests.Stubs;

/// <summary>
/// An OpenAI-compatible <c>POST /v1/embeddings</c> on a real socket. Its vectors come from the hashing embedder (64
/// dimensions), so they are deterministic; what matters here is the wire path and which model was asked for.
/// </summary>
public sealed class EmbeddingStubServer : IAsyncDisposable
{
    private readonly HashingEmbeddingGenerator _vectors = new(64);
    private WebApplication? _app;

    /// <summary>(model, inputs) of every request, in arrival order.</summary>
    public ConcurrentQueue<(string Model, int Inputs)> Requests { get; } = new();

    public Uri Endpoint { get; private set; } = null!;

    /// <summary>While not completed, every request waits for it (an embedder that is slow or stuck).</summary>
    public TaskCompletionSource Gate { get; set; } = CompletedGate();

    private static TaskCompletionSource CompletedGate()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        return gate;
    }

    public static async Task<EmbeddingStubServer> StartAsync()
    {
        var server = new EmbeddingStubServer();
        (server._app, var address) = await LoopbackHost.StartAsync(app =>
        {
            app.MapPost("/v1/embeddings", server.HandleAsync);
            app.MapPost("/api/embed", server.HandleOllamaAsync);
        });
        server.Endpoint = new Uri(address, "v1");
        return server;
    }

    /// <summary>Both wire formats ask with <c>{ model, input: string | string[] }</c>: waits at the gate, records, embeds.</summary>
    private async Task<(string Model, List<float[]> Vectors)> EmbedAsync(HttpContext context)
    {
        using var body = await JsonDocument.ParseAsync(context.Request.Body);
        var model = body.RootElement.GetProperty("model").GetString()!;
        var input = body.RootElement.GetProperty("input");
        var texts = input.ValueKind == JsonValueKind.Array ? input.EnumerateArray().Select(e => e.GetString()!).ToList() : [input.GetString()!];
        await Gate.Task.WaitAsync(context.RequestAborted);
        Requests.Enqueue((model, texts.Count));
        return (model, [.. (await _vectors.GenerateAsync(texts)).Select(v => v.Vector.ToArray())]);
    }

    private async Task HandleAsync(HttpContext context)
    {
        var (model, vectors) = await EmbedAsync(context);
        await context.Response.WriteAsJsonAsync(new Dictionary<string, object?>
        {
            ["object"] = "list",
            ["model"] = model,
            ["data"] = vectors.Select((v, i) => new Dictionary<string, object?> { ["object"] = "embedding", ["index"] = i, ["embedding"] = v }).ToList(),
            ["usage"] = new Dictionary<string, object?> { ["prompt_tokens"] = vectors.Count, ["total_tokens"] = vectors.Count },
        });
    }

    /// <summary>Ollama's own <c>POST /api/embed</c>: <c>{ model, input }</c> → <c>{ model, embeddings }</c>.</summary>
    private async Task HandleOllamaAsync(HttpContext context)
    {
        var (model, vectors) = await EmbedAsync(context);
        await context.Response.WriteAsJsonAsync(new Dictionary<string, object?> { ["model"] = model, ["embeddings"] = vectors });
    }

    /// <summary>The base address (Ollama's endpoint is the server root).</summary>
    public Uri Root => new(Endpoint, "/");

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
    }
}
