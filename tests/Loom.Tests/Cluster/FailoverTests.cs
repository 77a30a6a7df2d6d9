using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Loom.Sessions;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Loom.Tests.Cluster;

/// <summary>
/// Issue 3's failure tests on real processes: while sessions play through the gateway, a silo is killed, PostgreSQL
/// and Redis are restarted, a silo is drained with SIGTERM, and finally no silo is left. After each failure every
/// accepted turn completes exactly once and in order, and the cluster serves every session again within 30 s.
/// </summary>
[Collection(ClusterCollection.Name)]
[TestCaseOrderer(StepOrderer.TypeName, StepOrderer.AssemblyName)]
public sealed class FailoverTests(LoomClusterFixture cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task Step1_kill_9_of_a_silo_loses_no_accepted_turn()
    {
        await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount, TimeSpan.FromSeconds(60));
        var load = new ClusterLoad(cluster, output, "kill");
        await load.StartAsync();

        var victimIndex = await BusiestSiloAsync(load);
        var victim = cluster.Silos[victimIndex];
        cluster.ExpectedDown.Add(victim);
        var injectedAt = DateTime.UtcNow;
        victim.KillHard();

        var declaredDead = Task.Run(async () =>
        {
            await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount - 1, TimeSpan.FromSeconds(75));
            return DateTime.UtcNow - injectedAt;
        });
        try
        {
            var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));
            await Task.Delay(TimeSpan.FromSeconds(2)); // a little steady load after recovery
            await load.StopAndVerifyAsync();
            Record($"kill -9 {victim.Name}: declared dead after {(await declaredDead).TotalSeconds:F1} s; {recovery}. {load.Summary()}");
            AssertRecovered(recovery);
        }
        finally
        {
            // Back to three silos for the next failures, whatever happened here.
            await cluster.RestartSiloAsync(victimIndex);
            cluster.ExpectedDown.Remove(victim);
        }
    }

    [Fact]
    public async Task Step2_restart_of_postgres_loses_no_accepted_turn()
    {
        var load = new ClusterLoad(cluster, output, "pg");
        await load.StartAsync();

        var injectedAt = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        await cluster.Postgres.RestartAsync();
        var downtime = watch.Elapsed;

        var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync();
        Record($"PostgreSQL restart ({downtime.TotalSeconds:F1} s down): {recovery}. {load.Summary()}");
        AssertRecovered(recovery);
    }

    [Fact]
    public async Task Step3_restart_of_redis_loses_no_accepted_turn()
    {
        var load = new ClusterLoad(cluster, output, "redis");
        await load.StartAsync();

        var injectedAt = DateTime.UtcNow;
        var watch = Stopwatch.StartNew();
        await cluster.Redis.RestartAsync();
        var downtime = watch.Elapsed;

        var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync();
        Record($"Redis restart ({downtime.TotalSeconds:F1} s down): {recovery}. {load.Summary()}");
        AssertRecovered(recovery);
        // Membership survived the restart (appendonly): the cluster is still whole.
        await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Step4_sigterm_drains_a_silo_within_its_budget()
    {
        var load = new ClusterLoad(cluster, output, "term");
        await load.StartAsync();

        var victimIndex = await BusiestSiloAsync(load);
        var victim = cluster.Silos[victimIndex];
        cluster.ExpectedDown.Add(victim);
        var injectedAt = DateTime.UtcNow;
        var budget = TimeSpan.FromSeconds(LoomClusterFixture.ShutdownBudgetSeconds);
        var (exited, exitCode, took) = await victim.TerminateAsync(budget + TimeSpan.FromSeconds(10));
        Assert.True(exited, $"{victim.Name} still running {budget + TimeSpan.FromSeconds(10)} after SIGTERM.\n{victim.Tail()}");
        Assert.True(exitCode == 0, $"{victim.Name} exited with {exitCode} after SIGTERM.\n{victim.Tail()}");

        var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync();
        Record($"SIGTERM {victim.Name}: exited 0 after {took.TotalSeconds:F1} s (budget {budget.TotalSeconds:F0} s); " +
               $"{recovery}. {load.Summary()}");
        Assert.True(took <= budget, $"shutdown took {took}, over the {budget} budget");
        AssertRecovered(recovery);
    }

    [Fact]
    public async Task Step5_without_silos_the_gateway_answers_503_with_retry_after_within_its_deadline()
    {
        foreach (var silo in cluster.Silos.Where(s => s.Running))
        {
            cluster.ExpectedDown.Add(silo);
            silo.KillHard();
        }
        var deadline = TimeSpan.FromSeconds(LoomClusterFixture.CallDeadlineSeconds);
        using var http = new HttpClient { BaseAddress = cluster.GatewayUrl, Timeout = deadline + TimeSpan.FromSeconds(20) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", cluster.ApiKey);

        for (var attempt = 0; attempt < 3; attempt++)
        {
            var watch = Stopwatch.StartNew();
            using var response = await http.PostAsJsonAsync("/api/sessions", new { worldId = "ember-vale" });
            var took = watch.Elapsed;
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.True(took <= deadline + TimeSpan.FromSeconds(5), $"answered after {took}, deadline {deadline}");
            Record($"no silo: POST /api/sessions answered 503 (Retry-After {response.Headers.RetryAfter}) in {took.TotalSeconds:F1} s");
        }

        using var ready = await http.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        using var live = await http.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.OK, live.StatusCode);
    }

    [Fact]
    public void Step6_no_secret_appears_in_any_process_output()
    {
        foreach (var process in cluster.AllProcesses)
        {
            var text = process.Output();
            Assert.True(text.Length > 0, $"{process.Name} wrote nothing: the check would prove nothing");
            Assert.DoesNotContain(cluster.ApiKey, text);
            Assert.DoesNotContain(cluster.RedisPassword, text);
            Assert.DoesNotContain(cluster.PostgresPassword, text);
        }
    }

    private static void AssertRecovered(ClusterLoad.Recovery recovery)
    {
        Assert.True(recovery.Served <= ClusterLoad.RecoveryBudget, $"cluster served every session again only after {recovery.Served}");
        Assert.True(recovery.TurnsFlowing <= ClusterLoad.TurnsFlowingBudget, $"turns flowed for every session only after {recovery.TurnsFlowing}");
    }

    /// <summary>The running silo holding most of the load's sessions, so the failure hits live sessions.</summary>
    private async Task<int> BusiestSiloAsync(ClusterLoad load)
    {
        var counts = new Dictionary<int, int>();
        var client = cluster.Observer.Services.GetRequiredService<IClusterClient>();
        foreach (var driver in load.Drivers)
        {
            try
            {
                var address = await cluster.Management.GetActivationAddress(client.GetGrain<ISessionGrain>(driver.SessionId));
                var index = cluster.Silos.FindIndex(s => s.Running && s.Environment["Loom__Cluster__SiloPort"] == address?.Endpoint.Port.ToString());
                if (index >= 0) counts[index] = counts.GetValueOrDefault(index) + 1;
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Placement is only a preference for the victim.
            }
        }
        var busiest = counts.Count > 0 ? counts.MaxBy(p => p.Value).Key : cluster.Silos.FindIndex(s => s.Running);
        Record($"sessions per silo: {string.Join(", ", counts.OrderBy(p => p.Key).Select(p => $"silo-{p.Key}={p.Value}"))}; failing silo-{busiest}");
        return busiest;
    }

    private void Record(string line)
    {
        output.WriteLine(line);
        var directory = Path.Combine(LoomClusterFixture.RepoRoot(), ".ci", "out");
        Directory.CreateDirectory(directory);
        File.AppendAllText(Path.Combine(directory, "cluster-figures.txt"), $"{DateTime.UtcNow:O} {line}\n");
    }
}
