using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Loom.Silo.Telemetry;
using Loom.Telemetry;
using Loom.Tests.Fixtures;
using StackExchange.Redis;

namespace Loom.Tests.Helm;

/// <summary>
/// What a pod does with exactly the environment the chart gives it, without a cluster: the migration Job's
/// variables run the silo's `migrate`, the silo Deployment's variables make a silo that joins a Redis cluster under
/// its POD_NAME at its POD_IP and turns ready on the startup/readiness path, the gateway Deployment's make a client
/// that is ready through that silo, both serve the metrics the alerts need, and SIGTERM drops readiness and ends
/// the silo within its shutdown budget. The published builds run as child processes (as in the images).
/// </summary>
[Collection(PostgresCollection.Name)]
public sealed class ChartEnvironmentProcessTests(PostgresServer postgres) : IAsyncLifetime
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(120);
    private readonly RedisServer _redis = new();
    private readonly List<Process> _processes = [];
    private readonly StringBuilder _log = new();

    public Task InitializeAsync() => _redis.InitializeAsync();

    public async Task DisposeAsync()
    {
        foreach (var process in _processes)
        {
            ChildProcesses.Kill(process);
            process.Dispose();
        }

        await _redis.DisposeAsync();
    }

    [Fact]
    public async Task Pods_started_with_the_chart_environment_migrate_join_serve_and_stop_cleanly()
    {
        var values = ChartStructureTests.LoadValues();
        var database = await postgres.CreateDatabaseAsync();
        var clusterId = "chart-" + Guid.NewGuid().ToString("N")[..8];
        var podName = "loom-silo-7d9f-" + Guid.NewGuid().ToString("N")[..5];
        var shutdownBudget = (int)values["silo"]!["shutdownTimeoutSeconds"]!;

        // Secrets and downward-API fields as Kubernetes would resolve them; everything else from values.yaml.
        var common = new Dictionary<string, string>
        {
            ["POD_NAME"] = podName,
            ["POD_IP"] = "127.0.0.1",
            ["POD_NAMESPACE"] = "loom-test",
            ["Loom__Cluster__Mode"] = "redis",
            ["Loom__Cluster__ClusterId"] = clusterId,
            ["Loom__Cluster__ServiceId"] = (string)values["cluster"]!["serviceId"]!,
            ["Loom__Cluster__RedisConnectionString"] = _redis.ConnectionString,
            // Kubernetes expands the chart's $(Loom__Cluster__RedisConnectionString) in the default value.
            ["Loom__Cache__Redis"] = $"{_redis.ConnectionString},defaultDatabase={values["cache"]!["redis"]!["database"]}",
            ["Loom__Cache__LocalMegabytes"] = values["cache"]!["localMegabytes"]!.ToString(),
        };
        // Silos only: the gateways are Orleans clients, and only grains read Loom:Turns.
        var turns = new Dictionary<string, string>
        {
            ["Loom__Turns__MaxInputChars"] = values["turns"]!["maxInputChars"]!.ToString(),
            ["Loom__Turns__MaxPending"] = values["turns"]!["maxPending"]!.ToString(),
        };
        var storage = new Dictionary<string, string>
        {
            ["Loom__Storage__Provider"] = (string)values["storage"]!["provider"]!,
            ["Loom__Storage__MaxPoolSize"] = values["storage"]!["maxPoolSize"]!.ToString(),
            ["Loom__Storage__ConnectionString"] = database,
        };

        // 1. The migration Job.
        var migrateEnv = Pick(storage);
        AssertChartSets("migration-job.yaml", migrateEnv.Keys);
        var migrate = Start("Silo", "Loom.Silo.dll", migrateEnv, "migrate");
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60)))
        {
            await migrate.WaitForExitAsync(cts.Token);
        }

        Assert.True(migrate.ExitCode == 0, $"migrate exited {migrate.ExitCode}\n{Log()}");

        // 2. A silo with the Deployment's variables ($(POD_NAME)/$(POD_IP) expanded as the kubelet does).
        var siloHttp = FreePort.Next();
        var siloEnv = Pick(common, turns, storage);
        siloEnv["Loom__Cluster__SiloName"] = podName;
        siloEnv["Loom__Cluster__AdvertisedAddress"] = "127.0.0.1";
        siloEnv["Loom__Cluster__SiloPort"] = FreePort.Next().ToString();
        siloEnv["Loom__Cluster__GatewayPort"] = FreePort.Next().ToString();
        siloEnv["Loom__Cluster__ShutdownTimeoutSeconds"] = shutdownBudget.ToString();
        siloEnv["Loom__Llm__Provider"] = (string)values["llm"]!["provider"]!;
        // The chart binds http://+:<port>; tests stay on loopback.
        siloEnv["ASPNETCORE_URLS"] = $"http://127.0.0.1:{siloHttp}";
        AssertChartSets("silo-deployment.yaml", siloEnv.Keys);
        var silo = Start("Silo", "Loom.Silo.dll", siloEnv);
        using var siloClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{siloHttp}"), Timeout = TimeSpan.FromSeconds(10) };

        await WaitForStatus(siloClient, OperationalEndpoints.Readyz, HttpStatusCode.OK, StartDeadline, silo);
        Assert.Equal(HttpStatusCode.OK, await Status(siloClient, OperationalEndpoints.Healthz));
        var siloMetrics = await AssertAlertMetrics(siloClient);
        // Orleans', ASP.NET Core's and the runtime's meters too, including every one the dashboard queries.
        var platform = DashboardPlatformMetrics();
        Assert.Contains("orleans_catalog_activations", platform);
        Assert.All(platform.Append("http_server_request_duration_seconds").Append("dotnet_gc_"),
            name => Assert.Contains(name, siloMetrics, StringComparison.Ordinal));

        // The membership table lists this silo under its pod name at its pod IP (never a Service address).
        var membership = await MembershipText();
        Assert.Contains(podName, membership, StringComparison.Ordinal);
        Assert.Contains($"127.0.0.1:{siloEnv["Loom__Cluster__SiloPort"]}", membership, StringComparison.Ordinal);

        // 3. A gateway with its Deployment's variables: an Orleans client, ready once it reaches the silo.
        var gatewayHttp = FreePort.Next();
        var gatewayEnv = Pick(common);
        gatewayEnv["ASPNETCORE_URLS"] = $"http://127.0.0.1:{gatewayHttp}";
        AssertChartSets("gateway-deployment.yaml", gatewayEnv.Keys);
        var gateway = Start("Gateway", "Loom.Gateway.dll", gatewayEnv);
        using var gatewayClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{gatewayHttp}"), Timeout = TimeSpan.FromSeconds(10) };
        await WaitForStatus(gatewayClient, OperationalEndpoints.Readyz, HttpStatusCode.OK, StartDeadline, gateway);
        Assert.Equal(HttpStatusCode.OK, await Status(gatewayClient, OperationalEndpoints.Healthz));
        await AssertAlertMetrics(gatewayClient);

        // 4. SIGTERM (what the kubelet sends): readiness drops, and the silo is gone within its budget.
        var stopping = Stopwatch.StartNew();
        ChildProcesses.Terminate(silo);
        await WaitForStatus(siloClient, OperationalEndpoints.Readyz, null, TimeSpan.FromSeconds(10), process: null);
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(shutdownBudget + 5)))
        {
            await silo.WaitForExitAsync(cts.Token);
        }

        Assert.True(stopping.Elapsed < TimeSpan.FromSeconds(shutdownBudget), $"silo took {stopping.Elapsed} to stop\n{Log()}");
        Assert.True(silo.ExitCode == 0, $"silo exited {silo.ExitCode} after SIGTERM\n{Log()}");
    }

    /// <summary>Every variable the test gives a pod is one its template sets, and it gives every required one.</summary>
    private static void AssertChartSets(string template, IEnumerable<string> given)
    {
        var chart = DeploymentContractTests.EnvNames(template);
        var extra = given.Where(n => !chart.Contains(n)).ToList();
        Assert.True(extra.Count == 0, $"{template} does not set {string.Join(", ", extra)}");
        // Optional ones (set only when a value is non-empty) may be missing here.
        string[] optional = [TelemetryExtensions.OtlpEndpointKey, "Loom__Llm__Endpoint", "Loom__Llm__Model", "Loom__Llm__ApiKey", "Loom__Storage__ReadConnectionString",
            "Loom__Limits__FailedAuthPerMinute"]; // only with gateway.failedAuthPerMinute or the ingress
        var missing = chart.Where(n => !optional.Contains(n) && !given.Contains(n)).ToList();
        Assert.True(missing.Count == 0, $"the test does not give {template}'s {string.Join(", ", missing)}");
    }

    private static Dictionary<string, string> Pick(params IEnumerable<KeyValuePair<string, string>>[] parts) =>
        parts.SelectMany(p => p).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);

    private Process Start(string project, string dll, Dictionary<string, string> env, params string[] args)
    {
        var directory = BuildOutput(project);
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = directory };
        info.ArgumentList.Add(Path.Combine(directory, dll));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        // Only what a container would have: the chart's variables, not the test runner's Loom__* or ASPNETCORE_*.
        foreach (var key in info.Environment.Keys.ToList())
        {
            if (key.StartsWith("Loom", StringComparison.OrdinalIgnoreCase) || key.StartsWith("ASPNETCORE_", StringComparison.Ordinal) ||
                key.StartsWith("OTEL_", StringComparison.Ordinal) || key.StartsWith("POD_", StringComparison.Ordinal))
            {
                info.Environment.Remove(key);
            }
        }

        foreach (var (key, value) in env)
        {
            info.Environment[key] = value;
        }

        var name = $"{project}{(args.Length > 0 ? " " + args[0] : "")}";
        var process = ChildProcesses.Start(info, line => { lock (_log) { _log.Append(name).Append(": ").AppendLine(line); } });
        _processes.Add(process);
        return process;
    }

    /// <summary>The project's own build output in the test's configuration (the same files the Dockerfile publishes).</summary>
    private static string BuildOutput(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var directory = Path.Combine(ChartFiles.RepoRoot, project, "bin", configuration, "net10.0");
        Assert.True(Directory.Exists(directory), $"{directory} is missing: build the solution first");
        return directory;
    }

    private async Task WaitForStatus(HttpClient client, string path, HttpStatusCode? wanted, TimeSpan deadline, Process? process)
    {
        var until = DateTime.UtcNow + deadline;
        HttpStatusCode? last = null;
        while (DateTime.UtcNow < until)
        {
            if (process is not null && ChildProcesses.HasExited(process))
            {
                Assert.Fail($"the process exited ({process.ExitCode}) before {path} answered {wanted}\n{Log()}");
            }

            last = await Status(client, path);
            // null wanted: anything but 200 (a 503, or nothing listening any more).
            if (wanted is null ? last != HttpStatusCode.OK : last == wanted)
            {
                return;
            }

            await Task.Delay(200);
        }

        Assert.Fail($"{path} still answered {last?.ToString() ?? "nothing"} after {deadline}, wanted {wanted?.ToString() ?? "not 200"}\n{Log()}");
    }

    private static async Task<HttpStatusCode?> Status(HttpClient client, string path)
    {
        try
        {
            using var response = await client.GetAsync(path);
            return response.StatusCode;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    private static List<string> DashboardPlatformMetrics() =>
        System.Text.RegularExpressions.Regex.Matches(ChartFiles.Read("helm", "loom", "files", "dashboard.json"),
                @"\b(?:orleans|dotnet|http|kestrel|aspnetcore)_[a-z_]+")
            .Select(m => m.Value).Distinct(StringComparer.Ordinal).ToList();

    private async Task<string> AssertAlertMetrics(HttpClient client)
    {
        var text = await client.GetStringAsync(OperationalEndpoints.Metrics);
        string[] fromStart =
        [
            PrometheusNames.Errors + "{", PrometheusNames.CostUsd, PrometheusNames.TurnsProcessed + "{",
            PrometheusNames.MemoryUsage, PrometheusNames.MemoryLimit, PrometheusNames.CpuUsage, PrometheusNames.SessionsActive,
        ];
        var missing = fromStart.Where(m => !text.Contains(m, StringComparison.Ordinal)).ToList();
        Assert.True(missing.Count == 0, $"/metrics lacks {string.Join(", ", missing)}\n{Log()}");
        return text;
    }

    /// <summary>Every hash value in the test's own Redis (the Orleans membership table lives there).</summary>
    private async Task<string> MembershipText()
    {
        await using var redis = await ConnectionMultiplexer.ConnectAsync(_redis.ConnectionString);
        var server = redis.GetServer(redis.GetEndPoints()[0]);
        var db = redis.GetDatabase();
        var text = new StringBuilder();
        foreach (var key in server.Keys())
        {
            if (await db.KeyTypeAsync(key) == RedisType.Hash)
            {
                foreach (var entry in await db.HashGetAllAsync(key))
                {
                    text.Append(entry.Name).Append('=').Append(entry.Value).AppendLine();
                }
            }
        }

        return text.ToString();
    }

    private string Log()
    {
        lock (_log)
        {
            var all = _log.ToString();
            return all.Length > 6000 ? all[^6000..] : all;
        }
    }
}
