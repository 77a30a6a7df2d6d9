using System.Net;
using System.Net.Http.Headers;
using Loom.Gateway.Auth;
using Loom.Gateway.Limits;
using Loom.Security;
using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace Loom.Tests.Security;

/// <summary>
/// A wrong key costs the key store nothing unless it has the issued shape, and a client address that keeps failing is
/// answered 429 without a look-up, while keys the gateway already knows keep working from that address.
/// Each test sends from its own address, so their failure counts do not mix.
/// </summary>
public sealed class FailedAuthenticationTests(FailedAuthenticationTests.App app) : IClassFixture<FailedAuthenticationTests.App>
{
    private const int Burst = 5;
    /// <summary>Configured by its hash like any configuration key, and of no particular shape.</summary>
    private const string OddConfigKey = "Config.Key/of+any=shape~42";
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(40);

    /// <summary>The embedded LOOM with a silo filter that counts database key reads; one failure token every 10 s.</summary>
    public sealed class App() : LoomAppFactory(null, new Dictionary<string, string?>
    {
        ["Loom:Limits:FailedAuthPerMinute"] = "6",
        ["Loom:Limits:FailedAuthBurst"] = Burst.ToString(),
        // Every database key request reads the key grain: a known key passes the limit, not the answer cache.
        ["Loom:Auth:KeyCacheSeconds"] = "0",
        ["Loom:Auth:Keys:9:Owner"] = "odd",
        ["Loom:Auth:Keys:9:Sha256"] = CallerResolver.Hash(OddConfigKey),
    })
    {
        public long KeyReads => Services.GetRequiredService<KeyReadCounter>().Count;

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<KeyReadCounter>();
                services.AddSingleton<IIncomingGrainCallFilter>(sp => sp.GetRequiredService<KeyReadCounter>());
            });
        }
    }

    /// <summary>Reads of database keys (<see cref="IApiKeyGrain.Get"/>) as the silo receives them.</summary>
    public sealed class KeyReadCounter : IIncomingGrainCallFilter
    {
        private long _count;
        public long Count => Interlocked.Read(ref _count);

        public Task Invoke(IIncomingGrainCallContext context)
        {
            if (context.InterfaceMethod.DeclaringType == typeof(IApiKeyGrain) && context.InterfaceMethod.Name == nameof(IApiKeyGrain.Get))
                Interlocked.Increment(ref _count);
            return context.Invoke();
        }
    }

    [Fact]
    public async Task A_key_not_of_the_issued_shape_is_refused_without_reading_the_key_store()
    {
        using var client = From("198.51.100.1");
        var before = app.KeyReads;
        foreach (var key in new[] { "not-a-key", "loom_short", ApiKeyShape.Prefix + new string('a', 42) + "!", ApiKeyShape.Prefix + new string('a', 44) })
            await ExpectInvalidTokenAsync(client, key);
        Assert.Equal(before, app.KeyReads);

        // An unknown key of the issued shape is read (and refused): the counter does see the reads it must not see above.
        await ExpectInvalidTokenAsync(client, KeysCommand.NewKey());
        Assert.Equal(before + 1, app.KeyReads);
    }

    [Fact]
    public async Task A_configuration_key_of_any_shape_still_authenticates()
    {
        Assert.False(ApiKeyShape.IsIssued(OddConfigKey));
        using var client = From("198.51.100.2", OddConfigKey);
        await client.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Over_the_limit_a_client_gets_429_without_a_look_up_but_keys_the_gateway_knows_still_pass_until_it_refills()
    {
        const string address = "203.0.113.7";
        // A database key used once from the address: its first look-up took one token, and from then on the gateway
        // knows it. Another key it has never seen.
        var known = await CreateKeyAsync();
        using (var first = From(address, known)) await first.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        var unseen = await CreateKeyAsync();

        using var guesser = From(address);
        for (var i = 0; i < Burst - 1; i++) await ExpectInvalidTokenAsync(guesser, KeysCommand.NewKey());

        var reads = app.KeyReads;
        foreach (var accept in new[] { "application/json", "text/html" })
        {
            var response = await SendAsync(guesser, KeysCommand.NewKey(), accept);
            var problem = await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.TooManyRequests);
            Assert.Equal("rate_limited", problem["code"]!.GetValue<string>());
            Assert.Contains("failed authentications from this address", problem["detail"]!.GetValue<string>());
            Assert.InRange(response.Headers.RetryAfter!.Delta!.Value.TotalSeconds, 1, 10);
        }
        // What is refused from memory is never limited: a string of another shape, a malformed header.
        await ExpectInvalidTokenAsync(guesser, "not-a-key");
        using (var basic = new HttpRequestMessage(HttpMethod.Get, "/api/worlds") { Headers = { Authorization = new("Basic", "YWxpY2U6eA==") } })
            await guesser.SendAsync(basic).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal(reads, app.KeyReads);

        // Keys the gateway knows pass from the same address: a configuration key, and the database key it has found.
        using (var alice = From(address, LoomAppFactory.AliceKey)) await alice.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        using (var dora = From(address, known)) await dora.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        // A key it has never seen would need a look-up: it waits like the guesses (the price of not looking guesses up).
        using (var fresh = From(address, unseen)) await fresh.GetAsync("/api/worlds").ExpectProblemAsync(HttpStatusCode.TooManyRequests);
        // Another address is not limited.
        using (var other = From("203.0.113.8")) await ExpectInvalidTokenAsync(other, KeysCommand.NewKey());

        // Once a token is back (one every 10 s), keys from the address are looked up again.
        reads = app.KeyReads;
        var until = DateTime.UtcNow + Deadline;
        HttpResponseMessage again;
        while ((again = await SendAsync(guesser, KeysCommand.NewKey())).StatusCode == HttpStatusCode.TooManyRequests && DateTime.UtcNow < until)
            await Task.Delay(200);
        Assert.Equal(HttpStatusCode.Unauthorized, again.StatusCode);
        Assert.Equal(reads + 1, app.KeyReads);
    }

    [Fact]
    public async Task Guesses_sent_at_once_are_looked_up_no_more_often_than_the_client_has_tokens()
    {
        using var guesser = From("203.0.113.9");
        var reads = app.KeyReads;
        var answers = await Task.WhenAll(Enumerable.Range(0, 20).Select(async _ =>
        {
            using var response = await SendAsync(guesser, KeysCommand.NewKey());
            return response.StatusCode;
        }));
        Assert.Equal(Burst, answers.Count(s => s == HttpStatusCode.Unauthorized));
        Assert.Equal(20 - Burst, answers.Count(s => s == HttpStatusCode.TooManyRequests));
        Assert.Equal(reads + Burst, app.KeyReads);
    }

    [Theory]
    [InlineData("10.1.2.3", "10.1.2.3", true)]
    [InlineData("::ffff:10.1.2.3", "10.1.2.3", true)] // IPv4 mapped into IPv6 is the same client
    [InlineData("10.1.2.3", "10.1.2.4", false)]
    [InlineData("2001:db8:1:2::1", "2001:db8:1:2:ffff::9", true)] // one /64
    [InlineData("2001:db8:1:2::1", "2001:db8:1:3::1", false)]
    public void Clients_are_counted_by_address_and_IPv6_clients_by_their_64_bit_prefix(string a, string b, bool same) =>
        Assert.Equal(same, FailedAuthLimiter.ClientOf(IPAddress.Parse(a)).Equals(FailedAuthLimiter.ClientOf(IPAddress.Parse(b))));

    /// <summary>A client whose connection comes from <paramref name="address"/> (the test server has no socket to take it from).</summary>
    private HttpClient From(string address, string? apiKey = null)
    {
        var client = new HttpClient(app.Server.CreateHandler(http => http.Connection.RemoteIpAddress = IPAddress.Parse(address)))
        {
            BaseAddress = app.Server.BaseAddress,
        };
        if (apiKey is not null) client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        return client;
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string apiKey, string? accept = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/worlds") { Headers = { Authorization = new("Bearer", apiKey) } };
        if (accept is not null) request.Headers.TryAddWithoutValidation("Accept", accept);
        return await client.SendAsync(request);
    }

    private static async Task ExpectInvalidTokenAsync(HttpClient client, string apiKey)
    {
        var response = await SendAsync(client, apiKey);
        await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Contains("error=\"invalid_token\"", response.Headers.WwwAuthenticate.ToString());
    }

    private async Task<string> CreateKeyAsync()
    {
        var created = await app.Admin().PostJsonAsync("/api/admin/keys", new { owner = "dora", roles = new[] { "viewer" } }).ExpectAsync(HttpStatusCode.Created);
        return created["key"]!.GetValue<string>();
    }
}
