using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Loom.Llm;
using Loom.Tests.Stubs;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Llm;

/// <summary>The openai provider through the real SDK path (LlmStreamer → OpenAI client → HTTP) against a stub server.</summary>
public sealed class OpenAiProviderTests : IAsyncLifetime
{
    private OpenAiStubServer _stub = null!;
    private ServiceProvider _services = null!;

    public async Task InitializeAsync()
    {
        _stub = await OpenAiStubServer.StartAsync();
        _services = LlmTestServices.Build(LlmTestServices.OpenAi(_stub.Endpoint));
    }

    public async Task DisposeAsync()
    {
        await _services.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private LlmStreamer Streamer => _services.GetRequiredService<LlmStreamer>();

    [Fact]
    public async Task Streaming_text_arrives_in_order_with_reported_usage()
    {
        const string text = "The lamp gutters as you step inside the old lighthouse, and the stairs wait.";
        _stub.Enqueue(StubReply.Ok(text, new StubUsage(120, 17, 64)) with { WordsPerChunk = 3 });

        var (chunks, error) = await LlmTestServices.Collect(Streamer.StreamAsync(
            LlmTestServices.Request("openai", "gpt-stub-1") with { Temperature = 0.4, MaxTokens = 321 }));

        Assert.Null(error);
        var deltas = chunks.Where(c => !c.Final).Select(c => c.Text).ToList();
        Assert.Equal(LlmStubServer.Chunk(text, 3), deltas);
        var final = Assert.Single(chunks, c => c.Final);
        Assert.Same(final, chunks[^1]);
        Assert.Equal(120, final.PromptTokens);
        Assert.Equal(17, final.CompletionTokens);
        Assert.Equal(64, final.CachedTokens);
        Assert.False(final.UsageEstimated);
        Assert.Equal("openai", final.Provider);
        Assert.Equal("gpt-stub-1", final.Model);
        Assert.Equal("stop", final.FinishReason);

        var request = Assert.Single(_stub.Requests);
        Assert.True(request.Stream);
        Assert.Equal("gpt-stub-1", request.Model);
        Assert.Equal("Bearer sk-test-secret-key", request.Headers["Authorization"]);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Equal(0.4, body.RootElement.GetProperty("temperature").GetDouble(), 3);
        var messages = body.RootElement.GetProperty("messages");
        Assert.Equal("system", messages[0].GetProperty("role").GetString());
        Assert.Equal("I open the door.", messages[1].GetProperty("content").GetString());
    }

    [Fact]
    public async Task Usage_is_estimated_with_the_tokenizer_when_the_provider_reports_none()
    {
        _stub.Enqueue(StubReply.WithoutUsage("A short answer with no usage at all."));

        var (chunks, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("openai", "m")));

        Assert.Null(error);
        var final = chunks[^1];
        Assert.True(final.Final);
        Assert.True(final.UsageEstimated);
        Assert.InRange(final.PromptTokens!.Value, 5, 60);
        Assert.InRange(final.CompletionTokens!.Value, 5, 15);
    }

