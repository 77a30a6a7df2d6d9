using System.Globalization;
using Loom.LoadTests.Client;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Scenarios.Roll;

/// <summary>
/// Issue 16's rolling upgrade as a benchmark: a local cluster (<c>--cluster-dir</c>) keeps N sessions playing while every
/// silo is replaced one at a time (a successor started and ready first, then the old silo stopped with SIGTERM and left
/// to hand its sessions over), then the gateway (a second one started, the players moved to it, the old one stopped).
/// Measured: turn p95 during the roll against the p95 before it (target ≤ 2×), turns lost or made twice, 5xx other
/// than 503. FailoverTests' Step4b runs the same roll in CI and asserts the correctness half of it.
/// </summary>
public sealed class RollScenario : ILoadScenario
{
    private const int DefaultSessions = 40;
    /// <summary>
    /// Turns every session plays before the baseline: past its first rolling summary (by default after turn 16, then
    /// every 10th turn), so the baseline and the roll play the same mix of turns.
    /// </summary>
    private const int DefaultWarmTurns = 20;
    private const double RatioTarget = 2.0;
    private static readonly TimeSpan DefaultBaseline = TimeSpan.FromSeconds(30);
    /// <summary>Players read each answer before the next turn, as people do; a loop with no pause would saturate the cores.</summary>
    private static readonly TimeSpan ThinkTime = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan TurnDeadline = TimeSpan.FromSeconds(120);

    public string Name => "roll";

    public string Description =>
        $"Rolling upgrade of a local cluster (--cluster-dir, scripts/local-cluster.sh): N sessions (default {DefaultSessions}) play at L with a " +
        $"{ThinkTime.TotalSeconds:0} s think time, each {DefaultWarmTurns} turns first (--turns), while every silo is replaced one by one, then the gateway: turn p95 during the roll against before " +
        $"(target ≤ {RatioTarget}×), turns lost or repeated, 5xx other than 503. Run it alone: it replaces the processes it was given.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        if (run.Options.ClusterDirectory is not { } directory)
        {
            report.Checks.Add(CheckResult.NotApplicable("turn p95 during the roll ÷ before", $"≤ {RatioTarget}×", "needs --cluster-dir"));
            return;
        }
        var script = ClusterScript.For(directory);
        run.UseLatency(run.Options.Latency, report);
        var users = run.Options.Users ?? DefaultSessions;
        var baseline = run.Options.Duration ?? DefaultBaseline;
        var warmTurns = run.Options.Turns ?? DefaultWarmTurns;
        var world = await run.CreateWorldAsync(Name, ct);
        var sessions = await run.CreateSessionsAsync(world, users, Name, ct);

        var gateway = run.Client;
        var steps = new StepRecorder();
        var started = DateTime.UtcNow;
        var runner = run.SelfSampler?.BeginWindow();
        var players = sessions.Select(id => new RollingPlayer(id, () => Volatile.Read(ref gateway), ThinkTime, TurnDeadline, steps["turn"])).ToList();
        var playing = 1;
        var running = players.Select(p => Task.Run(() => p.RunAsync(() => Volatile.Read(ref playing) == 1, ct), ct)).ToList();
        var extraClients = new List<LoomClient>();
        var log = new RollLog(run.Console, started);
        try
        {
            log.Write($"warm-up: every session plays {warmTurns} turns");
            await WaitAsync($"every session completed {warmTurns} turns", TimeSpan.FromSeconds(30) + warmTurns * (run.LlmLatency + ThinkTime) * 2,
                () => players.All(p => p.Completed >= warmTurns), ct);
            var baselineFrom = DateTime.UtcNow;
            log.Write($"baseline: {users} sessions playing for {Durations.Format(baseline)}");
            await Task.Delay(baseline, ct);

            var rollFrom = DateTime.UtcNow;
            foreach (var silo in script.RunningSilos())
            {
                var from = DateTime.UtcNow;
                var (added, joinTook) = await script.RunAsync("add", TimeSpan.FromMinutes(3), ct);
                var joined = DateTime.UtcNow;
                log.Window("successor joining", from, joined);
                log.Write($"silo-{silo}: successor ready after {joinTook.TotalSeconds:F1} s ({LastLine(added)})");
                var (_, drainTook) = await script.RunAsync($"remove {silo}", TimeSpan.FromMinutes(5), ct);
                log.Window("old silo draining", joined, DateTime.UtcNow);
                log.Write($"silo-{silo}: stopped and handed its sessions over in {drainTook.TotalSeconds:F1} s");
            }
            var gatewayFrom = DateTime.UtcNow;
            var (surged, surgeTook) = await script.RunAsync("surge-gateway", TimeSpan.FromMinutes(3), ct);
            var next = new LoomClient(LocalCluster.Read(directory).Gateway, run.Options.ApiKey);
            extraClients.Add(next);
            Volatile.Write(ref gateway, next);
            var (_, retireTook) = await script.RunAsync("retire-gateway", TimeSpan.FromMinutes(3), ct);
            log.Window("gateway replaced", gatewayFrom, DateTime.UtcNow);
            log.Write($"gateway: successor ready after {surgeTook.TotalSeconds:F1} s ({LastLine(surged)}); old stopped in {retireTook.TotalSeconds:F1} s");
            var rollTo = DateTime.UtcNow;

            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            Volatile.Write(ref playing, 0);
            await WaitAsync("every player finished its turn in flight", TurnDeadline + TimeSpan.FromSeconds(30), () => running.All(t => t.IsCompleted), ct);

            var problems = new List<string>();
            foreach (var player in players) problems.AddRange(await player.CheckTimelineAsync(next, ct));
            RollReport.Add(report, run, players, log, problems, (baselineFrom, rollFrom), (rollFrom, rollTo), RatioTarget);
            // The whole play as one phase, for the report's charts (latency and throughput over time, histogram). CPU and
            // RSS are not charted: the processes change during the roll.
            var elapsed = DateTime.UtcNow - started;
            report.Phases.Add(new PhaseReport($"{users} sessions: warm-up, baseline, roll", "closed loop, 1 s think time, until the roll ends",
                elapsed.TotalSeconds, players.Sum(p => p.Turns.Count), 0, 0, users, false, steps.Summarise(elapsed), null, runner?.End()?.Total));
        }
        finally
        {
            Volatile.Write(ref playing, 0);
            foreach (var client in extraClients) client.Dispose();
        }
    }

    private static string LastLine(string output) => output.Split('\n', StringSplitOptions.RemoveEmptyEntries).LastOrDefault()?.Trim() ?? "";

    private static async Task WaitAsync(string what, TimeSpan within, Func<bool> condition, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + within;
        while (!condition())
        {
            if (DateTime.UtcNow >= deadline) throw new TimeoutException($"timed out after {within.TotalSeconds:0} s waiting until {what}");
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
    }
}

/// <summary>What happened when during the roll: the step lines for the report and the windows per kind of step.</summary>
public sealed class RollLog(TextWriter console, DateTime started)
{
    public List<string> Steps { get; } = [];
    public List<(string Kind, DateTime From, DateTime To)> Windows { get; } = [];

    /// <summary>A step, stamped with the seconds since play started (the x axis of the report's charts).</summary>
    public void Write(string line)
    {
        line = string.Create(CultureInfo.InvariantCulture, $"at {(DateTime.UtcNow - started).TotalSeconds:0} s: {line}");
        Steps.Add(line);
        console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[roll] {line}"));
    }

    public void Window(string kind, DateTime from, DateTime to) => Windows.Add((kind, from, to));
}
