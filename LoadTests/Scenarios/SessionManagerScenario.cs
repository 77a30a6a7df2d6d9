using System.Collections.Concurrent;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>The seed's session manager table: create, load, save (PATCH) and batch create of 10, under N concurrent users.</summary>
public sealed class SessionManagerScenario : ILoadScenario
{
    private const int IterationsPerUser = 3;

    public string Name => "session-manager";

    public string Description =>
        "Session create, load (GET), save (PATCH) and batch create of 10 with N concurrent users (default 100, 3 iterations each): avg, p95, max.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? 100;
        var world = await run.CreateWorldAsync("sessions", ct);
        var created = new ConcurrentQueue<string>();
        // Warm-up at the measured concurrency, as NBomber's does: with 10 warm-up users the first measured wave opened
        // 90 new connections (docs/performance.md, session 22).
        await run.WarmUpAsync(report, "session creates", users,
            u => run.Client.CreateSessionAsync(world, $"sm-warm-{u.UserIndex}-{u.Iteration}", u.Cancellation), ct);

        var create = await run.RunPhaseAsync(report, "create", new ConstantConcurrency(users, IterationsPerUser: IterationsPerUser), async (u, steps) =>
        {
            var r = await steps.RunAsync("create", c => run.Client.CreateSessionAsync(world, $"sm-{u.UserIndex}-{u.Iteration}", c), u.Cancellation);
            if (r.IsOk) created.Enqueue(r.Value!.SessionId);
        }, ct);

        var ids = created.ToArray();
        if (ids.Length == 0)
        {
            report.Error = "no session could be created; see the create phase's errors";
            return;
        }

        string Pick(UserContext u) => ids[(int)((u.UserIndex * IterationsPerUser + u.Iteration) % ids.Length)];

        var load = await run.RunPhaseAsync(report, "load", new ConstantConcurrency(users, IterationsPerUser: IterationsPerUser),
            (u, steps) => steps.RunAsync("load", c => run.Client.GetSessionAsync(Pick(u), c), u.Cancellation), ct);

        var save = await run.RunPhaseAsync(report, "save", new ConstantConcurrency(users, IterationsPerUser: IterationsPerUser),
            (u, steps) => steps.RunAsync("save", c => run.Client.PatchSessionAsync(Pick(u), $"renamed-{u.UserIndex}-{u.Iteration}", c), u.Cancellation), ct);

        // A batch is ten creates issued together by one user; its latency is the slowest of the ten.
        var batchUsers = Math.Max(1, users / 10);
        var batch = await run.RunPhaseAsync(report, "batch-create-10", new ConstantConcurrency(batchUsers, IterationsPerUser: IterationsPerUser),
            (u, steps) => steps.RunAsync("batch create 10", c => Task.WhenAll(Enumerable.Range(0, 10)
                .Select(i => run.Client.CreateSessionAsync(world, $"sm-batch-{u.UserIndex}-{u.Iteration}-{i}", c))), u.Cancellation), ct);

        var rows = new List<IReadOnlyList<string>>
        {
            Row("create", users, create.Step("create"), $"avg {Cells.Ms(SeedFigures.SessionCreateAvgMs)}, p95 {Cells.Ms(SeedFigures.SessionCreateP95Ms)}",
                $"p95 {Cells.Ms(PythonLoomFigures.SessionCreateP95Ms)} (100 users)", $"p95 ≤ {Cells.Ms(Targets.SessionCreateP95Ms)} (100 users)"),
            Row("load", users, load.Step("load"), SeedFigures.NotPublished, "–", "–"),
            Row("save (PATCH)", users, save.Step("save"), SeedFigures.NotPublished, "–", "–"),
            Row("batch create 10", batchUsers, batch.Step("batch create 10"), SeedFigures.NotPublished, "–", "–"),
        };
        report.Tables.Add(new ReportTable("Session manager", ["operation", "users", "count", "avg", "p95", "max", "errors", SeedFigures.Label, PythonLoomFigures.Label, "target"], rows));

        var createP95 = create.Step("create")?.P95Ms ?? double.NaN;
        report.Checks.Add(users == 100
            ? CheckResult.AtMost("session create p95 at 100 concurrent users", createP95, Targets.SessionCreateP95Ms, Cells.Ms, run.Options.Strict, unit: "ms")
            : CheckResult.NotApplicable("session create p95 at 100 concurrent users", $"≤ {Cells.Ms(Targets.SessionCreateP95Ms)}", $"ran with {users} users"));
        var failures = new[] { create, load, save, batch }.Sum(p => p.Report.Steps.Sum(s => s.Fail));
        report.Checks.Add(CheckResult.AtMost("failed session calls", failures, 0, v => Cells.Count((long)v), run.Options.Strict, 0));
    }

    private static IReadOnlyList<string> Row(string op, int users, StepSummary? s, string seed, string python, string target) =>
        new[]
        {
            op, users.ToString(), Cells.OrNa(s, x => Cells.Count(x.Count)), Cells.OrNa(s, x => Cells.Ms(x.MeanMs)), Cells.OrNa(s, x => Cells.Ms(x.P95Ms)),
            Cells.OrNa(s, x => Cells.Ms(x.MaxMs)), Cells.OrNa(s, x => Cells.Errors(x.Errors)), seed, python, target,
        };
}
