using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Loom.Gateway.Auth;
using Loom.Security;
using Loom.Tests.Api;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Security;

/// <summary>A request without a key is the local user only while no key exists anywhere and the server listens on loopback only.</summary>
public sealed class LoopbackAnonymousTests
{
    [Theory]
    [InlineData("http://127.0.0.1:5080", false, false, true, true)]
    [InlineData("http://localhost:5080", false, false, true, true)]
    [InlineData("http://[::1]:5080", false, false, true, true)]
    [InlineData("http://127.0.0.1:5080", true, false, true, false)] // a configured key
    [InlineData("http://127.0.0.1:5080", false, true, true, false)] // a database key
    [InlineData("http://127.0.0.1:5080", false, false, false, false)] // turned off
    [InlineData("http://0.0.0.0:5080", false, false, true, false)]
    [InlineData("http://127.0.0.1:5080;http://10.0.0.5:5080", false, false, true, false)]
    [InlineData("", false, false, true, false)] // no address known (a test server): never anonymous
    public async Task The_local_user_exists_only_without_any_key_on_loopback_only(
        string addresses, bool configKey, bool databaseKey, bool allow, bool expected)
    {
        var options = Options.Create(new AuthOptions { AllowAnonymousOnLoopback = allow });
        var resolver = new CallerResolver(
            [new FixedLookup(configKey), new FixedLookup(databaseKey)], options,
            new AddressServer(addresses.Split(';', StringSplitOptions.RemoveEmptyEntries)));

        var local = await resolver.LocalUserAsync(CancellationToken.None);

        Assert.Equal(expected, local is not null);
        if (local is not null)
        {
            Assert.Equal("local", local.OwnerId);
            Assert.Equal(LoomRoles.All.Order(), local.Roles.Order());
        }
    }

    [Fact]
    public async Task On_loopback_without_keys_the_local_user_bootstraps_a_database_key_which_ends_anonymous_access()
    {
        await using var app = LoomAppFactory.WithoutKeys();
        var baseUrl = StartKestrel(app);
        using var anonymous = new HttpClient { BaseAddress = baseUrl };

        await anonymous.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);
        var created = await anonymous.PostJsonAsync("/api/admin/keys", new { owner = "ops", roles = new[] { "admin" } }).ExpectAsync(HttpStatusCode.Created);
        Assert.Equal("local", created["createdBy"]!.GetValue<string>());

