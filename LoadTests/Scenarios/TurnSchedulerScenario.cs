using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The seed's turn scheduler table: at each concurrency c, c sessions each send T turns one after another
/// (a session runs its turns in order, so the ideal is c / L turns per second).
/// </summary>
public sealed class TurnSchedulerScenario : ILoadScenario
{
    public static readonly IReadOnlyList<int> DefaultLevels = [1, 3, 5, 10, 20];

    public string Name => "turn-scheduler";

    public string Description =>
        "Turns through the durable queue at concurrency 1, 3, 5, 10, 20 (--levels adds 100, 1000): avg time, TPS, error rate, target CPU. Each session sends --turns (default 5) turns.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var levels = run.Options.Levels ?? DefaultLevels;
        var turns = run.Options.Turns ?? 5;
        run.UseLatency(run.Options.Latency, report);
        var latency = run.LlmLatency;
        var world = await run.CreateWorldAsync("turns", ct);

        var rows = new List<IReadOnlyList<string>>();
        foreach (var c in levels)
        {
            ct.ThrowIfCancellationRequested();
            var sessions = await run.CreateSessionsAsync(world, c, $"ts-c{c}", ct);
            var phase = await run.RunPhaseAsync(report, $"c={c}", new ConstantConcurrency(c, run.Options.Duration, turns),
                (u, steps) => run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation), ct);
            var t = phase.Step("turn");
            var ideal = latency > TimeSpan.Zero ? c / latency.TotalSeconds : double.NaN;
            rows.Add(new[]
            {
                c.ToString(), Cells.OrNa(t, x => $"{x.Ok}/{x.Count}"), Cells.OrNa(t, x => Cells.Ms(x.MeanMs)), Cells.OrNa(t, x => Cells.Ms(x.P95Ms)),
                Cells.OrNa(t, x => Cells.Rate(x.OkPerSecond)), Cells.Rate(ideal), Cells.OrNa(t, x => Cells.Percent(x.ErrorRate)),
                Cells.CpuPercent(phase.Report.Target?.CpuPercent ?? double.NaN), TargetFor(c, latency),
            });
            AddCheck(report, run, c, latency, t);
        }
        rows.Add(new[] { $"{PythonLoomFigures.Label} (its scheduler)", "–", "–", "–", PythonLoomFigures.TurnScheduler, "–", "96 %", "–", "–" });
        report.Tables.Add(new ReportTable($"Turn scheduler (LLM latency {Durations.Format(latency)})",
            ["concurrency", "turns ok", "avg time", "p95", "TPS", "ideal c/L", "error rate", "target CPU", "target"], rows));
        report.Notes.Add("Target CPU is of one core (200 % = both cores of a 2-core machine).");
    }

    private static bool AtOnePointFive(TimeSpan latency) => Math.Abs(latency.TotalMilliseconds - 1500) < 1;

    private static string TargetFor(int c, TimeSpan latency) => (c, AtOnePointFive(latency)) switch
    {
        (100, true) => $"≥ {Targets.Tps100Users} TPS",
        (1000, true) => $"≥ {Targets.Tps1000Sessions} TPS",
        _ => "–",
    };

    private static void AddCheck(ScenarioReport report, ScenarioRun run, int c, TimeSpan latency, StepSummary? t)
    {
        var target = c switch { 100 => Targets.Tps100Users, 1000 => Targets.Tps1000Sessions, _ => double.NaN };
        if (double.IsNaN(target)) return;
        report.Checks.Add(AtOnePointFive(latency)
            ? CheckResult.AtLeast($"TPS at concurrency {c}, L = 1.5 s", t?.OkPerSecond ?? double.NaN, target, Cells.Rate, run.Options.Strict, c / latency.TotalSeconds, "turns/s")
            : CheckResult.NotApplicable($"TPS at concurrency {c}, L = 1.5 s", $"≥ {Cells.Rate(target)}", $"ran at L = {Durations.Format(latency)}"));
    }
}
