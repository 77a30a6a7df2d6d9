using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The engine's own cost: with LLM latency 0 a single user's turn round trip is pure overhead (HTTP, durable
/// queue, grain, persistence, memory); then N sessions show how many turns per second the engine sustains and what
/// one turn costs in CPU, summed over every watched LOOM process (the gateway, or gateway and silos of a cluster).
/// </summary>
public sealed class OverheadScenario : ILoadScenario
{
    public const int DefaultUsers = 64;
    public const int DefaultSequentialTurns = 200;

    public string Name => "overhead";

    public string Description =>
        $"LLM latency 0: engine overhead per turn (one session, --turns default {DefaultSequentialTurns} sequential turns) and turns/s with N sessions "
        + $"(default {DefaultUsers}) for --duration (default 20 s), with engine CPU per turn = CPU time of all LOOM processes ÷ turns.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? DefaultUsers;
        var sequentialTurns = run.Options.Turns ?? DefaultSequentialTurns;
        var duration = run.Options.Duration ?? TimeSpan.FromSeconds(20);
        run.UseLatency(TimeSpan.Zero, report);
        try
        {
            var world = await run.CreateWorldAsync("overhead", ct);
            await run.WarmUpTurnsAsync(report, world, users, ct);
            var single = (await run.CreateSessionsAsync(world, 1, "oh-single", ct))[0];
            var m0 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            var sequential = await run.RunPhaseAsync(report, "sequential", new ConstantConcurrency(1, IterationsPerUser: sequentialTurns),
                (u, steps) => run.SendTurnAsync(steps, "turn", single, u.Iteration, u.Cancellation), ct);

            var m1 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            var sessions = await run.CreateSessionsAsync(world, users, "oh", ct);
            var m2 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            var load = await run.RunPhaseAsync(report, "throughput", new ConstantConcurrency(users, duration),
                (u, steps) => run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation), ct);
            var m3 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            if (StageBudget.Table(m0, m1, m2, m3, $"{users} sessions") is { } budget) report.Tables.Add(budget);

            var s = sequential.Step("turn");
            var l = load.Step("turn");
            var turnsOk = l?.Ok ?? 0;
            var cpuMsPerTurn = EngineCpuMsPerTurn(load.Report.Target?.CpuSeconds ?? double.NaN, turnsOk);
            // With the model answering at once a turn costs only CPU: the machine's cores bound the rate.
            var cpuBound = double.IsNaN(cpuMsPerTurn) || cpuMsPerTurn <= 0 ? double.NaN : Environment.ProcessorCount * 1000 / cpuMsPerTurn;
            var applies = users == DefaultUsers;

            var rows = new List<IReadOnlyList<string>>
            {
                new[] { $"turns/s ({users} sessions, {Durations.Format(duration)})", Cells.OrNa(l, x => Cells.Rate(x.OkPerSecond)), $"{Cells.Rate(cpuBound)} (cores ÷ CPU per turn)",
                    $"≥ {Targets.TurnsPerSecondAtZeroLatency}/s (64 sessions)", Cells.Rate(PythonLoomFigures.TurnsPerSecondAtZeroLatency) + " (in process)" },
                new[] { "engine CPU per turn (all LOOM processes)", Cells.Ms(cpuMsPerTurn), "–", $"≤ {Targets.EngineCpuMsPerTurn} ms", "–" },
            };
            foreach (var p in load.Report.TargetProcesses.Where(_ => load.Report.TargetProcesses.Count > 1))
                rows.Add(new[] { $"  CPU per turn: {p.Process}", Cells.Ms(EngineCpuMsPerTurn(p.CpuSeconds, turnsOk)), "–", "–", "–" });
            rows.AddRange(
            [
                new[] { "overhead p50 (1 session)", Cells.OrNa(s, x => Cells.Ms(x.P50Ms)), "0 ms (L = 0)", $"≤ {Targets.OverheadP50Ms} ms", "–" },
                new[] { "overhead p95 (1 session)", Cells.OrNa(s, x => Cells.Ms(x.P95Ms)), "0 ms (L = 0)", $"≤ {Targets.OverheadP95Ms} ms", "–" },
                new[] { "overhead p99 (1 session)", Cells.OrNa(s, x => Cells.Ms(x.P99Ms)), "0 ms (L = 0)", "–", "–" },
                new[] { $"turn p95 under load ({users} sessions)", Cells.OrNa(l, x => Cells.Ms(x.P95Ms)), "–", "–", "–" },
                new[] { "errors", Cells.Errors((s?.Errors ?? new Dictionary<string, long>()).Concat(l?.Errors ?? new Dictionary<string, long>()).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value))), "0", "0", "–" },
                new[] { "target CPU under load", Cells.CpuPercent(load.Report.Target?.CpuPercent ?? double.NaN), $"{Environment.ProcessorCount * 100} %", "–", "–" },
                new[] { "runner CPU under load", Cells.CpuPercent(load.Report.Runner?.CpuPercent ?? double.NaN), "–", "–", "–" },
            ]);
            report.Tables.Add(new ReportTable("Engine overhead (LLM latency 0)", ["metric", "measured", "bound", "target", PythonLoomFigures.Label], rows));

            var strict = run.Options.Strict;
            report.Checks.Add(applies
                ? CheckResult.AtLeast($"turns/s at L = 0, {users} sessions", l?.OkPerSecond ?? double.NaN, Targets.TurnsPerSecondAtZeroLatency, Cells.Rate, strict, cpuBound, "turns/s")
                : CheckResult.NotApplicable("turns/s at L = 0", $"≥ {Targets.TurnsPerSecondAtZeroLatency}/s with {DefaultUsers} sessions", $"ran {users} sessions"));
            report.Checks.Add(CheckResult.AtMost("engine CPU per turn (all LOOM processes)", cpuMsPerTurn, Targets.EngineCpuMsPerTurn, Cells.Ms, strict, unit: "ms"));
            report.Checks.Add(CheckResult.AtMost("overhead p50 (1 session, L = 0)", s?.P50Ms ?? double.NaN, Targets.OverheadP50Ms, Cells.Ms, strict, 0, "ms"));
            report.Checks.Add(CheckResult.AtMost("overhead p95 (1 session, L = 0)", s?.P95Ms ?? double.NaN, Targets.OverheadP95Ms, Cells.Ms, strict, 0, "ms"));
            report.Checks.Add(CheckResult.AtMost("failed turns", (s?.Fail ?? 0) + (l?.Fail ?? 0), 0, v => Cells.Count((long)v), strict, 0));
            report.Notes.Add("Overhead is the client-side round trip of POST turns?wait=true with a model that answers at once, so it is an upper bound on the engine's share of a turn.");
            report.Notes.Add(load.Report.TargetProcesses.Count == 0
                ? "Engine CPU per turn needs the target's processes: start the gateway here, or pass --target-pid (once per process) or --cluster-dir."
                : $"Engine CPU per turn sums the CPU time of {string.Join(", ", load.Report.TargetProcesses.Select(p => p.Process))} over the throughput phase; storage servers (PostgreSQL, Redis) are not included.");
            if (!run.LatencyIsControlled && run.EmbeddedLlm is null)
                report.Notes.Add("The target's LLM is not ours: its latency is included in these figures.");
        }
        finally
        {
            run.UseLatency(run.Options.Latency, report);
        }
    }

    /// <summary>Process CPU time per successful turn in ms; NaN when either is unknown or no turn succeeded.</summary>
    public static double EngineCpuMsPerTurn(double cpuSeconds, long turns) =>
        double.IsNaN(cpuSeconds) || turns <= 0 ? double.NaN : cpuSeconds * 1000 / turns;
}
