using Loom.Llm;
using Loom.Tests.Fixtures;
using Loom.Tests.Stubs;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Llm;

/// <summary>The optional response cache: same prompt and settings → one provider call; anything different → its own entry.</summary>
public sealed class ResponseCacheTests : IAsyncLifetime
{
    private OpenAiStubServer _stub = null!;

    public async Task InitializeAsync() => _stub = await OpenAiStubServer.StartAsync();

    public async Task DisposeAsync() => await _stub.DisposeAsync();

    private ServiceProvider Services(bool allowTemperature = false, string? redis = null)
    {
        var settings = LlmTestServices.OpenAi(_stub.Endpoint);
        if (redis is not null) settings["Loom:Cache:Redis"] = redis;
        settings["Loom:Llm:Cache:Enabled"] = "true";
        settings["Loom:Llm:Cache:AllowNonZeroTemperature"] = allowTemperature ? "true" : "false";
        settings["Loom:Llm:Pricing:openai:*:Input"] = "1";
        settings["Loom:Llm:Pricing:openai:*:Output"] = "1";
        return LlmTestServices.Build(settings);
    }

    private static async Task<List<LlmChunk>> Run(ServiceProvider services, LlmRequest request)
    {
        var (chunks, error) = await LlmTestServices.Collect(services.GetRequiredService<LlmRouter>().StreamAsync(request));
        Assert.Null(error);
        return chunks;
    }

    [Fact]
    public async Task An_identical_request_is_answered_from_the_cache_without_cost()
    {
        await using var services = Services();
        var request = LlmTestServices.Request("openai", "stub-model") with { Temperature = 0 };

        var first = await Run(services, request);
        var second = await Run(services, request);

        Assert.Equal(1, _stub.RequestCount);
        Assert.Equal(string.Concat(first.Select(c => c.Text)), string.Concat(second.Select(c => c.Text)));
        Assert.False(first[^1].CacheHit);
        Assert.True(first[^1].CostUsd > 0);
        Assert.True(second[^1].CacheHit);
        Assert.Equal(0m, second[^1].CostUsd);
    }

    [Fact]
    public async Task An_answer_cached_by_one_silo_is_served_to_another_through_redis()
    {
        var redis = new RedisServer();
        await redis.InitializeAsync();
        try
        {
            await using var silo1 = Services(redis: redis.ConnectionString);
            await using var silo2 = Services(redis: redis.ConnectionString);
            var request = LlmTestServices.Request("openai", "stub-model") with { Temperature = 0 };

            var first = await Run(silo1, request);
            var second = await Run(silo2, request);

            Assert.Equal(1, _stub.RequestCount);
            Assert.Equal(string.Concat(first.Select(c => c.Text)), string.Concat(second.Select(c => c.Text)));
            Assert.True(second[^1].CacheHit);
            Assert.Equal(0m, second[^1].CostUsd);
        }
        finally
        {
            await redis.DisposeAsync();
        }
    }

    [Fact]
    public async Task Different_prompts_models_or_settings_never_share_an_entry()
    {
        await using var services = Services();
        var request = LlmTestServices.Request("openai", "stub-model") with { Temperature = 0 };

        await Run(services, request);
        await Run(services, LlmTestServices.Request("openai", "stub-model", "I close the door.") with { Temperature = 0 });
        await Run(services, request with { Model = "stub-model-2" });
        await Run(services, request with { MaxTokens = 99 });
        await Run(services, request with
        {
            Messages = [new() { Role = LlmRole.System, Content = "Canon version 2." }, .. request.Messages.Skip(1)],
        });

        Assert.Equal(5, _stub.RequestCount);
    }

    [Fact]
    public async Task Sampled_requests_are_not_cached_unless_allowed()
    {
        await using (var services = Services())
        {
            var warm = LlmTestServices.Request("openai", "stub-model") with { Temperature = 0.8 };
            await Run(services, warm);
            await Run(services, warm);
            Assert.Equal(2, _stub.RequestCount);
            // No temperature is the provider's default (1.0 for OpenAI): sampled too.
            var unset = LlmTestServices.Request("openai", "stub-model") with { Temperature = null };
            await Run(services, unset);
            await Run(services, unset);
            Assert.Equal(4, _stub.RequestCount);
        }

        await using (var services = Services(allowTemperature: true))
        {
            var warm = LlmTestServices.Request("openai", "stub-model") with { Temperature = 0.8 };
            await Run(services, warm);
            await Run(services, warm);
            Assert.Equal(5, _stub.RequestCount); // one more: the second answer came from the cache
        }
    }
}
