using System.Globalization;
using System.Text;
using Loom.LoadTests.Client;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The seed's rules table: canon of 1 KB to 1 MB through POST /api/canon/validate and PUT world, with target RSS;
/// then its rule-complexity table for a narrative-blind engine: per size, turns on that canon (prompt assembly time
/// from the target's /metrics, prompt tokens as the model counts them) and the memory the target holds per canon
/// version it has loaded.
/// </summary>
public sealed class RulesScenario : ILoadScenario
{
    private static readonly (int Bytes, int Iterations)[] Sizes = [(1024, 10), (10 * 1024, 10), (100 * 1024, 5), (1024 * 1024, 3)];

    /// <summary>Turns played on each canon size, and extra versions published to see the memory each one holds.</summary>
    private const int ComplexityTurns = 3;
    private const int ExtraVersions = 3;

    public string Name => "rules";

    public string Description =>
        "Canon files of 1 KB, 10 KB, 100 KB and 1 MB: POST /api/canon/validate and PUT /api/worlds/{id} (one user, sequential), with the target's RSS.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var rows = new List<IReadOnlyList<string>>();
        var complexity = new List<IReadOnlyList<string>>();
        foreach (var (bytes, defaultIterations) in Sizes)
        {
            var files = CanonSamples.OfSize(bytes);
            var actual = files.Values.Sum(Encoding.UTF8.GetByteCount);
            var label = Cells.Bytes(bytes);
            var worldId = $"lt-rules-{bytes / 1024}k-{run.RunTag}";
            var phase = await run.RunPhaseAsync(report, label, new ConstantConcurrency(1, IterationsPerUser: run.Options.Turns ?? defaultIterations), async (u, steps) =>
            {
                await steps.RunAsync("validate", async c =>
                {
                    var v = await run.Client.ValidateCanonAsync(files, c);
                    return v.Valid ? v : throw new UnexpectedAnswerException("sample canon judged invalid", "the validator rejected the generated canon");
                }, u.Cancellation);
                await steps.RunAsync("put world", c => run.Client.PutWorldAsync(worldId, files, c), u.Cancellation);
            }, ct);

            var v = phase.Step("validate");
            var p = phase.Step("put world");
            var target = phase.Report.Target;
            rows.Add(new[]
            {
                label, Cells.Count(actual), Cells.OrNa(v, x => Cells.Ms(x.MeanMs)), Cells.OrNa(v, x => Cells.Ms(x.P95Ms)),
                Cells.OrNa(p, x => Cells.Ms(x.MeanMs)), Cells.OrNa(p, x => Cells.Ms(x.P95Ms)),
                Cells.Mb(target?.EndRssMb ?? double.NaN), Cells.Mb(target?.PeakRssMb ?? double.NaN),
                Cells.Errors(new[] { v, p }.Where(s => s is not null).SelectMany(s => s!.Errors).GroupBy(e => e.Key).ToDictionary(g => g.Key, g => g.Sum(e => e.Value))),
                bytes == 1024 * 1024 ? Cells.Ms(SeedFigures.Rules1MbMs) : SeedFigures.NotPublished,
            });
            complexity.Add(await ComplexityAsync(run, report, worldId, files, label, p, ct));
        }
        report.Tables.Add(new ReportTable("Rules (canon)", ["canon size", "bytes", "validate avg", "validate p95", "PUT world avg", "PUT world p95", "target RSS", "target peak RSS", "errors", SeedFigures.Label], rows));
        report.Tables.Add(new ReportTable("Rule complexity (canon size → load, interpretation, prompt, memory)",
            ["canon size", "load (PUT world avg)", "recall + prompt assembly mean", "turn mean", "prompt tokens / turn", "memory per canon version (RSS / GC heap)", SeedFigures.Label], complexity));
        report.Notes.Add($"Rule complexity: \"interpretation\" for a narrative-blind engine is prompt assembly with that canon (stages memory_recall — canon, memory, recent turns, retrieval — and prompt_assembly, summed) over {ComplexityTurns} turns after one unmeasured turn, "
            + "and the prompt tokens it costs (counted with o200k by the fake). Memory per version: the target's RSS and GC heap (after its last collection) grown while "
            + $"{ExtraVersions} more versions of that size were published and each was played once, ÷ {ExtraVersions}; approximate (the GC decides when heap figures move).");
        report.Notes.Add("Each PUT of an unchanged canon may be answered without a new version; the first PUT of each size creates the world.");
    }

    private static async Task<IReadOnlyList<string>> ComplexityAsync(ScenarioRun run, ScenarioReport report, string worldId,
        IReadOnlyDictionary<string, string> files, string label, Core.StepSummary? put, CancellationToken ct)
    {
        var restore = run.Fake?.Behaviour;
        if (run.Fake is { } fake) fake.Behaviour = fake.Behaviour with { ExactPromptTokens = true };
        try
        {
            var session = (await run.Client.CreateSessionAsync(worldId, $"rules-{label}", ct)).SessionId;
            // One unmeasured turn: the session's activation and the canon's first load (timed by PUT above) stay out.
            try
            {
                await run.Client.SendTurnAsync(session, ScenarioRun.TurnInput(0), Guid.NewGuid().ToString("N"), 120, ct);
            }
            catch (TurnNotCompletedException)
            {
                // Refused for its size: the measured turns below report it.
            }
            var before = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            long promptTokens = 0;
            var ok = 0;
            var turnMs = 0.0;
            string? refused = null;
            for (var i = 0; i < ComplexityTurns; i++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                try
                {
                    var turn = await run.Client.SendTurnAsync(session, ScenarioRun.TurnInput(i), Guid.NewGuid().ToString("N"), 120, ct);
                    turnMs += clock.Elapsed.TotalMilliseconds;
                    promptTokens += turn.Usage?.PromptTokens ?? 0;
                    ok++;
                }
                catch (TurnNotCompletedException e)
                {
                    // A canon larger than the prompt budget is refused at prompt assembly, after it was loaded.
                    refused = e.Message;
                }
            }
            var after = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            // Canon and memory loads are timed as memory_recall, the prompt's construction as prompt_assembly.
            var assembly = (MetricsSnapshot.Mean(before, after, "loom_turn_stage_duration_seconds", "stage=\"memory_recall\"")
                + MetricsSnapshot.Mean(before, after, "loom_turn_stage_duration_seconds", "stage=\"prompt_assembly\"")) * 1000;

            // Memory per canon version: new versions of the same size (one changed byte each), each loaded by a turn.
            var heapBefore = await run.Metrics.ReadSumAsync(TargetMetrics.GcHeapBytes, ct);
            var rssBefore = run.TargetSampler?.ReadRssMbNow() ?? double.NaN;
            var text = files["world.md"];
            for (var v = 0; v < ExtraVersions; v++)
            {
                var marker = $"v{v}{run.RunTag}";
                var changed = text[..(text.Length - 1 - marker.Length)] + marker + "\n";
                await run.Client.PutWorldAsync(worldId, new Dictionary<string, string> { ["world.md"] = changed }, ct);
                var s = (await run.Client.CreateSessionAsync(worldId, $"rules-{label}-v{v}", ct)).SessionId;
                try
                {
                    await run.Client.SendTurnAsync(s, ScenarioRun.TurnInput(0), Guid.NewGuid().ToString("N"), 120, ct);
                }
                catch (TurnNotCompletedException)
                {
                    // Refused for its size (reported above): the version was still loaded to assemble the prompt.
                }
            }
            var heapAfter = await run.Metrics.ReadSumAsync(TargetMetrics.GcHeapBytes, ct);
            var rssAfter = run.TargetSampler?.ReadRssMbNow() ?? double.NaN;
            var rssPer = (rssAfter - rssBefore) / ExtraVersions;
            var heapPer = heapBefore is { } hb && heapAfter is { } ha ? (ha - hb) / ExtraVersions / (1024 * 1024) : double.NaN;
            if (refused is not null) report.Notes.Add($"Rule complexity at {label}: {refused}");
            return
            [
                label, Cells.OrNa(put, x => Cells.Ms(x.MeanMs)), Cells.Ms(assembly), ok > 0 ? Cells.Ms(turnMs / ok) : "n/a",
                ok > 0 ? Cells.Count(promptTokens / ok) : "refused: over Loom:Prompt:MaxPromptTokens",
                string.Create(CultureInfo.InvariantCulture, $"{rssPer:0.0} MB / {heapPer:0.0} MB"),
                label == "1 MB" ? $"load {Cells.Ms(SeedFigures.Rules1MbMs)}" : SeedFigures.NotPublished,
            ];
        }
        catch (Exception e) when (e is LoomApiException or TurnNotCompletedException or HttpRequestException)
        {
            report.Notes.Add($"Rule complexity at {label}: {e.Message}");
            return [label, "n/a", "n/a", "n/a", "n/a", "n/a", ""];
        }
        finally
        {
            if (run.Fake is { } f && restore is not null) f.Behaviour = restore;
        }
    }
}