    [Fact]
    public async Task Non_streaming_answers_come_through_the_factory_client()
    {
        _stub.Enqueue(StubReply.Ok("Whole answer at once.", new StubUsage(9, 4)));
        var client = _services.GetRequiredService<ILlmClientFactory>().GetClient("openai");

        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ModelId = "other-model" });

        Assert.Equal("Whole answer at once.", response.Text);
        Assert.Equal(9, response.Usage?.InputTokenCount);
        Assert.Equal(4, response.Usage?.OutputTokenCount);
        Assert.False(Assert.Single(_stub.Requests).Stream);
        Assert.Equal("other-model", _stub.Requests.Single().Model);
    }

    [Fact]
    public async Task The_factory_client_hands_out_answers_without_the_sdks_own_objects()
    {
        // The GenAI telemetry keeps every update until the answer ends; the OpenAI SDK's graph must not ride along.
        _stub.Enqueue(StubReply.Ok("Rain on the slate roofs of the lower town.", new StubUsage(11, 9)) with { WordsPerChunk = 2 });
        _stub.Enqueue(StubReply.Ok("Whole answer at once.", new StubUsage(9, 4)));
        var client = _services.GetRequiredService<ILlmClientFactory>().GetClient("openai");
        Assert.NotNull(client.GetService<RawRepresentationRelease>());

        var updates = new List<ChatResponseUpdate>();
        await foreach (var update in client.GetStreamingResponseAsync([new ChatMessage(ChatRole.User, "hi")])) updates.Add(update);
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "hi")]);

        Assert.Equal("Rain on the slate roofs of the lower town.", string.Concat(updates.Select(u => u.Text)));
        Assert.Equal(9, updates.SelectMany(u => u.Contents).OfType<UsageContent>().Single().Details.OutputTokenCount);
        Assert.All(updates, u => Assert.Null(u.RawRepresentation));
        Assert.All(updates.SelectMany(u => u.Contents), c => Assert.Null(c.RawRepresentation));
        Assert.Equal("Whole answer at once.", response.Text);
        Assert.Null(response.RawRepresentation);
        Assert.All(response.Messages, m => Assert.Null(m.RawRepresentation));
        Assert.All(response.Messages.SelectMany(m => m.Contents), c => Assert.Null(c.RawRepresentation));
    }

    [Theory]
    [InlineData(401, LlmErrorCodes.Unauthorized, false)]
    [InlineData(403, LlmErrorCodes.Unauthorized, false)]
    [InlineData(400, LlmErrorCodes.BadRequest, false)]
    [InlineData(404, LlmErrorCodes.BadRequest, false)]
    [InlineData(422, LlmErrorCodes.BadRequest, false)]
    [InlineData(429, LlmErrorCodes.RateLimited, true)]
    [InlineData(500, LlmErrorCodes.Unavailable, true)]
    [InlineData(503, LlmErrorCodes.Unavailable, true)]
    public async Task Http_errors_are_classified(int status, string code, bool transient)
    {
        _stub.Enqueue(StubReply.Error(status, $"stub says {status}", retryAfterSeconds: status == 429 ? 2 : null));

        var (chunks, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("openai", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(code, failure.Code);
        Assert.Equal(transient, failure.Transient);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), failure.Message);
        Assert.DoesNotContain("sk-test-secret-key", failure.Message);
        Assert.Empty(chunks); // nothing fabricated
        Assert.Equal(1, _stub.RequestCount); // no hidden SDK retries
    }

    [Fact]
    public async Task Malformed_json_in_the_stream_is_a_broken_stream()
    {
        _stub.Enqueue(StubReply.Malformed() with { Text = "one two three four five six" });

        var (_, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("openai", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.StreamBroken, failure.Code);
    }

    [Fact]
    public async Task Connection_reset_mid_stream_fails_after_the_text_already_sent()
    {
        _stub.Enqueue(StubReply.ResetAfter(2) with { WordsPerChunk = 2 });

        var (chunks, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("openai", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.True(failure.Code == LlmErrorCodes.StreamBroken, failure.Code + ": " + failure.Message + " chunks=" + chunks.Count);
        Assert.Equal("one two three four ", string.Concat(chunks.Select(c => c.Text)));
        Assert.DoesNotContain(chunks, c => c.Final);
    }

    [Fact]
    public async Task A_slow_provider_times_out()
    {
        await using var services = LlmTestServices.Build(LlmTestServices.OpenAi(_stub.Endpoint, timeout: "00:00:00.300"));
        _stub.Enqueue(StubReply.Slow(TimeSpan.FromSeconds(5)));
        var started = DateTime.UtcNow;

        var (_, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request("openai", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.Timeout, failure.Code);
        Assert.True(failure.Transient);
        Assert.InRange(DateTime.UtcNow - started, TimeSpan.FromMilliseconds(250), TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task A_stalled_stream_times_out_between_chunks()
    {
        await using var services = LlmTestServices.Build(LlmTestServices.OpenAi(_stub.Endpoint, timeout: "00:00:00.400"));
        _stub.Enqueue(StubReply.Ok("a b c d e f") with { WordsPerChunk = 2, ChunkDelay = TimeSpan.FromSeconds(3) });

        var (chunks, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request("openai", "m")));

        Assert.Equal(LlmErrorCodes.Timeout, Assert.IsType<LlmCallException>(error).Code);
        Assert.Equal("a b ", Assert.Single(chunks).Text);
    }

    [Fact]
    public async Task Caller_cancellation_stops_the_call_and_is_not_an_llm_error()
    {
        _stub.Enqueue(StubReply.Slow(TimeSpan.FromSeconds(10)));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));

        var (_, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("openai", "m"), cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(error);
    }

    [Fact]
    public async Task An_unreachable_endpoint_is_classified()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop(); // nothing listens there now
        await using var services = LlmTestServices.Build(LlmTestServices.OpenAi(new Uri($"http://127.0.0.1:{port}/v1")));

        var (_, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request("openai", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.Unreachable, failure.Code);
        Assert.True(failure.Transient);
    }

    [Fact]
    public async Task An_unconfigured_provider_fails_without_a_call()
    {
        var (_, error) = await LlmTestServices.Collect(Streamer.StreamAsync(LlmTestServices.Request("anthropic", "claude")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.ProviderUnknown, failure.Code);
        Assert.False(failure.Transient);
        Assert.Equal(0, _stub.RequestCount);
    }
}
