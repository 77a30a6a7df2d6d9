using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using Loom.Gateway.Auth;
using Loom.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Runtime;
using StackExchange.Redis;

namespace Loom.Tests.Cluster;

/// <summary>
/// The production shape on loopback: a throw-away PostgreSQL (migrated with the silo's own `migrate`), Redis with
/// appendonly and a password, three silo processes and a gateway in redis mode, all from the Release build output.
/// A fresh ClusterId per run. An Orleans client in the test process watches membership.
/// </summary>
public sealed class LoomClusterFixture : IAsyncLifetime
{
    public const int SiloCount = 3;
    /// <summary>The silo's own stop budget (Loom:Cluster:ShutdownTimeoutSeconds), kept below the orchestrator's grace
    /// period as the Helm chart requires (45 s and 75 s there).</summary>
    public const int ShutdownTimeoutSeconds = 15;
    /// <summary>What Kubernetes' terminationGracePeriodSeconds would be: the process must be gone by then.</summary>
    public const int TerminationGraceSeconds = 20;
    public const int CallDeadlineSeconds = 10;
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(120);

    // Secrets that must never appear in any process output.
    public readonly string ApiKey = KeysCommand.NewKey();
    public readonly string RedisPassword = "rp" + Guid.NewGuid().ToString("N");
    public readonly string PostgresPassword = "pp" + Guid.NewGuid().ToString("N");

    public PostgresServer Postgres { get; } = new();
    public RedisServer Redis { get; }
    public string ClusterId { get; } = "t" + Guid.NewGuid().ToString("N")[..12];
    public List<LoomProcess> Silos { get; } = [];
    public LoomProcess Gateway { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public Uri GatewayUrl { get; private set; } = null!;
    public List<Uri> SiloHttpUrls { get; } = [];
    private IHost? _observer;
    private string _storageConnection = "";

    public LoomClusterFixture() => Redis = new RedisServer { Password = RedisPassword };

    public IHost Observer => _observer!;

    public IManagementGrain Management => _observer!.Services.GetRequiredService<IClusterClient>().GetGrain<IManagementGrain>(0);

    public async Task InitializeAsync()
    {
        var root = RepoRoot();
        var siloDll = Path.Combine(root, "Silo/bin/Release/net10.0/Loom.Silo.dll");
        var gatewayDll = Path.Combine(root, "Gateway/bin/Release/net10.0/Loom.Gateway.dll");
        Assert.True(File.Exists(siloDll) && File.Exists(gatewayDll), $"Build the solution in Release first ({siloDll}).");

        await Task.WhenAll(Postgres.InitializeAsync(), Redis.InitializeAsync());
        // Trust auth ignores the password, but it is in every connection string the silos get: logs must not show it.
        _storageConnection = Postgres.ConnectionString + $";Password={PostgresPassword}";

        var migrate = new LoomProcess("migrate", siloDll, StorageEnvironment(), ["migrate"]);
        migrate.Start();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await migrate.Process!.WaitForExitAsync(cts.Token);
        }
        Assert.True(migrate.Process!.ExitCode == 0, "migrate failed:\n" + migrate.Output());

        for (var i = 0; i < SiloCount; i++)
        {
            var silo = NewSilo(siloDll, i);
            Silos.Add(silo);
            silo.Start();
        }

        GatewayUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        Gateway = NewGateway("gateway", GatewayUrl);
        Gateway.Start();

        Http = new HttpClient { BaseAddress = GatewayUrl, Timeout = TimeSpan.FromSeconds(10) };
        Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ApiKey);

