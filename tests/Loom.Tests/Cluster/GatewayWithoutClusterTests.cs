using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Loom.Gateway.Auth;
using Loom.Gateway.Http;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Cluster;

/// <summary>A redis-mode gateway started before any silo: alive, not ready, and API calls answer 503 at once.</summary>
public sealed class GatewayWithoutClusterTests
{
    [Fact]
    public async Task Gateway_starts_before_the_cluster_and_answers_503_with_retry_after()
    {
        await using var redis = new AsyncRedis();
        await redis.Server.InitializeAsync();
        var key = KeysCommand.NewKey();
        var port = FreePort.Next();
        var gateway = new LoomProcess("gateway", Path.Combine(LoomClusterFixture.RepoRoot(), "Gateway/bin/Release/net10.0/Loom.Gateway.dll"),
            new Dictionary<string, string>
            {
                ["Loom__Cluster__Mode"] = "redis",
                ["Loom__Cluster__ClusterId"] = "t" + Guid.NewGuid().ToString("N")[..12],
                ["Loom__Cluster__RedisConnectionString"] = redis.Server.ConnectionString,
                ["Loom__Auth__Keys__0__Owner"] = "tester",
                ["Loom__Auth__Keys__0__Sha256"] = CallerResolver.Hash(key),
            }, ["--urls", $"http://127.0.0.1:{port}"]);
        gateway.Start();
        try
        {
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(10) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);

            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
            while (true)
            {
                Assert.True(gateway.Running, gateway.Tail());
                try
                {
                    using var live = await http.GetAsync("/healthz");
                    if (live.StatusCode == HttpStatusCode.OK) break;
                }
                catch (HttpRequestException)
                {
                }
                Assert.True(DateTime.UtcNow < deadline, "gateway /healthz never answered\n" + gateway.Tail());
                await Task.Delay(200);
            }

            using var ready = await http.GetAsync("/readyz");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            // As every other 503: problem+json with a Retry-After.
            Assert.Equal("application/problem+json", ready.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(ready.Headers.RetryAfter);
            Assert.Contains("not_ready", await ready.Content.ReadAsStringAsync());

            var watch = System.Diagnostics.Stopwatch.StartNew();
            using var create = await http.PostAsJsonAsync("/api/sessions", new { worldId = "ember-vale" });
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, create.StatusCode);
            Assert.Equal("application/problem+json", create.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(create.Headers.RetryAfter);
            Assert.Contains("cluster_unavailable", await create.Content.ReadAsStringAsync());

            // The OpenAI-compatible surface too, in OpenAI's error shape, so an SDK retries after the Retry-After.
            using var chat = await http.PostAsJsonAsync("/v1/chat/completions", new { model = "loom/ember-vale", user = "tale", messages = new[] { new { role = "user", content = "Hi." } } });
            Assert.True(watch.Elapsed < TimeSpan.FromSeconds(10), $"took {watch.Elapsed}");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, chat.StatusCode);
            Assert.NotNull(chat.Headers.RetryAfter);
            Assert.Contains("cluster_unavailable", await chat.Content.ReadAsStringAsync());
        }
        finally
        {
            await gateway.StopAsync();
        }
    }

    [Fact]
    public void Database_errors_map_to_503_with_retry_after()
    {
        var refused = new Npgsql.NpgsqlException("Failed to connect to 127.0.0.1:5432",
            new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused));
        // As a grain that could not read its state at activation reports it: Orleans' wrapper around the driver's error.
        var (problem, retryAfter) = ProblemMapping.Map(new OrleansException("Error from storage provider during ReadStateAsync", refused));
        Assert.Equal(503, problem.Status);
        Assert.Equal("storage_unavailable", problem.Extensions["code"]);
        Assert.NotNull(retryAfter);
        Assert.DoesNotContain("127.0.0.1", problem.Detail);
    }

    [Fact]
    public void A_call_the_cluster_gave_up_on_maps_to_503_with_retry_after()
    {
        // What a gateway saw while a silo drained on SIGTERM (FailoverTests): Orleans cancels a message it could not place.
        var (problem, retryAfter) = ProblemMapping.Map(new OperationCanceledException("Message expired before placement could complete for grain session/s1."));
        Assert.Equal(503, problem.Status);
        Assert.NotNull(retryAfter);
        Assert.DoesNotContain("grain", problem.Detail);
    }

    private sealed class AsyncRedis : IAsyncDisposable
    {
        public RedisServer Server { get; } = new();
        public async ValueTask DisposeAsync() => await Server.DisposeAsync();
    }
}
