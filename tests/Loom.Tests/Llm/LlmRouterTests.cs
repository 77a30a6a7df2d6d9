using System.Diagnostics;
using Loom.Llm;
using Loom.Tests.Stubs;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Llm;

/// <summary>
/// The resilience chain against real stub servers: openai (primary) → anthropic → ollama, with fast timings.
/// Each test builds its own services, so breakers and limiters start closed and empty.
/// </summary>
public sealed class LlmRouterTests : IAsyncLifetime
{
    private OpenAiStubServer _openai = null!;
    private AnthropicStubServer _anthropic = null!;
    private OllamaStubServer _ollama = null!;

    public async Task InitializeAsync()
    {
        _openai = await OpenAiStubServer.StartAsync();
        _anthropic = await AnthropicStubServer.StartAsync();
        _ollama = await OllamaStubServer.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _openai.DisposeAsync();
        await _anthropic.DisposeAsync();
        await _ollama.DisposeAsync();
    }

    private ServiceProvider Services(Action<Dictionary<string, string?>>? tune = null)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Llm:Provider"] = "offline",
            // Generous by default: each SDK's first call pays for JIT on a busy machine.
            ["Loom:Llm:RequestTimeout"] = "00:00:05",
            ["Loom:Llm:Resilience:Fallbacks:0"] = "anthropic",
            ["Loom:Llm:Resilience:Fallbacks:1"] = "ollama",
            ["Loom:Llm:Resilience:MaxRetries"] = "2",
            ["Loom:Llm:Resilience:RetryBaseDelay"] = "00:00:00.050",
            ["Loom:Llm:Resilience:AttemptTimeout"] = "00:00:05",
            ["Loom:Llm:Resilience:BreakerMinimumThroughput"] = "50",
            ["Loom:Llm:Pricing:openai:stub-model:Input"] = "2.5",
            ["Loom:Llm:Pricing:openai:stub-model:Output"] = "10",
            ["Loom:Llm:Pricing:openai:stub-model:CachedInput"] = "1.25",
            ["Loom:Llm:Pricing:anthropic:*:Input"] = "1",
            ["Loom:Llm:Pricing:anthropic:*:Output"] = "5",
        };
        foreach (var (k, v) in ProviderStubs.Entry("openai", _openai)) settings[k] = v;
        foreach (var (k, v) in ProviderStubs.Entry("anthropic", _anthropic)) settings[k] = v;
        foreach (var (k, v) in ProviderStubs.Entry("ollama", _ollama)) settings[k] = v;
        tune?.Invoke(settings);
        return LlmTestServices.Build(settings);
    }

    private static Task<(List<LlmChunk> Chunks, Exception? Error)> Run(ServiceProvider services, string provider = "openai") =>
        LlmTestServices.Collect(services.GetRequiredService<LlmRouter>().StreamAsync(LlmTestServices.Request(provider, "stub-model")));

    [Fact]
    public async Task An_answer_from_a_dated_snapshot_is_priced_by_the_model_asked_for()
    {
        await using var services = Services();
        _openai.Enqueue(StubReply.Ok("Priced all the same.", new StubUsage(11, 7, 3)) with { AnsweredBy = "stub-model-2024-07-18" });

        var (chunks, error) = await Run(services);

        Assert.Null(error);
        var final = chunks[^1];
        Assert.Equal("stub-model-2024-07-18", final.Model); // the turn names the model that answered
        Assert.Equal(0.00009375m, final.CostUsd); // priced as stub-model, not 0
    }

    [Fact]
    public async Task A_429_is_retried_on_the_same_provider_after_its_retry_after()
    {
        await using var services = Services();
        _openai.Enqueue(StubReply.Error(429, "slow down", retryAfterSeconds: 1), StubReply.Ok("Second time lucky.", new StubUsage(11, 7, 3)));
        var clock = Stopwatch.StartNew();

        var (chunks, error) = await Run(services);

        Assert.Null(error);
        Assert.Equal("Second time lucky.", string.Concat(chunks.Select(c => c.Text)));
        var final = chunks[^1];
        Assert.Equal(("openai", 1, 0), (final.Provider, final.Retries, final.Fallbacks));
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(950), $"Retry-After honoured: {clock.Elapsed}");
        Assert.Equal(2, _openai.RequestCount);
        Assert.Equal(0, _anthropic.RequestCount);
        // (8 uncached * 2.5 + 3 cached * 1.25 + 7 * 10) per million
        Assert.Equal(0.00009375m, final.CostUsd);
    }

    [Fact]
    public async Task A_5xx_storm_exhausts_retries_then_falls_back_to_the_next_provider()
    {
        await using var services = Services();
        _openai.Default = StubReply.Error(503, "overloaded");
        _anthropic.Enqueue(StubReply.Ok("The fallback narrator speaks.", new StubUsage(100, 20)));

        var (chunks, error) = await Run(services);

        Assert.Null(error);
        Assert.Equal("The fallback narrator speaks.", string.Concat(chunks.Select(c => c.Text)));
        var final = chunks[^1];
        Assert.Equal(("anthropic", 2, 1), (final.Provider, final.Retries, final.Fallbacks));
        Assert.Equal(3, _openai.RequestCount);
        Assert.Equal(1, _anthropic.RequestCount);
        Assert.Equal(0.0002m, final.CostUsd); // (100 * 1 + 20 * 5) per million
    }

    [Fact]
    public async Task A_slow_provider_times_out_per_attempt_and_the_chain_moves_on()
    {
        await using var services = Services(s =>
        {
            s["Loom:Llm:Resilience:MaxRetries"] = "1";
            s["Loom:Llm:Resilience:AttemptTimeout"] = "00:00:01";
            s["Loom:Llm:RequestTimeout"] = "00:00:01";
        });
        // Warm the SDKs first so only the scripted slowness can hit the 1 s timeout.
        Assert.Null((await Run(services, "anthropic")).Error);
        Assert.Null((await Run(services, "ollama")).Error);
        _openai.Default = StubReply.Slow(TimeSpan.FromSeconds(10));
        _anthropic.Default = StubReply.Error(500);
        _ollama.Enqueue(StubReply.Ok("Ollama answers at last."));
        var clock = Stopwatch.StartNew();

        var (chunks, error) = await Run(services);

        Assert.Null(error);
        Assert.Equal(("ollama", 2, 2), (chunks[^1].Provider, chunks[^1].Retries, chunks[^1].Fallbacks));
        Assert.Equal(2, _openai.RequestCount);
        Assert.Equal(3, _anthropic.RequestCount);
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1.8), TimeSpan.FromSeconds(8));
    }

    [Theory]
    [InlineData(401, LlmErrorCodes.Unauthorized)]
    [InlineData(403, LlmErrorCodes.Unauthorized)]
    [InlineData(400, LlmErrorCodes.BadRequest)]
    [InlineData(404, LlmErrorCodes.BadRequest)]
    public async Task Client_errors_fail_at_once_without_retry_or_fallback(int status, string code)
    {
        await using var services = Services();
        _openai.Enqueue(StubReply.Error(status, "no"));

        var (chunks, error) = await Run(services);

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal((code, false, 0, 0), (failure.Code, failure.Transient, failure.Retries, failure.Fallbacks));
        Assert.Empty(chunks);
        Assert.Equal(1, _openai.RequestCount);
        Assert.Equal(0, _anthropic.RequestCount + _ollama.RequestCount);
    }

    [Fact]
    public async Task A_content_refusal_is_not_retried_elsewhere()
    {
        await using var services = Services();
        _openai.Enqueue(StubReply.Ok("I won't write that.") with { FinishReason = "content_filter" });

        var (_, error) = await Run(services);

        Assert.Equal(LlmErrorCodes.ContentRefused, Assert.IsType<LlmCallException>(error).Code);
        Assert.Equal(0, _anthropic.RequestCount + _ollama.RequestCount);
    }

    [Theory]
    [InlineData(StubFault.ResetMidStream)]
    [InlineData(StubFault.MalformedJson)]
    public async Task A_failure_after_the_first_token_fails_the_call_without_splicing(StubFault fault)
    {
        await using var services = Services();
        _openai.Enqueue(new StubReply { Text = "one two three four five six", WordsPerChunk = 2, Fault = fault, ResetAfterChunks = 2 });

        var (chunks, error) = await Run(services);

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal(LlmErrorCodes.StreamBroken, failure.Code);
        Assert.False(failure.Transient); // the caller must not try again with half an answer out
        Assert.StartsWith("one two ", string.Concat(chunks.Select(c => c.Text)));
        Assert.DoesNotContain(chunks, c => c.Final);
        Assert.Equal(1, _openai.RequestCount);
        Assert.Equal(0, _anthropic.RequestCount + _ollama.RequestCount);
    }

    [Fact]
    public async Task When_every_provider_fails_the_call_fails_with_the_last_error()
    {
        await using var services = Services(s => s["Loom:Llm:Resilience:MaxRetries"] = "0");
        _openai.Default = StubReply.Error(503);
        _anthropic.Default = StubReply.Error(529);
        _ollama.Default = StubReply.Error(500);

        var (chunks, error) = await Run(services);

        var failure = Assert.IsType<LlmCallException>(error);
        Assert.Equal((LlmErrorCodes.Unavailable, 2), (failure.Code, failure.Fallbacks));
        Assert.Contains("openai → anthropic → ollama", failure.Message);
        Assert.Empty(chunks);
    }

    [Fact]
    public async Task The_circuit_opens_after_repeated_failures_and_closes_after_the_break()
    {
        await using var services = Services(s =>
        {
            s.Remove("Loom:Llm:Resilience:Fallbacks:0");
            s.Remove("Loom:Llm:Resilience:Fallbacks:1");
            s["Loom:Llm:Resilience:MaxRetries"] = "0";
            s["Loom:Llm:Resilience:BreakerMinimumThroughput"] = "4";
            s["Loom:Llm:Resilience:BreakerBreakDuration"] = "00:00:01";
        });
        _openai.Default = StubReply.Error(503);

        for (var i = 0; i < 4; i++)
        {
            Assert.Equal(LlmErrorCodes.Unavailable, Assert.IsType<LlmCallException>((await Run(services)).Error).Code);
        }

        var (_, open) = await Run(services);
        Assert.Equal(LlmErrorCodes.CircuitOpen, Assert.IsType<LlmCallException>(open).Code);
        Assert.Equal(4, _openai.RequestCount); // an open breaker does not call the provider

        _openai.Default = StubReply.Ok("Back on its feet.");
        var deadline = Stopwatch.StartNew();
        Exception? last;
        do
        {
            await Task.Delay(100);
            last = (await Run(services)).Error;
        }
        while (last is not null && deadline.Elapsed < TimeSpan.FromSeconds(10));

        Assert.Null(last);
        Assert.InRange(deadline.Elapsed, TimeSpan.FromMilliseconds(700), TimeSpan.FromSeconds(10));
        Assert.Null((await Run(services)).Error); // closed again
    }

    [Fact]
    public async Task Beyond_the_concurrency_limit_and_queue_a_call_is_overloaded_not_dropped_silently()
    {
        await using var services = Services(s =>
        {
            s.Remove("Loom:Llm:Resilience:Fallbacks:0");
            s.Remove("Loom:Llm:Resilience:Fallbacks:1");
            s["Loom:Llm:Resilience:MaxConcurrency"] = "1";
            s["Loom:Llm:Resilience:QueueLimit"] = "1";
            s["Loom:Llm:RequestTimeout"] = "00:00:05";
            s["Loom:Llm:Resilience:AttemptTimeout"] = "00:00:05";
        });
        _openai.Default = StubReply.Slow(TimeSpan.FromMilliseconds(600), "slow but sure");

        var results = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Run(services)));

        var overloaded = Assert.Single(results, r => r.Error is not null);
        var failure = Assert.IsType<LlmCallException>(overloaded.Error);
        Assert.Equal((LlmErrorCodes.Overloaded, true), (failure.Code, failure.Transient));
        Assert.NotNull(failure.RetryAfter);
        Assert.All(results.Where(r => r.Error is null), r => Assert.Equal("slow but sure", string.Concat(r.Chunks.Select(c => c.Text))));
        Assert.Equal(2, _openai.RequestCount);
    }
}