        _observer = Host.CreateDefaultBuilder()
            .ConfigureLogging(l => l.ClearProviders())
            .UseOrleansClient(c =>
            {
                c.Configure<ClusterOptions>(o => { o.ClusterId = ClusterId; o.ServiceId = "loom-tests"; });
                c.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(Redis.ConnectionString));
                c.Configure<ClientMessagingOptions>(o => o.ResponseTimeout = TimeSpan.FromSeconds(5));
                c.UseConnectionRetryFilter(async (_, ct) => { await Task.Delay(500, ct); return !ct.IsCancellationRequested; });
            })
            .Build();
        using (var cts = new CancellationTokenSource(StartDeadline))
        {
            await _observer.StartAsync(cts.Token);
        }

        await WaitForActiveSilosAsync(SiloCount, StartDeadline);
        for (var i = 0; i < SiloCount; i++) await WaitForSiloReadyAsync(i);
        await WaitUntilAsync("the gateway is ready and the example world is seeded", StartDeadline, async () =>
            (await Http.GetAsync("/readyz")).IsSuccessStatusCode &&
            (await Http.GetAsync("/api/worlds/ember-vale")).IsSuccessStatusCode);
    }

    public LoomProcess NewSilo(string siloDll, int index)
    {
        var httpPort = FreePort.Next();
        var url = new Uri($"http://127.0.0.1:{httpPort}");
        if (SiloHttpUrls.Count <= index) SiloHttpUrls.Add(url); else SiloHttpUrls[index] = url;
        var env = new Dictionary<string, string>(ClusterEnvironment())
        {
            ["Loom__Cluster__SiloPort"] = FreePort.Next().ToString(),
            ["Loom__Cluster__GatewayPort"] = FreePort.Next().ToString(),
            ["Loom__Cluster__AdvertisedAddress"] = "127.0.0.1",
            ["Loom__Cluster__SiloName"] = $"silo-{index}",
            ["Loom__Cluster__ShutdownTimeoutSeconds"] = ShutdownTimeoutSeconds.ToString(),
            ["Loom__Llm__Provider"] = "offline",
            ["Loom__Llm__Offline__ChunkDelayMs"] = "2",
            // Orleans' own start-up lines (options dumps included) must not reveal secrets either.
            ["Logging__LogLevel__Orleans"] = "Information",
        };
        foreach (var (key, value) in StorageEnvironment()) env[key] = value;
        return new LoomProcess($"silo-{index}", siloDll, env, ["--urls", url.ToString()]);
    }

    /// <summary>A gateway process in redis mode with the test's API key, listening on <paramref name="url"/>.</summary>
    public LoomProcess NewGateway(string name, Uri url) =>
        new(name, Path.Combine(RepoRoot(), "Gateway/bin/Release/net10.0/Loom.Gateway.dll"), new Dictionary<string, string>(ClusterEnvironment())
        {
            ["Loom__Cluster__CallDeadlineSeconds"] = CallDeadlineSeconds.ToString(),
            ["Loom__Auth__Keys__0__Owner"] = "tester",
            ["Loom__Auth__Keys__0__Sha256"] = CallerResolver.Hash(ApiKey),
            ["Logging__LogLevel__Orleans"] = "Information",
        }, ["--urls", url.ToString()]);

    /// <summary>Waits until the gateway at <paramref name="url"/> reports ready (connected to the cluster).</summary>
    public async Task WaitForGatewayReadyAsync(Uri url, TimeSpan within)
    {
        using var http = new HttpClient { BaseAddress = url, Timeout = TimeSpan.FromSeconds(5) };
        await WaitUntilAsync($"the gateway at {url} is ready", within, async () => (await http.GetAsync("/readyz")).IsSuccessStatusCode);
    }

    /// <summary>Processes the tests started besides the fixture's own (extra gateways): stopped and logged with the rest.</summary>
    public List<LoomProcess> Extra { get; } = [];

    /// <summary>
    /// Replaces a gateway as the chart's rolling update does (maxSurge 1, maxUnavailable 0): a successor starts on a
    /// new address and gets ready, <paramref name="reroute"/> moves traffic to it (the Service dropping the old pod
    /// during its preStop sleep), then the old one gets SIGTERM and finishes its in-flight requests.
    /// </summary>
    public async Task<(Uri Url, bool Exited, int ExitCode, TimeSpan Took)> SurgeReplaceGatewayAsync(LoomProcess old, Uri oldUrl, Func<Uri, Uri, Task> reroute)
    {
        var url = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var successor = NewGateway(old.Name, url);
        successor.Start();
        if (ReferenceEquals(old, Gateway))
        {
            Gateway = successor;
            GatewayUrl = url;
            var http = new HttpClient { BaseAddress = url, Timeout = Http.Timeout };
            http.DefaultRequestHeaders.Authorization = Http.DefaultRequestHeaders.Authorization;
            Http = http; // the old client stays usable by whoever holds it until the old process goes
        }
        else
        {
            Extra[Extra.IndexOf(old)] = successor;
        }
        ExpectedDown.Add(old);
        Retired.Add(old);
        await WaitForGatewayReadyAsync(url, StartDeadline);
        await reroute(oldUrl, url);
        var (exited, exitCode, took) = await old.TerminateAsync(TimeSpan.FromSeconds(TerminationGraceSeconds));
        if (!exited) await old.StopAsync();
        return (url, exited, exitCode, took);
    }

    /// <summary>
    /// Replaces silo <paramref name="index"/> as the chart's rolling update does: the successor joins first (one silo
    /// over the count), then the old one gets SIGTERM and drains. Returns how the old one ended and the join time.
    /// <paramref name="siloDll"/> starts the successor from another build (a rolling upgrade).
    /// </summary>
    public async Task<(bool Exited, int ExitCode, TimeSpan Drained, TimeSpan Joined)> SurgeReplaceSiloAsync(int index, string? siloDll = null)
    {
        var old = Silos[index];
        var joining = Stopwatch.StartNew();
        var successor = NewSilo(siloDll ?? Path.Combine(RepoRoot(), "Silo/bin/Release/net10.0/Loom.Silo.dll"), index);
        successor.Start();
        Extra.Add(successor);
        await WaitForActiveSilosAsync(SiloCount + 1, StartDeadline);
        // Like the chart's rollout: the old pod goes once the new one is ready (its start-up warm-up done), not just joined.
        await WaitForSiloReadyAsync(index);
        var joined = joining.Elapsed;
        ExpectedDown.Add(old);
        var (exited, exitCode, took) = await old.TerminateAsync(TimeSpan.FromSeconds(TerminationGraceSeconds));
        if (!exited) await old.StopAsync();
        Extra.Remove(successor);
        Silos[index] = successor;
        Retired.Add(old);
        await WaitForActiveSilosAsync(SiloCount, StartDeadline);
        return (exited, exitCode, took, joined);
    }

    /// <summary>Replaces silo <paramref name="index"/> by a fresh process (new ports) and waits for a full cluster.</summary>
    public async Task RestartSiloAsync(int index)
    {
        await Silos[index].StopAsync();
        var silo = NewSilo(Path.Combine(RepoRoot(), "Silo/bin/Release/net10.0/Loom.Silo.dll"), index);
        silo.Start();
        // Keep the old output for the secrets check.
        Retired.Add(Silos[index]);
        Silos[index] = silo;
        await WaitForActiveSilosAsync(SiloCount, StartDeadline);
        await WaitForSiloReadyAsync(index);
    }

    /// <summary>
    /// Waits until silo <paramref name="index"/>'s HTTP endpoint reports ready. A silo is Active in the membership table
    /// before its grain-path warm-up ends and Kestrel listens, so tests that scrape a silo wait for this, not for Active.
    /// </summary>
    public async Task WaitForSiloReadyAsync(int index)
    {
        var ready = new Uri(SiloHttpUrls[index], "/readyz");
        await WaitUntilAsync($"silo-{index} is ready at {ready}", StartDeadline, async () => (await Http.GetAsync(ready)).IsSuccessStatusCode);
    }

    public List<LoomProcess> Retired { get; } = [];

    public IEnumerable<LoomProcess> AllProcesses => Silos.Concat(Retired).Concat(Extra).Append(Gateway);

    /// <summary>
    /// The Redis membership table as stored (not a silo's cached view): each row's silo name and status, and the table
    /// version (null when Redis holds no table).
    /// </summary>
    /// <summary>Whether the cache tiers' Redis database holds <paramref name="key"/> (as HybridCache names it).</summary>
    public async Task<bool> CacheHoldsAsync(string key)
    {
        _redisReader ??= await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",abortConnect=false");
        return await _redisReader.GetDatabase(1).KeyExistsAsync(Loom.Caching.CacheRedis.Prefix + key);
    }

    public async Task<(long? Version, List<(string Silo, SiloStatus Status)> Rows)> MembershipTableAsync()
    {
        _redisReader ??= await ConnectionMultiplexer.ConnectAsync(Redis.ConnectionString + ",abortConnect=false");
        var key = Orleans.Clustering.Redis.RedisClusteringOptions.DefaultCreateRedisKey(new ClusterOptions { ClusterId = ClusterId, ServiceId = "loom-tests" });
        var entries = await _redisReader.GetDatabase().HashGetAllAsync(key);
        long? version = null;
        var rows = new List<(string, SiloStatus)>();
        foreach (var entry in entries)
        {
            if (entry.Name == "Version") { version = long.Parse(entry.Value.ToString()); continue; }
            var row = System.Text.Json.Nodes.JsonNode.Parse(entry.Value.ToString())!;
            rows.Add((row["SiloName"]!.GetValue<string>(), (SiloStatus)row["Status"]!.GetValue<int>()));
        }
        return (version, rows);
    }

    private ConnectionMultiplexer? _redisReader;

    public async Task WaitForActiveSilosAsync(int count, TimeSpan within) =>
        await WaitUntilAsync($"{count} silos are Active", within, async () =>
        {
            var hosts = await Management.GetHosts(onlyActive: true);
            return hosts.Count == count;
        });

    /// <summary>Polls <paramref name="condition"/> (exceptions count as false) until it holds or the deadline passes.</summary>
    public async Task WaitUntilAsync(string what, TimeSpan within, Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + within;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            foreach (var process in Silos.Append(Gateway).Where(p => p is not null && p.Process is not null && !p.Running))
            {
                if (!ExpectedDown.Contains(process)) throw new InvalidOperationException($"{process.Name} exited while waiting until {what}.\n{process.Tail()}");
            }
            try
            {
                if (await condition()) return;
            }
            catch (Exception ex)
            {
                last = ex;
            }
            await Task.Delay(250);
        }
        throw new TimeoutException($"Not true within {within}: {what}. Last error: {last?.Message}\n" +
                                   string.Join("\n", Silos.Append(Gateway).Select(p => p.Tail(15))));
    }

    /// <summary>Processes a test stopped on purpose (not a start-up failure).</summary>
    public HashSet<LoomProcess> ExpectedDown { get; } = [];

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (_redisReader is not null) await _redisReader.DisposeAsync();
        if (_observer is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _observer.StopAsync(cts.Token); } catch (Exception) { /* best effort */ }
            _observer.Dispose();
        }
        await Task.WhenAll(AllProcesses.Where(p => p is not null).Select(p => p.StopAsync()));
        NextBuild.Delete();
        // Keep every process's output next to the test results: the first thing to read when a step fails in CI.
        var logs = Path.Combine(RepoRoot(), ".ci", "out", "cluster-logs");
        Directory.CreateDirectory(logs);
        var n = 0;
        foreach (var process in AllProcesses.Where(p => p is not null))
        {
            await File.WriteAllTextAsync(Path.Combine(logs, $"{n++:00}-{process.Name}.log"), process.Output());
        }
        await Redis.DisposeAsync();
        await Postgres.DisposeAsync();
    }

    private IReadOnlyDictionary<string, string> ClusterEnvironment() => new Dictionary<string, string>
    {
        ["Loom__Cluster__Mode"] = "redis",
        ["Loom__Cluster__ClusterId"] = ClusterId,
        ["Loom__Cluster__ServiceId"] = "loom-tests",
        ["Loom__Cluster__RedisConnectionString"] = Redis.ConnectionString,
        // The cache tiers on the same Redis (another database): every failure below runs with them on.
        ["Loom__Cache__Redis"] = Redis.ConnectionString + ",defaultDatabase=1",
    };

    private IReadOnlyDictionary<string, string> StorageEnvironment() => new Dictionary<string, string>
    {
        ["Loom__Storage__Provider"] = "postgres",
        ["Loom__Storage__ConnectionString"] = _storageConnection,
        ["Loom__Storage__MaxPoolSize"] = "10",
    };

    public static string RepoRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Loom.Orleans.sln"))) return dir.FullName;
        }
        throw new InvalidOperationException("Loom.Orleans.sln not found above " + AppContext.BaseDirectory);
    }
}

/// <summary>The cluster tests run alone: they measure recovery times on a 2-core machine.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class ClusterCollection : ICollectionFixture<LoomClusterFixture>
{
    public const string Name = "cluster";
}
