using Loom.Llm;
using Loom.Tests.Stubs;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Orleans.TestingHost;

namespace Loom.Tests.Llm;

/// <summary>LlmGrain in an in-process cluster: offline by default, openai against the stub server.</summary>
public sealed class LlmGrainTests : IAsyncLifetime
{
    private OpenAiStubServer _stub = null!;
    private InProcessTestCluster _cluster = null!;

    public async Task InitializeAsync()
    {
        _stub = await OpenAiStubServer.StartAsync();
        var settings = new Dictionary<string, string?>
        {
            ["Loom:Llm:Provider"] = "offline",
            ["Loom:Llm:Providers:openai:Endpoint"] = _stub.Endpoint.ToString(),
            ["Loom:Llm:Providers:openai:Model"] = "stub-model",
            // Failures should reach the caller as classified here; retries are covered in LlmRouterTests.
            ["Loom:Llm:Resilience:MaxRetries"] = "0",
        };
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
            silo.Services.AddLoomLlm(new ConfigurationBuilder().AddInMemoryCollection(settings).Build()));
        _cluster = builder.Build();
        await _cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await _cluster.DisposeAsync();
        await _stub.DisposeAsync();
    }

    private ILlmGrain Grain => _cluster.Client.GetGrain<ILlmGrain>(0);

    [Fact]
    public async Task Offline_narration_streams_through_the_grain_with_a_final_usage_chunk()
    {
        var (chunks, error) = await LlmTestServices.Collect(Grain.Stream(LlmTestServices.Request("offline", "loom-offline-1")));

        Assert.Null(error);
        Assert.True(chunks.Count > 5);
        Assert.All(chunks[..^1], c => Assert.False(c.Final));
        var final = chunks[^1];
        Assert.True(final.Final);
        Assert.Equal("offline", final.Provider);
        Assert.Equal("loom-offline-1", final.Model);
        Assert.False(final.UsageEstimated);
        Assert.True(final.CompletionTokens > 20);
        var text = string.Concat(chunks.Select(c => c.Text));
        Assert.StartsWith("You open the door.", text);
        Assert.Contains("```loom-memory", text);
    }

    [Fact]
    public async Task Openai_streams_through_the_grain_and_failures_arrive_classified()
    {
        _stub.Enqueue(StubReply.Ok("Rain on the glass, and a knock.", new StubUsage(40, 9)), StubReply.Error(429, "slow down"));

        var (chunks, error) = await LlmTestServices.Collect(Grain.Stream(LlmTestServices.Request("openai", "stub-model")));
        Assert.Null(error);
        Assert.Equal("Rain on the glass, and a knock.", string.Concat(chunks.Select(c => c.Text)));
        Assert.Equal(40, chunks[^1].PromptTokens);

        var (_, failure) = await LlmTestServices.Collect(Grain.Stream(LlmTestServices.Request("openai", "stub-model")));
        var call = Assert.IsType<LlmCallException>(failure);
        Assert.Equal(LlmErrorCodes.RateLimited, call.Code);
        Assert.True(call.Transient);
    }

    [Fact]
    public async Task Complete_answers_in_one_piece_as_the_stream_would_and_failures_arrive_classified()
    {
        var request = LlmTestServices.Request("offline", "loom-offline-1");
        var (chunks, _) = await LlmTestServices.Collect(Grain.Stream(request));
        var whole = await Grain.Complete(request);

        Assert.Equal(string.Concat(chunks.Select(c => c.Text)), whole.Text);
        Assert.Equal(chunks[^1] with { Text = "" }, whole.Final);
        Assert.NotNull(whole.FirstText);

        _stub.Enqueue(StubReply.Ok("Rain on the glass.", new StubUsage(40, 9)), StubReply.Error(401, "bad key"));
        var answer = await Grain.Complete(LlmTestServices.Request("openai", "stub-model"));
        Assert.Equal("Rain on the glass.", answer.Text);
        Assert.Equal(40, answer.Final!.PromptTokens);
        Assert.Equal(9, answer.Final.CompletionTokens);
        var failure = await Assert.ThrowsAsync<LlmCallException>(() => Grain.Complete(LlmTestServices.Request("openai", "stub-model")));
        Assert.Equal(LlmErrorCodes.Unauthorized, failure.Code);
        Assert.False(failure.Transient);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Many_streams_run_concurrently_on_one_key_or_spread_over_keys(bool spread)
    {
        _stub.Default = StubReply.Slow(TimeSpan.FromMilliseconds(400), "several words so the answer has chunks") with { WordsPerChunk = 1 };
        var started = DateTime.UtcNow;

        var results = await Task.WhenAll(Enumerable.Range(0, 16).Select(i =>
        {
            var grain = _cluster.Client.GetGrain<ILlmGrain>(spread ? LlmGrainKeys.For($"session-{i}") : 0);
            return LlmTestServices.Collect(grain.Stream(LlmTestServices.Request("openai", "stub-model")));
        }));

        Assert.All(results, r =>
        {
            Assert.Null(r.Error);
            Assert.Equal("several words so the answer has chunks", string.Concat(r.Chunks.Select(c => c.Text)));
        });
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3), "calls overlapped rather than queued");
    }

    [Fact]
    public async Task Cancelling_the_caller_cancels_the_provider_call()
    {
        _stub.Default = StubReply.Slow(TimeSpan.FromSeconds(20));
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        var (_, error) = await LlmTestServices.Collect(Grain.Stream(LlmTestServices.Request("openai", "stub-model"), cts.Token));

        Assert.IsAssignableFrom<OperationCanceledException>(error);
    }
}
