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

        var gatewayPort = FreePort.Next();
        GatewayUrl = new Uri($"http://127.0.0.1:{gatewayPort}");
        Gateway = new LoomProcess("gateway", gatewayDll, new Dictionary<string, string>(ClusterEnvironment())
        {
            ["Loom__Cluster__CallDeadlineSeconds"] = CallDeadlineSeconds.ToString(),
            ["Loom__Auth__Keys__0__Owner"] = "tester",
            ["Loom__Auth__Keys__0__Sha256"] = CallerResolver.Hash(ApiKey),
            ["Logging__LogLevel__Orleans"] = "Information",
        }, ["--urls", GatewayUrl.ToString()]);
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
    }

    public List<LoomProcess> Retired { get; } = [];

    public IEnumerable<LoomProcess> AllProcesses => Silos.Concat(Retired).Append(Gateway);

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
        if (_observer is not null)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try { await _observer.StopAsync(cts.Token); } catch (Exception) { /* best effort */ }
            _observer.Dispose();
        }
        await Task.WhenAll(AllProcesses.Where(p => p is not null).Select(p => p.StopAsync()));
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
