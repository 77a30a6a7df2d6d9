using Loom.LoadTests.Client;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// A few seconds of everything, for CI: publish and validate a world, create sessions, run a few turns, read them
/// back. Its checks are gates: any failure makes the run exit non-zero.
/// </summary>
public sealed class SmokeScenario : ILoadScenario
{
    private const int Sessions = 5;
    private const int TurnUsers = 3;
    private const int TurnsEach = 3;

    public string Name => "smoke";

    public string Description =>
        "CI smoke (seconds; offline narrator by default): publish + validate a world, 5 session creates, 3 users × 3 turns, read-backs. Exits non-zero when a gate fails.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var worldId = $"lt-smoke-{run.RunTag}";
        var canon = await run.RunPhaseAsync(report, "canon", new ConstantConcurrency(1, IterationsPerUser: 1), async (u, steps) =>
        {
            await steps.RunAsync("validate", async c =>
            {
                var v = await run.Client.ValidateCanonAsync(CanonSamples.SmallWorld(), c);
                return v.Valid ? v : throw new UnexpectedAnswerException("sample canon judged invalid", "validator rejected the sample world");
            }, u.Cancellation);
            await steps.RunAsync("put world", c => run.Client.PutWorldAsync(worldId, CanonSamples.SmallWorld(), c), u.Cancellation);
        }, ct, TimeSpan.FromSeconds(60));

        var ids = new string?[Sessions];
        var create = await run.RunPhaseAsync(report, "sessions", new ConstantConcurrency(Sessions, IterationsPerUser: 1), async (u, steps) =>
        {
            var r = await steps.RunAsync("create session", c => run.Client.CreateSessionAsync(worldId, $"smoke-{u.UserIndex}", c), u.Cancellation);
            if (r.IsOk) ids[u.UserIndex] = r.Value!.SessionId;
        }, ct, TimeSpan.FromSeconds(60));

        var live = ids.Where(i => i is not null).Select(i => i!).ToArray();
        PhaseResult? turns = null, reads = null;
        if (live.Length >= TurnUsers)
        {
            turns = await run.RunPhaseAsync(report, "turns", new ConstantConcurrency(TurnUsers, IterationsPerUser: TurnsEach),
                (u, steps) => run.SendTurnAsync(steps, "turn", live[u.UserIndex], u.Iteration, u.Cancellation), ct, TimeSpan.FromMinutes(3));

            reads = await run.RunPhaseAsync(report, "reads", new ConstantConcurrency(TurnUsers, IterationsPerUser: 1), async (u, steps) =>
            {
                var session = live[u.UserIndex];
                await steps.RunAsync("get session", async c =>
                {
                    var s = await run.Client.GetSessionAsync(session, c);
                    return s.TurnCount == TurnsEach ? s : throw new UnexpectedAnswerException("wrong turnCount", $"turnCount {s.TurnCount}, expected {TurnsEach}");
                }, u.Cancellation);
                await steps.RunAsync("list turns", async c =>
                {
                    var list = await run.Client.ListTurnsAsync(session, c);
                    var completed = list.Items.Count(t => t.Status == "completed");
                    return completed == TurnsEach ? list : throw new UnexpectedAnswerException("wrong turn list", $"{completed} completed turns listed, expected {TurnsEach}");
                }, u.Cancellation);
                await steps.RunAsync("memory search", c => run.Client.SearchMemoryAsync(session, "harbour", "keyword", 5, c), u.Cancellation);
            }, ct, TimeSpan.FromSeconds(60));
        }
        else
        {
            report.Error = $"only {live.Length} of {Sessions} sessions could be created";
        }

        var turn = turns?.Step("turn");
        var failures = new[] { canon, create, turns, reads }.Where(p => p is not null).Sum(p => p!.Report.Steps.Sum(s => s.Fail));
        report.Checks.Add(CheckResult.AtMost("failed calls", failures, 0, v => Cells.Count((long)v), gate: true));
        report.Checks.Add(CheckResult.AtLeast("turns completed", turn?.Ok ?? 0, TurnUsers * TurnsEach, v => Cells.Count((long)v), gate: true));
        report.Checks.Add(CheckResult.AtMost("turn p95", turn?.P95Ms ?? double.NaN, 5000, Cells.Ms, gate: true));

        report.Tables.Add(new ReportTable("Smoke", ["step", "count", "ok", "fail", "avg", "p95", "errors"],
            new[] { canon, create, turns, reads }.Where(p => p is not null).SelectMany(p => p!.Report.Steps).Select(s => (IReadOnlyList<string>)new[]
            {
                s.Step, Cells.Count(s.Count), s.IsNotAvailable ? "n/a" : Cells.Count(s.Ok), Cells.Count(s.Fail),
                Cells.OrNa(s, x => Cells.Ms(x.MeanMs)), Cells.OrNa(s, x => Cells.Ms(x.P95Ms)), s.IsNotAvailable ? "endpoint not available" : Cells.Errors(s.Errors),
            }).ToArray()));
    }
}
