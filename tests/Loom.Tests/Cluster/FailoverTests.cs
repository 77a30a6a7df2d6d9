using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Loom.Sessions;
using Loom.Tests.Fixtures;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime;
using Xunit.Abstractions;

namespace Loom.Tests.Cluster;

/// <summary>
/// Issue 3's failure tests on real processes: while sessions play through the gateway, a silo is killed, PostgreSQL
/// and Redis are restarted, a silo is drained with SIGTERM, and finally no silo is left. After each failure every
/// accepted turn completes exactly once and in order, and the cluster serves every session again within 30 s.
/// </summary>
[Collection(ClusterCollection.Name)]
[TestCaseOrderer(StepOrderer.TypeName, StepOrderer.AssemblyName)]
public sealed partial class FailoverTests(LoomClusterFixture cluster, ITestOutputHelper output)
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
    public async Task Step1b_a_paused_silo_declared_dead_serves_nothing_when_it_resumes()
    {
        await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount, TimeSpan.FromSeconds(60));
        // A turn caught on the frozen silo finishes, and a submit to one of its sessions is accepted, only after the others
        // declare it dead (a minute or more here): both may wait as long as that declaration is allowed to take.
        var load = new ClusterLoad(cluster, output, "pause", completeDeadline: TimeSpan.FromSeconds(240), submitDeadline: TimeSpan.FromSeconds(240));
        await load.StartAsync();

        var victimIndex = await BusiestSiloAsync(load);
        var victim = cluster.Silos[victimIndex];
        cluster.ExpectedDown.Add(victim);
        var injectedAt = DateTime.UtcNow;
        victim.Signal("STOP");
        try
        {
            // Its sessions move while it is frozen: the others declare it dead and the sessions activate elsewhere.
            await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount - 1, TimeSpan.FromSeconds(180));
            var declaredDead = DateTime.UtcNow - injectedAt;
            var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));

            // It wakes up with activations of sessions that now live elsewhere, and a turn maybe half-way. It must
            // find itself dead and stop, and nothing it still had may overwrite what the new activations wrote.
            var resumedAt = DateTime.UtcNow;
            victim.Signal("CONT");
            var exit = await victim.WaitForExitAsync(TimeSpan.FromSeconds(60));
            var stoppedAfter = DateTime.UtcNow - resumedAt;
            await Task.Delay(TimeSpan.FromSeconds(2)); // turns go on after it is gone
            await load.StopAndVerifyAsync(); // every 202 completed exactly once, in order: no second writer won
            Record($"SIGSTOP {victim.Name}: declared dead after {declaredDead.TotalSeconds:F1} s; {recovery}; after SIGCONT it " +
                   $"{(exit is null ? "was still running" : $"exited (code {exit})")} {stoppedAfter.TotalSeconds:F1} s later. {load.Summary()}");
            Assert.True(exit is not null, $"{victim.Name} kept running after it resumed although the cluster declared it dead.\n{victim.Tail()}");
            await cluster.WaitForActiveSilosAsync(LoomClusterFixture.SiloCount - 1, TimeSpan.FromSeconds(10));
            // A frozen silo keeps its connections open, so only missed probes reveal it (Orleans' defaults: 5 s probes,
            // indirect probes, two votes; about a minute here). Once it is declared dead its sessions move as after a crash.
            Assert.True(recovery.Served - declaredDead <= ClusterLoad.RecoveryBudget,
                $"every session was served again only {recovery.Served - declaredDead} after the silo was declared dead");
            Assert.True(recovery.TurnsFlowing - declaredDead <= ClusterLoad.TurnsFlowingBudget,
                $"turns flowed for every session only {recovery.TurnsFlowing - declaredDead} after the silo was declared dead");
        }
        finally
        {
            victim.Signal("CONT");
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

    /// <summary>
    /// Issue 16: a database outage is not a cluster outage. 40 sessions play while PostgreSQL is stopped: their reads
    /// (session, turns, memory) keep answering 200 from the activations, a submit answers 503 <c>storage_unavailable</c>
    /// with Retry-After (never <c>cluster_unavailable</c>) and leaves nothing behind, and once PostgreSQL is back every
    /// turn that got a 202 completes exactly once and in order.
    /// </summary>
    [Fact]
    public async Task Step2b_postgres_outage_keeps_reads_and_answers_storage_unavailable()
    {
        var load = new ClusterLoad(cluster, output, "outage", sessions: OutageSessions);
        await load.StartAsync();
        // Idle live sessions that a submit during the outage targets (the drivers wait on their turns in flight then).
        var idle = new List<string>();
        for (var i = 0; i < 2; i++) idle.Add(await CreateIdleSessionAsync());

        var stopping = DateTime.UtcNow;
        await cluster.Postgres.StopServerAsync();
        var down = DateTime.UtcNow;

        // During the outage: reads from memory, submits and creates refused with the storage code.
        var submits = new List<(HttpStatusCode Status, string? Code, bool RetryAfter)>();
        foreach (var id in idle)
        {
            submits.Add(await ProblemOfAsync(await SubmitAsync(id, $"outage-{id}")));
        }
        var create = await ProblemOfAsync(await cluster.Http.PostAsJsonAsync("/api/sessions", new { worldId = "ember-vale", name = "during outage" }));
        var otherReads = new List<string>();
        foreach (var driver in load.Drivers)
        {
            foreach (var path in (string[])[$"/api/sessions/{driver.SessionId}/turns?limit=20", $"/api/sessions/{driver.SessionId}/memory"])
            {
                using var read = await cluster.Http.GetAsync(path);
                if (read.StatusCode != HttpStatusCode.OK) otherReads.Add($"GET {path}: {(int)read.StatusCode} {await read.Content.ReadAsStringAsync()}");
            }
        }
        await cluster.WaitUntilAsync("every session was read 3 times during the outage", TimeSpan.FromSeconds(30),
            () => Task.FromResult(load.EverySessionReadSince(down, 3)));
        var restarting = DateTime.UtcNow;
        var (reads, failedReads, latencies) = load.ProbesBetween(down, restarting);
        await cluster.Postgres.StartServerAsync();
        var back = DateTime.UtcNow;

        var recovery = await load.MeasureRecoveryAsync(back, TimeSpan.FromSeconds(75));
        // The refused submits made nothing: the same keys now make exactly one turn each, and it completes.
        foreach (var id in idle)
        {
            await cluster.WaitUntilAsync($"{id} accepts the refused turn again", TimeSpan.FromSeconds(30),
                async () =>
                {
                    using var accepted = await SubmitAsync(id, $"outage-{id}");
                    return accepted.StatusCode == HttpStatusCode.Accepted;
                });
            await cluster.WaitUntilAsync($"{id} completed its one turn", TimeSpan.FromSeconds(60), async () =>
            {
                var turns = JsonNode.Parse(await cluster.Http.GetStringAsync($"/api/sessions/{id}/turns?includeRetconned=true"))!["items"]!.AsArray();
                Assert.Single(turns);
                return turns[0]!["status"]!.GetValue<string>() == "completed";
            });
        }
        await load.StopAndVerifyAsync();

        var p95 = latencies.Count == 0 ? TimeSpan.Zero : latencies[(int)Math.Ceiling(latencies.Count * 0.95) - 1];
        var codes = load.Drivers.SelectMany(d => { lock (d.UnavailableCodes) return d.UnavailableCodes.ToList(); })
            .GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Sum(p => p.Value));
        Record($"PostgreSQL outage ({(restarting - stopping).TotalSeconds:F1} s stopped, {OutageSessions} sessions): " +
               $"{reads} session reads during it, {failedReads} failed, p95 {p95.TotalMilliseconds:F0} ms, max {(latencies.Count == 0 ? 0 : latencies[^1].TotalMilliseconds):F0} ms; " +
               $"submits to idle sessions {string.Join(", ", submits.Select(x => $"{(int)x.Status} {x.Code}"))}; create {(int)create.Status} {create.Code}; " +
               $"driver 503 codes [{string.Join(", ", codes.Select(p => $"{p.Key}×{p.Value}"))}]; after PostgreSQL was back: {recovery}. {load.Summary()}");

        Assert.True(reads > 0 && failedReads == 0, $"{failedReads} of {reads} session reads failed during the outage");
        Assert.True(otherReads.Count == 0, string.Join("\n", otherReads.Take(10)));
        foreach (var refused in submits.Append(create))
        {
            Assert.Equal((HttpStatusCode.ServiceUnavailable, "storage_unavailable", true), refused);
        }
        Assert.False(codes.ContainsKey("cluster_unavailable"), "a submit was told the cluster is unreachable while only storage was");
        AssertRecovered(recovery);
    }

    private const int OutageSessions = 40;

    private async Task<string> CreateIdleSessionAsync()
    {
        using var response = await cluster.Http.PostAsJsonAsync("/api/sessions", new { worldId = "ember-vale", name = "idle" });
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!["sessionId"]!.GetValue<string>();
    }

    private async Task<HttpResponseMessage> SubmitAsync(string sessionId, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/sessions/{sessionId}/turns") { Content = JsonContent.Create(new { input = "I wait out the storm." }) };
        request.Headers.Add("Idempotency-Key", key);
        return await cluster.Http.SendAsync(request);
    }

    private static async Task<(HttpStatusCode Status, string? Code, bool RetryAfter)> ProblemOfAsync(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            var code = response.Content.Headers.ContentType?.MediaType == "application/problem+json" ? JsonNode.Parse(body)?["code"]?.GetValue<string>() : body;
            return (response.StatusCode, code, response.Headers.RetryAfter is not null);
        }
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
    public async Task Step3b_redis_restarted_empty_gets_its_membership_table_back_and_loses_no_turn()
    {
        var load = new ClusterLoad(cluster, output, "redis-empty");
        await load.StartAsync();
        var before = await cluster.MembershipTableAsync();

        var injectedAt = DateTime.UtcNow;
        await cluster.Redis.RestartEmptyAsync();

        // The silos write the table back by themselves: every running silo's row, Active, at a version above the old one
        // (so no silo reads a newer table that leaves it out and stops).
        await cluster.WaitUntilAsync("the membership table lists every silo as Active again", ClusterLoad.RecoveryBudget, async () =>
        {
            var (version, rows) = await cluster.MembershipTableAsync();
            return version > before.Version && cluster.Silos.All(s => rows.Contains((s.Name, SiloStatus.Active)));
        });
        var restoredAfter = DateTime.UtcNow - injectedAt;
        var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));

        // Membership works again: a new gateway finds the silos, a silo joins and another leaves.
        var gatewayUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var gateway = cluster.NewGateway("gateway-after-redis", gatewayUrl);
        cluster.Extra.Add(gateway);
        gateway.Start();
        await cluster.WaitForGatewayReadyAsync(gatewayUrl, TimeSpan.FromSeconds(60));
        var replaced = cluster.Silos[0].Name;
        var (exited, exitCode, _, joined) = await cluster.SurgeReplaceSiloAsync(0);
        var (_, after) = await cluster.MembershipTableAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync();
        cluster.ExpectedDown.Add(gateway);
        await gateway.StopAsync();

        Record($"Redis restarted empty: table written back after {restoredAfter.TotalSeconds:F1} s; {recovery}; then a new gateway " +
               $"got ready and {replaced} was replaced (successor active after {joined.TotalSeconds:F1} s). {load.Summary()}");
        AssertRecovered(recovery);
        Assert.True(exited && exitCode == 0, $"{replaced}: exited {exited}, code {exitCode} after SIGTERM");
        Assert.Equal(LoomClusterFixture.SiloCount, after.Count(r => r.Status == SiloStatus.Active));
        // It was a silo that wrote the table back (Redis started empty), not the silos' ordinary writes.
        Assert.Contains(cluster.Silos.Concat(cluster.Retired), s => s.Output().Contains("Redis membership table lost this silo's row"));
        foreach (var silo in cluster.Silos) Assert.True(silo.Running, $"{silo.Name} stopped after the table came back.\n{silo.Tail()}");
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
        var grace = TimeSpan.FromSeconds(LoomClusterFixture.TerminationGraceSeconds);
        var own = TimeSpan.FromSeconds(LoomClusterFixture.ShutdownTimeoutSeconds);
        var (exited, exitCode, took) = await victim.TerminateAsync(grace + TimeSpan.FromSeconds(10));
        // The drain's own log (Orleans names each lifecycle stage that took long; sessions name a turn they gave up on).
        output.WriteLine(victim.Tail(60));
        Assert.True(exited, $"{victim.Name} still running {grace + TimeSpan.FromSeconds(10)} after SIGTERM.\n{victim.Tail()}");
        Assert.True(exitCode == 0, $"{victim.Name} exited with {exitCode} after SIGTERM.\n{victim.Tail()}");

        var recovery = await load.MeasureRecoveryAsync(injectedAt, TimeSpan.FromSeconds(75));
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync();
        // Its sessions finished their running turns and moved before the silo left (SessionHandOff): none was left for the
        // shutdown's deactivation to cut off. (A turn longer than the hand-off's limit is cut off by its move, "Migrating".)
        var log = victim.Output().Split('\n');
        var handedOff = log.FirstOrDefault(l => l.Contains("sessions off to", StringComparison.Ordinal))?.Trim();
        var cutOff = log.Select(l => CutOffReason().Match(l)).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
        Record($"SIGTERM {victim.Name}: exited 0 after {took.TotalSeconds:F1} s (own budget {own.TotalSeconds:F0} s" +
               $"{(took >= own ? ", used up" : "")}, grace {grace.TotalSeconds:F0} s); {recovery}; hand-off: {handedOff ?? "none logged"}, " +
               $"turns cut off there: {(cutOff.Count == 0 ? "none" : string.Join(", ", cutOff))}. {load.Summary()}");
        Assert.True(handedOff is not null, $"{victim.Name} did not hand its sessions off.\n{victim.Tail(120)}");
        Assert.DoesNotContain("ShuttingDown", cutOff);
        // Kubernetes' contract: gone, with exit code 0, before the grace period ends (the silo's own budget is shorter).
        Assert.True(took <= grace, $"shutdown took {took}, over the {grace} grace period.\n{victim.Tail(120)}");
        AssertRecovered(recovery);
    }

    [Fact]
    public async Task Step4b_rolling_restart_of_every_silo_then_every_gateway_under_load_loses_no_turn()
    {
        // Three silos again (step 4 drained one), and a second gateway; the clients balance over both like a Service.
        for (var i = 0; i < cluster.Silos.Count; i++)
        {
            if (cluster.Silos[i].Running) continue;
            cluster.ExpectedDown.Add(cluster.Silos[i]);
            await cluster.RestartSiloAsync(i);
        }
        var secondUrl = new Uri($"http://127.0.0.1:{FreePort.Next()}");
        var second = cluster.NewGateway("gateway-b", secondUrl);
        cluster.Extra.Add(second);
        second.Start();
        await cluster.WaitForGatewayReadyAsync(secondUrl, TimeSpan.FromSeconds(60));
        var balancer = new GatewayBalancer([cluster.GatewayUrl, secondUrl]);
        using var http = balancer.Client(cluster.ApiKey);

        // Players who read each answer for a second: a closed loop with no pause would keep the 2 cores saturated, and then
        // any CPU the roll takes (a new silo compiling its code) shows as queueing, not as what the roll costs a turn.
        var load = new ClusterLoad(cluster, output, "roll", sessions: RollingSessions, client: http, thinkTime: TimeSpan.FromSeconds(1));
        await load.StartAsync();
        var baselineFrom = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(10));
        var rollFrom = DateTime.UtcNow;
        var steps = new List<string>();
        // Which part of a step costs turns: the successor starting (CPU it takes) or the old silo draining (sessions moving).
        var (joining, draining) = (new List<(DateTime, DateTime)>(), new List<(DateTime, DateTime)>());
        for (var i = 0; i < cluster.Silos.Count; i++)
        {
            var name = cluster.Silos[i].Name;
            var stepFrom = DateTime.UtcNow;
            var (exited, exitCode, drained, joined) = await cluster.SurgeReplaceSiloAsync(i);
            joining.Add((stepFrom, stepFrom + joined));
            draining.Add((stepFrom + joined, DateTime.UtcNow));
            Assert.True(exited && exitCode == 0, $"{name}: exited {exited}, code {exitCode} after SIGTERM.\n{cluster.Retired[^1].Tail()}");
            var started = cluster.Silos[i].Process is { } successor ? successor.TotalProcessorTime.TotalSeconds : 0;
            steps.Add($"{name}: successor active after {joined.TotalSeconds:F1} s ({started:F1} s of CPU by the step's end), old drained in {drained.TotalSeconds:F1} s");
        }
        foreach (var (old, url) in new[] { (cluster.Gateway, cluster.GatewayUrl), (cluster.Extra.Single(p => p.Name == "gateway-b"), secondUrl) })
        {
            var (_, exited, exitCode, took) = await cluster.SurgeReplaceGatewayAsync(old, url, (from, to) =>
            {
                balancer.Route(to);
                balancer.Unroute(from);
                return Task.CompletedTask;
            });
            Assert.True(exited && exitCode == 0, $"{old.Name}: exited {exited}, code {exitCode} after SIGTERM.\n{old.Tail()}");
            steps.Add($"{old.Name}: old stopped in {took.TotalSeconds:F1} s");
        }
        var rollTo = DateTime.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(2));
        await load.StopAndVerifyAsync(); // every 202 completed exactly once, in order; no 5xx but 503 + Retry-After

        var before = load.LatenciesOfTurnsSubmitted(baselineFrom, rollFrom);
        var during = load.LatenciesOfTurnsSubmitted(rollFrom, rollTo);
        var (p95Before, p95During) = (ClusterLoad.P95(before), ClusterLoad.P95(during));
        // Orleans' legacy grain directory would log each drain's deactivations of grains elsewhere (docs/operations.md).
        var collateral = cluster.AllProcesses.Sum(p => p.Output().Split('\n').Count(l => l.Contains("LocalGrainDirectory is deactivating", StringComparison.Ordinal)));
        // Turns narrated again from the start because a deactivation cut them off, by reason (a drained silo hands its
        // sessions off after their running turns; the legacy directory's deactivations elsewhere do not wait).
        var cutOff = cluster.AllProcesses.SelectMany(p => p.Output().Split('\n'))
            .Select(l => CutOffReason().Match(l)).Where(m => m.Success).GroupBy(m => m.Groups[1].Value)
            .Select(g => $"{g.Key} {g.Count()}").DefaultIfEmpty("none");
        Record($"rolling restart of 3 silos then 2 gateways under {RollingSessions} sessions, {(rollTo - rollFrom).TotalSeconds:F0} s: " +
               $"{string.Join("; ", steps)}. Turn p95 before {p95Before.TotalMilliseconds:F0} ms ({before.Count} turns), during " +
               $"{p95During.TotalMilliseconds:F0} ms ({during.Count} turns, {p95During / p95Before:F1}×); p50 before {ClusterLoad.Percentile(before, 0.5).TotalMilliseconds:F0} ms, " +
               $"during {ClusterLoad.Percentile(during, 0.5).TotalMilliseconds:F0} ms; turns submitted while a successor joined: {Phase(joining)}, while the old silo drained: " +
               $"{Phase(draining)}; grain-directory deactivation log lines: {collateral}; turns cut off: {string.Join(", ", cutOff)}; connections refused and sent to the other gateway: " +
               $"{balancer.Refused}. {load.Summary()}");
        output.WriteLine("slowest turns submitted while an old silo drained:\n  " +
                         string.Join("\n  ", draining.SelectMany(w => load.SlowestTurnsSubmitted(w.Item1, w.Item2, 4))));
        Assert.Equal(0, load.ServerErrorsOtherThan503);
        // The consistent directory (the default) moves a leaving silo's entries instead of deactivating their grains.
        Assert.Equal(0, collateral);

        string Phase(List<(DateTime From, DateTime To)> windows)
        {
            var turns = windows.SelectMany(w => load.LatenciesOfTurnsSubmitted(w.From, w.To)).Order().ToList();
            return $"p50 {ClusterLoad.Percentile(turns, 0.5).TotalMilliseconds:F0} ms, p95 {ClusterLoad.P95(turns).TotalMilliseconds:F0} ms ({turns.Count} turns)";
        }
        // No turn waits longer than one silo's grace period. The p95 ratio (issue 16's bound: 2×) is a performance figure:
        // recorded here (1.3–1.8× in the full suite since the grain warm-up plays a probe session, docs/operations.md,
        // "Rolling upgrade"), proven by the LoadTests `roll` scenario against a local cluster, not asserted by a timed test.
        Assert.True(during.Count > 0 && during[^1] <= TimeSpan.FromSeconds(LoomClusterFixture.TerminationGraceSeconds),
            $"a turn submitted during the roll took {during.LastOrDefault()}");
    }

    private const int RollingSessions = 40;

    [System.Text.RegularExpressions.GeneratedRegex(@"cut off by a deactivation \((\w+)\)")]
    private static partial System.Text.RegularExpressions.Regex CutOffReason();

    [Fact]
    public async Task Step4c_rolling_upgrade_to_a_build_with_a_new_header_field_and_back_loses_no_turn()
    {
        // The next build (this code plus an optional session-header field it sets on every commit), built now.
        var building = Stopwatch.StartNew();
        var nextDll = await NextBuild.SiloDllAsync(LoomClusterFixture.RepoRoot());
        var built = building.Elapsed;
        var thisDll = Path.Combine(LoomClusterFixture.RepoRoot(), "Silo/bin/Release/net10.0/Loom.Silo.dll");

        var load = new ClusterLoad(cluster, output, "upgrade", sessions: 12, thinkTime: TimeSpan.FromMilliseconds(300));
        await load.StartAsync();
        var steps = new List<string>();
        async Task ReplaceAsync(int index, string dll, string build)
        {
            var name = cluster.Silos[index].Name;
            var (exited, exitCode, drained, joined) = await cluster.SurgeReplaceSiloAsync(index, dll);
            Assert.True(exited && exitCode == 0, $"{name}: exited {exited}, code {exitCode} after SIGTERM.\n{cluster.Retired[^1].Tail()}");
            await Task.Delay(TimeSpan.FromSeconds(4)); // sessions move and play on the mixed cluster
            var marked = await HeadersWrittenByNextBuildAsync();
            steps.Add($"{name} → {build} (joined {joined.TotalSeconds:F1} s, old drained {drained.TotalSeconds:F1} s): {marked} headers carry the new field");
        }

        // Up to the next build one silo at a time, then back down: old and new silos share the sessions meanwhile, and once
        // every silo is new, every playing session's header carries the new field.
        for (var i = 0; i < cluster.Silos.Count; i++) await ReplaceAsync(i, nextDll, "next");
        await cluster.WaitUntilAsync("the next build wrote the playing sessions' headers", TimeSpan.FromSeconds(30),
            async () => await HeadersWrittenByNextBuildAsync() >= load.Drivers.Count);
        var upgraded = await HeadersWrittenByNextBuildAsync();
        // Rolled back: the old build reads every one of those rows (a failed read would stop a session's turns) and
        // rewrites them without the field it does not know.
        for (var i = 0; i < cluster.Silos.Count; i++) await ReplaceAsync(i, thisDll, "this");
        await cluster.WaitUntilAsync("the old build rewrote the next build's headers", TimeSpan.FromSeconds(30),
            async () => await HeadersWrittenByNextBuildAsync() <= upgraded - load.Drivers.Count);
        await load.StopAndVerifyAsync(); // every 202 completed exactly once, in order, across both builds

        Record($"rolling upgrade to a next build with a new session-header field (built in {built.TotalSeconds:F0} s): " +
               $"{string.Join("; ", steps)}. {load.Summary()}");
        Assert.Equal(0, load.ServerErrorsOtherThan503);
    }

    /// <summary>Session headers in PostgreSQL that the next build wrote (its field's value is in the row).</summary>
    private async Task<long> HeadersWrittenByNextBuildAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(cluster.Postgres.ConnectionString);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand(
            "SELECT count(*) FROM loom_grain_state WHERE state_name = 'session' AND position(convert_to(@marker, 'UTF8') in payload) > 0", connection);
        command.Parameters.AddWithValue("marker", NextBuild.Marker);
        return (long)(await command.ExecuteScalarAsync())!;
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
