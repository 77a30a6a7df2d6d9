using Loom.LoadTests.Client;
using Loom.LoadTests.Core;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// World memory at 1 and 100 entities per session: store (PUT), get by id, keyword (full-text) and vector search.
/// Memory endpoints answering 404/405 are reported as "n/a" rather than as errors.
/// </summary>
public sealed class WorldMemoryScenario : ILoadScenario
{
    private static readonly int[] Sizes = [1, 100];

    public string Name => "world-memory";

    public string Description =>
        "Memory with 1 and 100 entities per session (N users, default 10): PUT memory, get by id, keyword (full-text) and vector search via POST memory/search.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? 10;
        var reads = run.Options.Turns ?? 20;
        var world = await run.CreateWorldAsync("memory", ct);
        var rows = new List<IReadOnlyList<string>>();
        var notAvailable = false;

        foreach (var size in Sizes)
        {
            var sessions = await run.CreateSessionsAsync(world, users, $"wm-{size}", ct);
            var stored = Enumerable.Range(0, users).Select(_ => new List<string>()).ToArray();

            var store = await run.RunPhaseAsync(report, $"store {size}", new ConstantConcurrency(users, IterationsPerUser: size), async (u, steps) =>
            {
                if (Volatile.Read(ref notAvailable)) return;
                var name = $"Harbour rule {u.Iteration + 1}";
                var r = await steps.RunAsync("put", c => run.Client.PutMemoryAsync(sessions[u.UserIndex], $"fact:harbour-rule-{u.Iteration + 1}", "fact", name,
                    $"Rule {u.Iteration + 1} of the harbour: ships moored past the tide mark pay double at dawn.", c), u.Cancellation);
                if (r.Status == StepStatus.NotAvailable) Volatile.Write(ref notAvailable, true);
                if (r.IsOk) stored[u.UserIndex].Add(r.Value!.EntityId);
            }, ct);

            if (notAvailable)
            {
                report.Notes.Add("The memory endpoints answered 404/405: world memory is not available on this target (n/a).");
                rows.Add(new[] { size.ToString(), "all", "n/a", "n/a", "n/a", "n/a", "n/a", "endpoint not available", "–" });
                break;
            }

            var read = await run.RunPhaseAsync(report, $"read {size}", new ConstantConcurrency(users, IterationsPerUser: reads), async (u, steps) =>
            {
                var mine = stored[u.UserIndex];
                var session = sessions[u.UserIndex];
                if (mine.Count > 0)
                {
                    var id = mine[(int)(u.Iteration % mine.Count)];
                    await steps.RunAsync("get by id", c => run.Client.GetMemoryAsync(session, id, c), u.Cancellation);
                }
                var query = $"harbour rule {u.Iteration % size + 1}";
                await steps.RunAsync("keyword search", c => Search(run.Client, session, query, "keyword", c), u.Cancellation);
                await steps.RunAsync("vector search", c => Search(run.Client, session, "what happens to ships past the tide mark", "vector", c), u.Cancellation);
            }, ct);

            foreach (var (label, s, seed) in new[]
                     {
                         ("put", store.Step("put"), double.NaN), ("get by id", read.Step("get by id"), SeedFigures.MemoryGetMs),
                         ("keyword search", read.Step("keyword search"), SeedFigures.MemoryFullTextMs), ("vector search", read.Step("vector search"), SeedFigures.MemoryVectorMs),
                     })
                rows.Add(new[]
                {
                    size.ToString(), label, Cells.OrNa(s, x => Cells.Count(x.Count)), Cells.OrNa(s, x => Cells.Ms(x.MeanMs)), Cells.OrNa(s, x => Cells.Ms(x.P95Ms)),
                    Cells.OrNa(s, x => Cells.Ms(x.MaxMs)), Cells.OrNa(s, x => Cells.Rate(x.Rps)), s is null ? "n/a" : Cells.OrNa(s, x => Cells.Errors(x.Errors)),
                    double.IsNaN(seed) ? SeedFigures.NotPublished : Cells.Ms(seed),
                });
        }

        report.Tables.Add(new ReportTable("World memory", ["entities per session", "operation", "count", "avg", "p95", "max", "RPS", "errors", SeedFigures.Label], rows));
        report.Notes.Add("The seed's memory figures (get 15 ms, full-text 50 ms, vector 80 ms) come from its own document, without HTTP and at an unstated size; no targets are set (–).");
    }

    /// <summary>A search must find something: every session searched holds at least one matching entity.</summary>
    private static async Task<ItemList<MemoryHit>> Search(LoomClient client, string session, string query, string mode, CancellationToken ct)
    {
        var hits = await client.SearchMemoryAsync(session, query, mode, 5, ct);
        if (hits.Items.Count == 0) throw new UnexpectedAnswerException($"{mode} search found nothing", $"{mode} search for '{query}' returned no items");
        return hits;
    }
}
