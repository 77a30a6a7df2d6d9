using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The engine's own cost: with LLM latency 0 a single user's turn round trip is pure overhead (HTTP, durable
/// queue, grain, persistence, memory); then N users show how many turns per second the engine sustains.
/// </summary>
public sealed class OverheadScenario : ILoadScenario
{
    public string Name => "overhead";

    public string Description =>
        "LLM latency 0: engine overhead per turn (one user, sequential, --turns default 200) and turns/s with N users (default 32) for --duration (default 20 s).";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? 32;
        var sequentialTurns = run.Options.Turns ?? 200;
        var duration = run.Options.Duration ?? TimeSpan.FromSeconds(20);
        run.UseLatency(TimeSpan.Zero, report);
        try
        {
            var world = await run.CreateWorldAsync("overhead", ct);
            var single = (await run.CreateSessionsAsync(world, 1, "oh-single", ct))[0];
            var sequential = await run.RunPhaseAsync(report, "sequential", new ConstantConcurrency(1, IterationsPerUser: sequentialTurns),
                (u, steps) => run.SendTurnAsync(steps, "turn", single, u.Iteration, u.Cancellation), ct);

            var sessions = await run.CreateSessionsAsync(world, users, "oh", ct);
            var load = await run.RunPhaseAsync(report, "throughput", new ConstantConcurrency(users, duration),
                (u, steps) => run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation), ct);

            var s = sequential.Step("turn");
            var l = load.Step("turn");
            report.Tables.Add(new ReportTable("Engine overhead (LLM latency 0)", ["metric", "measured", "seed", "target"],
            [
                new[] { $"turns/s ({users} users, {Durations.Format(duration)})", Cells.OrNa(l, x => Cells.Rate(x.OkPerSecond)), Cells.Rate(SeedFigures.SeedTurnsPerSecondAtZeroLatency) + " (in process)", $"≥ {SeedFigures.TargetTurnsPerSecondAtZeroLatency}/s" },
                new[] { "overhead p50 (1 user)", Cells.OrNa(s, x => Cells.Ms(x.P50Ms)), "–", "–" },
                new[] { "overhead p95 (1 user)", Cells.OrNa(s, x => Cells.Ms(x.P95Ms)), "–", $"≤ {SeedFigures.TargetOverheadP95Ms} ms" },
                new[] { "overhead p99 (1 user)", Cells.OrNa(s, x => Cells.Ms(x.P99Ms)), "–", "–" },
                new[] { $"turn p95 under load ({users} users)", Cells.OrNa(l, x => Cells.Ms(x.P95Ms)), "–", "–" },
                new[] { "errors", Cells.Errors((s?.Errors ?? new Dictionary<string, long>()).Concat(l?.Errors ?? new Dictionary<string, long>()).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value))), "–", "0" },
                new[] { "target CPU under load", Cells.CpuPercent(load.Report.Target?.CpuPercent ?? double.NaN), "–", "–" },
            ]));

            var strict = run.Options.Strict;
            report.Checks.Add(CheckResult.AtLeast("turns/s at L = 0", l?.OkPerSecond ?? double.NaN, SeedFigures.TargetTurnsPerSecondAtZeroLatency, Cells.Rate, strict));
            report.Checks.Add(CheckResult.AtMost("engine overhead p95 (1 user, L = 0)", s?.P95Ms ?? double.NaN, SeedFigures.TargetOverheadP95Ms, Cells.Ms, strict));
            report.Notes.Add("Overhead is the client-side round trip of POST turns?wait=true with a model that answers at once, so it is an upper bound on the engine's share of a turn.");
            if (!run.LatencyIsControlled && run.EmbeddedLlm is null)
                report.Notes.Add("The target's LLM is not ours: its latency is included in these figures.");
        }
        finally
        {
            run.UseLatency(run.Options.Latency, report);
        }
    }
}
