using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>What an end-to-end scenario promises at L = 1.5 s with its default number of users.</summary>
public sealed record E2eTargets(int Users, double Tps, double P95OverLatencyMs, double PeakRssMb);

/// <summary>
/// End to end over HTTP: N users (each its own session, created before the clock starts) × T turns at LLM latency L.
/// The <c>e2e</c> scenario (100 × 5, after one session of 10 turns) and <c>e2e-1000</c> (1,000 × 5) share this class.
/// Bounds: a session plays its turns one after another, so N users can do at most N / L turns per second, and no
/// turn can be faster than L.
/// </summary>
public sealed class E2eScenario(string name, E2eTargets targets, bool singleSessionFirst) : ILoadScenario
{
    private const int DefaultTurns = 5;

    public string Name => name;

    public string Description =>
        (singleSessionFirst ? "One session of 10 turns, then " : "")
        + $"N concurrent users × T turns (default {targets.Users:N0} × {DefaultTurns}, each user its own session) at LLM latency L (default 1.5 s): "
        + "requests, success rate, avg, p95, TPS, error rate, CPU, peak RSS, each beside its bound (N / L, p95 = L) and target.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? targets.Users;
        var turns = run.Options.Turns ?? DefaultTurns;
        run.UseLatency(run.Options.Latency, report);
        var latency = run.LlmLatency;
        var world = await run.CreateWorldAsync(name, ct);
        // Warm-up at the measured concurrency, as NBomber's does: with 100 warm-up users a 1,000-user phase opened 900
        // client connections to the gateway and 900 from the gateway to the model inside its first measured wave
        // (docs/performance.md, session 22).
        await run.WarmUpTurnsAsync(report, world, users, ct);

