using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>End to end over HTTP: one session of 10 turns, then N users × T turns (default 100 × 5) at LLM latency L.</summary>
public sealed class E2eScenario : ILoadScenario
{
    public string Name => "e2e";

    public string Description =>
        "One session of 10 turns, then N concurrent users × T turns (default 100 × 5, each user its own session) at LLM latency L (default 1.5 s): requests, success rate, avg, p95, TPS, error rate, CPU, peak RSS.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? 100;
        var turns = run.Options.Turns ?? 5;
        run.UseLatency(run.Options.Latency, report);
        var latency = run.LlmLatency;
        var world = await run.CreateWorldAsync("e2e", ct);

        var single = (await run.CreateSessionsAsync(world, 1, "e2e-single", ct))[0];
        var one = await run.RunPhaseAsync(report, "1 session × 10 turns", new ConstantConcurrency(1, run.Options.Duration, 10),
            (u, steps) => run.SendTurnAsync(steps, "turn", single, u.Iteration, u.Cancellation), ct);

        // Sessions are made before the clock starts so TPS measures turns, not session creation.
        var sessions = await run.CreateSessionsAsync(world, users, "e2e", ct);
        var many = await run.RunPhaseAsync(report, $"{users} users × {turns} turns", new ConstantConcurrency(users, run.Options.Duration, turns),
            (u, steps) => run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation), ct);

        var at15 = Math.Abs(latency.TotalMilliseconds - 1500) < 1;
        var tpsTarget = (users, at15) switch
        {
            (100, true) => SeedFigures.TargetTps100Users,
            (1000, true) => SeedFigures.TargetTps1000Sessions,
            _ => double.NaN,
        };
        var p95Limit = latency.TotalMilliseconds + SeedFigures.TargetP95OverLatencyMs;
        var a = one.Step("turn");
        var b = many.Step("turn");

        IReadOnlyList<string> Row(string metric, Func<PhaseResult, StepSummary?, string> value, string seed, string target) =>
            new[] { metric, value(one, a), value(many, b), seed, target };

        report.Tables.Add(new ReportTable($"End to end (LLM latency {Durations.Format(latency)})",
            ["metric", "1 session × 10 turns", $"{users} users × {turns} turns", "seed", "target"],
            [
                Row("requests", (_, s) => Cells.OrNa(s, x => Cells.Count(x.Count)), "–", "–"),
                Row("success rate", (_, s) => Cells.OrNa(s, x => Cells.Percent(1 - x.ErrorRate)), "–", "100 %"),
                Row("avg", (_, s) => Cells.OrNa(s, x => Cells.Ms(x.MeanMs)), "–", "–"),
                Row("p95", (_, s) => Cells.OrNa(s, x => Cells.Ms(x.P95Ms)), "–", $"≤ L + {SeedFigures.TargetP95OverLatencyMs} ms"),
                Row("TPS", (_, s) => Cells.OrNa(s, x => Cells.Rate(x.OkPerSecond)), $"{SeedFigures.SeedTpsAtOnePointFiveSeconds} (L = 1.5 s)",
                    double.IsNaN(tpsTarget) ? "–" : $"≥ {tpsTarget}"),
                Row("error rate", (_, s) => Cells.OrNa(s, x => Cells.Percent(x.ErrorRate)), "–", "0 %"),
                Row("errors", (_, s) => Cells.OrNa(s, x => Cells.Errors(x.Errors)), "–", "–"),
                Row("target CPU", (p, _) => Cells.CpuPercent(p.Report.Target?.CpuPercent ?? double.NaN), "–", "–"),
                Row("target peak RSS", (p, _) => Cells.Mb(p.Report.Target?.PeakRssMb ?? double.NaN), "–", $"≤ {SeedFigures.TargetGatewayRssMb} MB"),
                Row("runner CPU", (p, _) => Cells.CpuPercent(p.Report.Runner?.CpuPercent ?? double.NaN), "–", "–"),
            ]));

        var strict = run.Options.Strict;
        if (!double.IsNaN(tpsTarget))
            report.Checks.Add(CheckResult.AtLeast($"TPS, {users} users × {turns} turns at L = 1.5 s", b?.OkPerSecond ?? double.NaN, tpsTarget, Cells.Rate, strict));
        else
            report.Checks.Add(CheckResult.NotApplicable("TPS target", "≥ 65 (100 users) / ≥ 600 (1,000 sessions) at L = 1.5 s",
                $"ran {users} users at L = {Durations.Format(latency)}"));
        report.Checks.Add(CheckResult.AtMost($"turn p95 ≤ L + {SeedFigures.TargetP95OverLatencyMs} ms ({users} users)", b?.P95Ms ?? double.NaN, p95Limit, Cells.Ms, strict));
        report.Checks.Add(CheckResult.AtMost("failed turns", (a?.Fail ?? 0) + (b?.Fail ?? 0), 0, v => Cells.Count((long)v), strict));
        report.Checks.Add(CheckResult.AtMost("gateway peak RSS", many.Report.Target?.PeakRssMb ?? double.NaN, SeedFigures.TargetGatewayRssMb, Cells.Mb, strict));
    }
}