        // From now on a key exists: a request without one is refused (within the key cache time).
        await DatabaseKeyTests.WaitForStatusAsync(anonymous, "/api/sessions", HttpStatusCode.Unauthorized);
        using var ops = new HttpClient { BaseAddress = baseUrl };
        ops.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created["key"]!.GetValue<string>());
        await ops.GetAsync("/api/admin/keys").ExpectAsync(HttpStatusCode.OK);

        // Revoking the last key brings the single-user mode back.
        await ops.DeleteAsync($"/api/admin/keys/{created["keyId"]}").ExpectAsync(HttpStatusCode.NoContent);
        await DatabaseKeyTests.WaitForStatusAsync(anonymous, "/api/sessions", HttpStatusCode.OK);
    }

    [Fact]
    public async Task The_local_user_is_not_limited_by_failed_keys_from_its_own_address()
    {
        await using var app = LoomAppFactory.WithoutKeys(new Dictionary<string, string?>
        {
            ["Loom:Limits:FailedAuthPerMinute"] = "1",
            ["Loom:Limits:FailedAuthBurst"] = "1",
        });
        var baseUrl = StartKestrel(app);
        using var wrong = new HttpClient { BaseAddress = baseUrl };
        wrong.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", KeysCommand.NewKey());
        await wrong.GetAsync("/api/sessions").ExpectProblemAsync(HttpStatusCode.Unauthorized);
        await wrong.GetAsync("/api/sessions").ExpectProblemAsync(HttpStatusCode.TooManyRequests);

        // 127.0.0.1 is out of failure tokens for a minute; a request without a key never needed one.
        using var anonymous = new HttpClient { BaseAddress = baseUrl };
        await anonymous.GetAsync("/api/sessions").ExpectAsync(HttpStatusCode.OK);
    }

    [Fact]
    public async Task Anonymous_access_needs_a_loopback_host_name_so_a_rebound_dns_name_or_a_proxied_one_is_401()
    {
        await using var app = LoomAppFactory.WithoutKeys();
        using var anonymous = new HttpClient { BaseAddress = StartKestrel(app) };
        foreach (var host in new[] { "localhost", "127.0.0.1:5080", "[::1]", "studio.localhost:8080" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions") { Headers = { Host = host } };
            Assert.Equal(HttpStatusCode.OK, (await anonymous.SendAsync(request)).StatusCode);
        }

        // A page on evil.example whose name now resolves to 127.0.0.1 sends its own name; so does a public proxy.
        foreach (var host in new[] { "evil.example", "evil.example:5080", "192.168.1.20", "localhost.evil.example" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/api/sessions") { Headers = { Host = host } };
            var problem = await anonymous.SendAsync(request).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("loopback name", problem["detail"]!.GetValue<string>());
        }
        using var write = new HttpRequestMessage(HttpMethod.Post, "/api/sessions") { Headers = { Host = "evil.example" }, Content = JsonContent.Create(new { worldId = "ember-vale" }) };
        await anonymous.SendAsync(write).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        using var listed = new HttpRequestMessage(HttpMethod.Get, "/api/sessions") { Headers = { Host = "localhost" } };
        Assert.Empty((await anonymous.SendAsync(listed).ExpectAsync(HttpStatusCode.OK))["items"]!.AsArray());

        // A proxy on this machine that sends the backend's own name (nginx's default) but adds any forwarding header.
        foreach (var header in new[] { "X-Forwarded-For", "X-Real-IP", "Forwarded", "Via", "X-Forwarded-Proto" })
        {
            using var proxied = new HttpRequestMessage(HttpMethod.Post, "/api/admin/keys") { Headers = { Host = "127.0.0.1:5080" }, Content = JsonContent.Create(new { owner = "x", roles = new[] { "admin" } }) };
            proxied.Headers.TryAddWithoutValidation(header, header == "Via" ? "1.1 nginx" : "203.0.113.9");
            var problem = await anonymous.SendAsync(proxied).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("proxy", problem["detail"]!.GetValue<string>());
        }

        // A long Host is quoted shortened (with an ellipsis) in the detail; the header's copy stays ASCII, so a 401, not a 500.
        using var longHost = new HttpRequestMessage(HttpMethod.Get, "/api/sessions") { Headers = { Host = new string('a', 70) + ".example" } };
        var refused = await anonymous.SendAsync(longHost);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.All(refused.Headers.WwwAuthenticate.ToString(), c => Assert.InRange(c, ' ', '~'));
    }

    [Fact]
    public async Task Anonymous_access_refuses_a_form_sent_by_a_page_of_another_site()
    {
        await using var app = LoomAppFactory.WithoutKeys();
        using var anonymous = new HttpClient { BaseAddress = StartKestrel(app) };

        // What a page on evil.example makes a browser send with a plain HTML form: multipart needs no CORS preflight.
        HttpRequestMessage Form(string? origin)
        {
            var card = Lore.CardSamples.V2Card();
            card["data"]!["name"] = "Mallory";
            var form = new MultipartFormDataContent { { new StringContent(card.ToJsonString()), "file", "card.json" } };
            var request = new HttpRequestMessage(HttpMethod.Post, "/api/worlds/import") { Content = form };
            if (origin is not null) request.Headers.Add("Origin", origin);
            return request;
        }

        foreach (var origin in new[] { "https://evil.example", "null", "http://localhost.evil.example:5080" })
        {
            using var request = Form(origin);
            var problem = await anonymous.SendAsync(request).ExpectProblemAsync(HttpStatusCode.Unauthorized);
            Assert.Contains("pages served from a loopback name", problem["detail"]!.GetValue<string>());
        }
        var worlds = await anonymous.GetAsync("/api/worlds").ExpectAsync(HttpStatusCode.OK);
        Assert.DoesNotContain(worlds["items"]!.AsArray(), w => w!["title"]?.GetValue<string>().Contains("Mallory") == true);

        // The studio's own page (a loopback origin) and tools that send no Origin (curl, the CLI) still work.
        using (var own = Form(anonymous.BaseAddress!.GetLeftPart(UriPartial.Authority))) await anonymous.SendAsync(own).ExpectAsync(HttpStatusCode.Created);
        using (var tool = Form(null)) await anonymous.SendAsync(tool).ExpectAsync(HttpStatusCode.Created);
    }

    [Fact]
    public async Task On_loopback_with_configured_keys_a_request_without_a_key_is_401()
    {
        await using var app = LoomAppFactory.With(null, null);
        using var anonymous = new HttpClient { BaseAddress = StartKestrel(app) };
        var response = await anonymous.GetAsync("/api/sessions");
        await Task.FromResult(response).ExpectProblemAsync(HttpStatusCode.Unauthorized);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.ToString());
    }

    private static Uri StartKestrel(LoomAppFactory app)
    {
        app.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        app.StartServer();
        return new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
    }

    private sealed class FixedLookup(bool hasKeys) : IApiKeyLookup
    {
        public bool MayHold(string apiKey) => true;
        public ValueTask<Caller?> FindAsync(string keySha256Hex, CancellationToken cancellationToken) => ValueTask.FromResult<Caller?>(null);
        public bool IsKnown(string keySha256Hex) => false;
        public ValueTask<bool> HasActiveKeysAsync(CancellationToken cancellationToken) => ValueTask.FromResult(hasKeys);
    }

    private sealed class AddressServer : IServer
    {
        public AddressServer(IEnumerable<string> addresses)
        {
            var feature = new ServerAddressesFeature();
            foreach (var address in addresses) feature.Addresses.Add(address);
            Features.Set<IServerAddressesFeature>(feature);
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();
        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken) where TContext : notnull => Task.CompletedTask;
        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
        public void Dispose() { }
    }
}
