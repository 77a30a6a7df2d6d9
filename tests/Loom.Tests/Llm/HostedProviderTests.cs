using System.Text.Json;
using Loom.Llm;
using Loom.Tests.Stubs;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Llm;

/// <summary>The anthropic (official SDK) and ollama (OllamaSharp) providers through the real HTTP path against stubs.</summary>
public sealed class HostedProviderTests
{
    private static async Task<(LlmStubServer Stub, ServiceProvider Services)> StartAsync(string provider, string timeout = "00:00:10")
    {
        var stub = await ProviderStubs.StartAsync(provider);
        var settings = ProviderStubs.Entry(provider, stub);
        settings["Loom:Llm:Provider"] = "offline";
        settings["Loom:Llm:RequestTimeout"] = timeout;
        return (stub, LlmTestServices.Build(settings));
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("ollama")]
    public async Task Streaming_text_arrives_in_order_with_reported_usage(string provider)
    {
        var (stub, services) = await StartAsync(provider);
        await using var _ = stub;
        await using var __ = services;
        const string text = "Fog rolls off the harbour and the bell on the buoy rings twice.";
        stub.Enqueue(StubReply.Ok(text, new StubUsage(120, 17, provider == "anthropic" ? 30 : null)) with { WordsPerChunk = 3 });

        var (chunks, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>()
            .StreamAsync(LlmTestServices.Request(provider, "model-x") with { Temperature = 0.3, MaxTokens = 300 }));

        Assert.Null(error);
        Assert.Equal(LlmStubServer.Chunk(text, 3), chunks.Where(c => !c.Final).Select(c => c.Text).ToList());
        var final = chunks[^1];
        Assert.True(final.Final);
        Assert.Equal(provider, final.Provider);
        Assert.False(final.UsageEstimated);
        Assert.Equal(provider == "anthropic" ? 150 : 120, final.PromptTokens);
        Assert.Equal(17, final.CompletionTokens);
        var request = Assert.Single(stub.Requests);
        Assert.True(request.Stream);
        Assert.Equal("model-x", request.Model);
        using var body = JsonDocument.Parse(request.Body);
        Assert.Contains("I open the door.", request.Body);
        if (provider == "anthropic")
        {
            // SDK 13.x sends the key as a bearer token (older versions used x-api-key).
            var sent = request.Headers.GetValueOrDefault("x-api-key") ?? request.Headers.GetValueOrDefault("Authorization");
            Assert.Contains("sk-anthropic-secret-key", sent);
            Assert.Equal(300, body.RootElement.GetProperty("max_tokens").GetInt32());
        }
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("ollama")]
    public async Task Non_streaming_answers_come_through_the_factory_client(string provider)
    {
        var (stub, services) = await StartAsync(provider);
        await using var _ = stub;
        await using var __ = services;
        stub.Enqueue(StubReply.Ok("Whole answer at once.", new StubUsage(9, 4)));

        var response = await services.GetRequiredService<ILlmClientFactory>().GetClient(provider)
            .GetResponseAsync([new ChatMessage(ChatRole.User, "hi")], new ChatOptions { ModelId = "other-model" });

        Assert.Equal("Whole answer at once.", response.Text);
        Assert.Equal(4, response.Usage?.OutputTokenCount);
        Assert.False(Assert.Single(stub.Requests).Stream);
        Assert.Equal("other-model", stub.Requests.Single().Model);
    }

    [Theory]
    [InlineData("anthropic", 401, LlmErrorCodes.Unauthorized, false)]
    [InlineData("anthropic", 404, LlmErrorCodes.BadRequest, false)]
    [InlineData("anthropic", 429, LlmErrorCodes.RateLimited, true)]
    [InlineData("anthropic", 529, LlmErrorCodes.Unavailable, true)]
    [InlineData("ollama", 400, LlmErrorCodes.BadRequest, false)]
    [InlineData("ollama", 404, LlmErrorCodes.BadRequest, false)]
    [InlineData("ollama", 429, LlmErrorCodes.RateLimited, true)]
    [InlineData("ollama", 500, LlmErrorCodes.Unavailable, true)]
    public async Task Http_errors_are_classified_with_retry_after(string provider, int status, string code, bool transient)
    {
        var (stub, services) = await StartAsync(provider);
        await using var _ = stub;
        await using var __ = services;
        stub.Enqueue(StubReply.Error(status, $"stub says {status}", retryAfterSeconds: 7));

        var (chunks, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request(provider, "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(code, failure.Code);
        Assert.Equal(transient, failure.Transient);
        Assert.Contains(status.ToString(System.Globalization.CultureInfo.InvariantCulture), failure.Message);
        Assert.DoesNotContain("secret-key", failure.Message);
        if (status is 429 or >= 500) Assert.Equal(TimeSpan.FromSeconds(7), failure.RetryAfter);
        Assert.Empty(chunks);
        Assert.Equal(1, stub.RequestCount); // no hidden SDK retries
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("ollama")]
    public async Task Malformed_json_and_resets_mid_stream_are_broken_streams(string provider)
    {
        var (stub, services) = await StartAsync(provider);
        await using var _ = stub;
        await using var __ = services;
        var streamer = services.GetRequiredService<LlmStreamer>();
        stub.Enqueue(StubReply.Malformed() with { Text = "one two three four five six" });
        stub.Enqueue(StubReply.ResetAfter(2) with { WordsPerChunk = 2 });

        var (_, malformed) = await LlmTestServices.Collect(streamer.StreamAsync(LlmTestServices.Request(provider, "m")));
        var (chunks, reset) = await LlmTestServices.Collect(streamer.StreamAsync(LlmTestServices.Request(provider, "m")));

        Assert.Equal(LlmErrorCodes.StreamBroken, Assert.IsType<LlmCallException>(malformed).Code);
        Assert.Equal(LlmErrorCodes.StreamBroken, Assert.IsType<LlmCallException>(reset).Code);
        Assert.Equal("one two three four ", string.Concat(chunks.Select(c => c.Text)));
        Assert.DoesNotContain(chunks, c => c.Final);
    }

    [Theory]
    [InlineData("anthropic")]
    [InlineData("ollama")]
    public async Task A_slow_provider_times_out(string provider)
    {
        var (stub, services) = await StartAsync(provider, timeout: "00:00:00.300");
        await using var _ = stub;
        await using var __ = services;
        stub.Enqueue(StubReply.Slow(TimeSpan.FromSeconds(5)));

        var (_, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request(provider, "m")));

        Assert.Equal(LlmErrorCodes.Timeout, Assert.IsType<LlmCallException>(error).Code);
    }

    [Fact]
    public async Task A_content_refusal_fails_without_being_transient()
    {
        var (stub, services) = await StartAsync("anthropic");
        await using var _ = stub;
        await using var __ = services;
        stub.Enqueue(StubReply.Ok("I can't help with that.") with { FinishReason = "content_filter" });

        var (_, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmStreamer>().StreamAsync(LlmTestServices.Request("anthropic", "m")));

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.ContentRefused, failure.Code);
        Assert.False(failure.Transient);
    }
}