        PhaseResult? one = null;
        var m0 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
        if (singleSessionFirst)
        {
            var single = (await run.CreateSessionsAsync(world, 1, $"{name}-single", ct))[0];
            one = await run.RunPhaseAsync(report, "1 session × 10 turns", new ConstantConcurrency(1, run.Options.Duration, 10),
                (u, steps) => run.SendTurnAsync(steps, "turn", single, u.Iteration, u.Cancellation), ct);
        }
        var m1 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);

        // Sessions are made before the clock starts so TPS measures turns, not session creation.
        var sessions = await run.CreateSessionsAsync(world, users, name, ct);
        var m2 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
        var lateness = run.Fake?.StartLatenessWindow();
        using var split = run.Fake is { } fake ? new TurnTimeSplit(fake) : null;
        var many = await run.RunPhaseAsync(report, $"{users:N0} users × {turns} turns", new ConstantConcurrency(users, run.Options.Duration, turns),
            async (u, steps) =>
            {
                // Unique per turn, so the split can find the turn's model request.
                var input = $"{ScenarioRun.TurnInput(u.Iteration)} [player {u.UserIndex + 1}]";
                var sent = System.Diagnostics.Stopwatch.GetTimestamp();
                var outcome = await run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], input, u.Cancellation);
                if (outcome.Status == StepStatus.Ok)
                    split?.Record(input, sent, System.Diagnostics.Stopwatch.GetTimestamp(), u.UserIndex + 1, (int)u.Iteration + 1);
            }, ct);
        split?.Dispose();
        var m3 = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
        if (StageBudget.Table(m0, m1, m2, m3, $"{users:N0} users", singleSessionFirst ? "1 session" : "no light phase") is { } budget)
            report.Tables.Add(budget);

        var applies = users == targets.Users && Math.Abs(latency.TotalMilliseconds - 1500) < 1;
        var tpsBound = latency > TimeSpan.Zero ? users / latency.TotalSeconds : double.NaN;
        var p95Limit = latency.TotalMilliseconds + targets.P95OverLatencyMs;
        var a = one?.Step("turn");
        var b = many.Step("turn");
        var isSeedRow = users == 100 && turns == 5;

        var phases = new List<(string Title, PhaseResult Phase, StepSummary? Turn)>();
        if (one is not null) phases.Add(("1 session × 10 turns", one, a));
        phases.Add(($"{users:N0} users × {turns} turns", many, b));

        IReadOnlyList<string> Row(string metric, Func<PhaseResult, StepSummary?, string> value, string bound, string target, string seed, string python) =>
            [metric, .. phases.Select(p => value(p.Phase, p.Turn)), bound, target, seed, python];

        report.Tables.Add(new ReportTable($"End to end (LLM latency {Durations.Format(latency)})",
            ["metric", .. phases.Select(p => p.Title), $"bound ({users:N0} users)", "target", SeedFigures.Label, PythonLoomFigures.Label],
            [
                Row("requests", (_, s) => Cells.OrNa(s, x => Cells.Count(x.Count)), "–", "–", "–", "–"),
                Row("success rate", (_, s) => Cells.OrNa(s, x => Cells.Percent(1 - x.ErrorRate)), "100 %", "100 %", isSeedRow ? Cells.Percent(1 - SeedFigures.ErrorRateAt100Users) : "–", "–"),
                Row("avg", (_, s) => Cells.OrNa(s, x => Cells.Ms(x.MeanMs)), Cells.Ms(latency.TotalMilliseconds), "–", "–", "–"),
                Row("p95", (_, s) => Cells.OrNa(s, x => Cells.Ms(x.P95Ms)), Cells.Ms(latency.TotalMilliseconds), $"≤ L + {targets.P95OverLatencyMs} ms",
                    isSeedRow ? Cells.Ms(SeedFigures.P95At100UsersMs) : "–", "–"),
                Row("TPS", (_, s) => Cells.OrNa(s, x => Cells.Rate(x.OkPerSecond)), Cells.Rate(tpsBound), applies ? $"≥ {targets.Tps}" : "–",
                    isSeedRow ? $"{SeedFigures.TpsAt100Users}" : "–", isSeedRow ? $"{PythonLoomFigures.TpsAt100UsersL15} (L = 1.5 s)" : "–"),
                Row("error rate", (_, s) => Cells.OrNa(s, x => Cells.Percent(x.ErrorRate)), "0 %", "0 %", isSeedRow ? Cells.Percent(SeedFigures.ErrorRateAt100Users) : "–", "–"),
                Row("errors", (_, s) => Cells.OrNa(s, x => Cells.Errors(x.Errors)), "–", "–", "–", "–"),
                Row("target CPU", (p, _) => Cells.CpuPercent(p.Report.Target?.CpuPercent ?? double.NaN), "–", "–", "–", "–"),
                Row("target peak RSS", (p, _) => Cells.Mb(p.Report.Target?.PeakRssMb ?? double.NaN), "–", $"≤ {targets.PeakRssMb} MB", "–", "–"),
                Row("runner CPU", (p, _) => Cells.CpuPercent(p.Report.Runner?.CpuPercent ?? double.NaN), "–", "–", "–", "–"),
            ]));
        var splits = split?.Splits() ?? [];
        if (TurnTimeSplit.Table(splits, $"{users:N0} users") is { } parts) report.Tables.Add(parts);
        if (TurnTimeSplit.ByTurn(splits, $"{users:N0} users") is { } waves) report.Tables.Add(waves);
        if (lateness?.Summarise(many.Run.Elapsed) is { Ok: > 0 } late)
        {
            // The fake model runs in the runner, beside the target on the same cores: its own delay is not the engine's.
            report.Notes.Add(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                $"The fake model's own lateness in the {users:N0}-user phase (its last chunk written after the due time L, {late.Ok:N0} answers): p50 {late.P50Ms:0.#} ms, p95 {late.P95Ms:0.#} ms, max {late.MaxMs:0.#} ms."));
        }

        var strict = run.Options.Strict;
        report.Checks.Add(applies
            ? CheckResult.AtLeast($"TPS, {users:N0} users × {turns} turns at L = 1.5 s", b?.OkPerSecond ?? double.NaN, targets.Tps, Cells.Rate, strict, tpsBound, "turns/s")
            : CheckResult.NotApplicable("TPS target", $"≥ {targets.Tps} with {targets.Users:N0} users at L = 1.5 s", $"ran {users:N0} users at L = {Durations.Format(latency)}"));
        report.Checks.Add(CheckResult.AtMost($"turn p95 ≤ L + {targets.P95OverLatencyMs} ms ({users:N0} users)", b?.P95Ms ?? double.NaN, p95Limit, Cells.Ms, strict,
            latency.TotalMilliseconds, "ms"));
        report.Checks.Add(CheckResult.AtMost("failed turns", (a?.Fail ?? 0) + (b?.Fail ?? 0), 0, v => Cells.Count((long)v), strict, 0));
        report.Checks.Add(CheckResult.AtMost($"target peak RSS ({users:N0} users)", many.Report.Target?.PeakRssMb ?? double.NaN, targets.PeakRssMb, Cells.Mb, strict, unit: "MB"));
    }
}
