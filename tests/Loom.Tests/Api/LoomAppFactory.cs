using System.Net.Http.Headers;
using Loom.Gateway.Auth;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Loom.Tests.Api;

/// <summary>
/// The whole gateway with its co-hosted silo (embedded mode) on a temp SQLite file and free silo ports,
/// with two API-key users so ownership can be tested. Extra settings tune it per test class.
/// </summary>
public class LoomAppFactory : WebApplicationFactory<Program>
{
    public const string AliceKey = "alice-test-key";
    public const string BobKey = "bob-test-key";
    public const string CarolKey = "carol-test-key";
    /// <summary>Owner "ops" with the admin role only.</summary>
    public const string AdminKey = "ops-admin-test-key";

    private readonly Dictionary<string, string?> _settings;

    public LoomAppFactory() : this(dataDirectory: null, extra: null) { }

    /// <summary>For tests that need their own data directory or settings (not a class fixture).</summary>
    public static LoomAppFactory With(string? dataDirectory, IDictionary<string, string?>? extra) => new(dataDirectory, extra);

    /// <summary>No configured keys: on a loopback server, requests without a key are the local user (the README's run).</summary>
    public static LoomAppFactory WithoutKeys(IDictionary<string, string?>? extra = null) => new(null, extra, apiKeys: false);

    protected LoomAppFactory(string? dataDirectory, IDictionary<string, string?>? extra, bool apiKeys = true)
    {
        DataDirectory = dataDirectory ?? Directory.CreateTempSubdirectory("loom-api-").FullName;
        _settings = new Dictionary<string, string?>
        {
            ["Loom:Cluster:Mode"] = "embedded",
            ["Loom:Cluster:SiloPort"] = Fixtures.FreePort.Next().ToString(),
            ["Loom:Cluster:GatewayPort"] = Fixtures.FreePort.Next().ToString(),
            ["Loom:Cluster:ClusterId"] = "test-" + Guid.NewGuid().ToString("N")[..8],
            ["Loom:Storage:Provider"] = "sqlite",
            ["Loom:Storage:SqlitePath"] = Path.Combine(DataDirectory, "loom.db"),
            ["Loom:Llm:Provider"] = "offline",
            ["Loom:Llm:Offline:ChunkDelayMs"] = "0",
            // ~60 test hosts start here; the start-up warm-up has its own tests (EngineWarmupTests) and runs in every
            // silo process of the cluster tests.
            ["Loom:Cluster:WarmUp"] = "false",
            ["Loom:Auth:Keys:0:Owner"] = "alice",
            ["Loom:Auth:Keys:0:Sha256"] = CallerResolver.Hash(AliceKey),
            ["Loom:Auth:Keys:1:Owner"] = "bob",
            ["Loom:Auth:Keys:1:Sha256"] = CallerResolver.Hash(BobKey),
            ["Loom:Auth:Keys:2:Owner"] = "carol",
            ["Loom:Auth:Keys:2:Sha256"] = CallerResolver.Hash(CarolKey),
            ["Loom:Auth:Keys:3:Owner"] = "ops",
            ["Loom:Auth:Keys:3:Sha256"] = CallerResolver.Hash(AdminKey),
            ["Loom:Auth:Keys:3:Roles:0"] = "admin",
        };
        if (!apiKeys) foreach (var key in _settings.Keys.Where(k => k.StartsWith("Loom:Auth:Keys:", StringComparison.Ordinal)).ToList()) _settings.Remove(key);
        if (extra is not null) foreach (var (k, v) in extra) _settings[k] = v;
    }

    public string DataDirectory { get; }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        foreach (var (key, value) in _settings) builder.UseSetting(key, value);
        builder.UseEnvironment("Testing");
    }

    public HttpClient ClientFor(string apiKey)
    {
        var client = CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        client.Timeout = TimeSpan.FromMinutes(3);
        return client;
    }

    public HttpClient Alice() => ClientFor(AliceKey);
    public HttpClient Bob() => ClientFor(BobKey);
    public HttpClient Carol() => ClientFor(CarolKey);
    public HttpClient Admin() => ClientFor(AdminKey);
}
