using System.Text;
using Loom.LoadTests.Client;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>The seed's rules table: canon of 1 KB to 1 MB through POST /api/canon/validate and PUT world, with target RSS.</summary>
public sealed class RulesScenario : ILoadScenario
{
    private static readonly (int Bytes, int Iterations)[] Sizes = [(1024, 10), (10 * 1024, 10), (100 * 1024, 5), (1024 * 1024, 3)];

    public string Name => "rules";

    public string Description =>
        "Canon files of 1 KB, 10 KB, 100 KB and 1 MB: POST /api/canon/validate and PUT /api/worlds/{id} (one user, sequential), with the target's RSS.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var rows = new List<IReadOnlyList<string>>();
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
        }
        report.Tables.Add(new ReportTable("Rules (canon)", ["canon size", "bytes", "validate avg", "validate p95", "PUT world avg", "PUT world p95", "target RSS", "target peak RSS", "errors", SeedFigures.Label], rows));
        report.Notes.Add("Each PUT of an unchanged canon may be answered without a new version; the first PUT of each size creates the world.");
    }
}
