using System.Diagnostics;
using Loom.LoadTests.Client;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The seed's 10-turn workflow table: one session of 10 sequential turns on a fresh gateway per configuration —
/// basic, optimised, production — with total time, mean turn time, peak memory and disk written. Each configuration
/// is its own embedded gateway (same build, same fake LLM, its own database), so their figures do not mix.
/// </summary>
public sealed class WorkflowScenario : ILoadScenario
{
    private const int DefaultTurns = 10;

    /// <summary>A configuration: its name, what it is, and the gateway environment that makes it (null: needs --pg).</summary>
    public sealed record Configuration(string Name, string What, Func<string?, IReadOnlyDictionary<string, string>?> Environment);

    public static IReadOnlyList<Configuration> Configurations { get; } =
    [
        new("basic", "SQLite, one transaction per commit, 4 KiB pages (the storage defaults before issue 11)", _ => new Dictionary<string, string>
        {
            ["Loom__Storage__GroupCommit"] = "false",
            ["Loom__Storage__SqlitePageSize"] = "4096",
        }),
        new("optimised", "SQLite, group commit, 1 KiB pages (today's embedded defaults)", _ => new Dictionary<string, string>()),
        new("production", "PostgreSQL (--pg, migrated), group commit, pool of 20", pg => pg is null ? null : new Dictionary<string, string>
        {
            ["Loom__Storage__Provider"] = "postgres",
            ["Loom__Storage__ConnectionString"] = pg,
        }),
    ];

    public string Name => "workflow";

    public string Description =>
        $"The 10-turn workflow: one session × {DefaultTurns} sequential turns at L on a fresh gateway per configuration (basic, optimised, production = PostgreSQL with --pg): "
        + "total time, mean turn, peak RSS, disk written (process, database, payload).";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var turns = run.Options.Turns ?? DefaultTurns;
        run.UseLatency(run.Options.Latency, report);
        var restore = run.Fake?.Behaviour;
        if (run.Fake is { } fake) fake.Behaviour = fake.Behaviour with { CompletionTokens = KpisScenario.NarrativeWords, Chunks = 16 };
        var rows = new List<IReadOnlyList<string>>();
        try
        {
            foreach (var configuration in Configurations)
            {
                if (run.StartGateway is null)
                {
                    rows.Add([configuration.Name, configuration.What, "n/a (needs the embedded target)", "", "", "", "", "", ""]);
                    continue;
                }
                if (configuration.Environment(run.Options.PostgresConnection) is not { } environment)
                {
                    rows.Add([configuration.Name, configuration.What, "n/a (needs --pg)", "", "", "", "", "", ""]);
                    continue;
                }
                rows.Add(await PlayAsync(run, configuration, environment, turns, ct));
            }
        }
        finally
        {
            if (run.Fake is { } f && restore is not null) f.Behaviour = restore;
        }
        report.Tables.Add(new ReportTable($"10-turn workflow (1 session × {turns} turns, LLM latency {Core.Durations.Format(run.LlmLatency)})",
            ["configuration", "what", "total time", "mean turn", "turns ok", "peak RSS", "process disk writes", "database written", "payload bytes (storage layer)"],
            rows));
        if (run.StartGateway is null)
            report.Notes.Add("workflow starts one gateway per configuration: it needs the embedded target (not --target or --cluster-dir).");
        report.Notes.Add("Process disk writes: /proc/<pid>/io write_bytes of the gateway (for SQLite: its database, WAL and log); database written: "
            + "growth of the SQLite files, or PostgreSQL's WAL bytes + pages written (pg_stat_wal, pg_stat_bgwriter; the whole server); payload: loom_storage_bytes_written_total.");
    }

    private static async Task<IReadOnlyList<string>> PlayAsync(ScenarioRun run, Configuration configuration, IReadOnlyDictionary<string, string> environment, int turns, CancellationToken ct)
    {
        await using var gateway = await run.StartGateway!($"workflow-{configuration.Name}", environment, ct);
        var pid = gateway.Processes[0].Pid;
        using var client = new LoomClient(gateway.BaseAddress, run.Options.ApiKey);
        var metrics = new TargetMetrics(client, []);
        var worldId = $"lt-workflow-{configuration.Name}-{run.RunTag}";
        await client.PutWorldAsync(worldId, CanonSamples.SmallWorld(), ct);
        var session = (await client.CreateSessionAsync(worldId, "workflow", ct)).SessionId;
        var dataDir = gateway.WorkDirectory;

        await using var sampler = new ProcessSampler(pid, configuration.Name, TimeSpan.FromMilliseconds(250));
        var window = sampler.BeginWindow();
        var before = await MetricsSnapshot.TakeAsync(metrics, ct);
        var ioBefore = ProcIo.Read(pid);
        var filesBefore = FilesBytes(dataDir);
        var pgBefore = configuration.Name == "production" ? await PostgresStats.ReadAsync(run.Options.PostgresConnection, ct) : null;

        var clock = Stopwatch.StartNew();
        var ok = 0;
        var turnMs = new List<double>();
        for (var i = 0; i < turns; i++)
        {
            var one = Stopwatch.StartNew();
            try
            {
                await client.SendTurnAsync(session, ScenarioRun.TurnInput(i), Guid.NewGuid().ToString("N"), 120, ct);
                ok++;
                turnMs.Add(one.Elapsed.TotalMilliseconds);
            }
            catch (Exception e) when (e is LoomApiException or TurnNotCompletedException or HttpRequestException) { }
        }
        var total = clock.Elapsed;
        // The last commit is durable before the turn is answered; give write-back accounting a moment to land.
        await Task.Delay(TimeSpan.FromMilliseconds(500), ct);
        var usage = window.End();
        var after = await MetricsSnapshot.TakeAsync(metrics, ct);
        var ioAfter = ProcIo.Read(pid);
        var pg = PostgresStats.Delta(pgBefore, configuration.Name == "production" ? await PostgresStats.ReadAsync(run.Options.PostgresConnection, ct) : null);

        var processWrites = ioBefore is not null && ioAfter is not null ? Cells.DataSize(ioAfter.WriteBytes - ioBefore.WriteBytes) : "n/a";
        var database = pg is not null
            ? $"WAL {Cells.DataSize(pg.WalBytes ?? 0)} + {Cells.Count(pg.BuffersWritten ?? 0)} pages"
            : Cells.DataSize(FilesBytes(dataDir) - filesBefore) + " (file growth)";
        return
        [
            configuration.Name, configuration.What, Cells.Seconds(total.TotalSeconds),
            turnMs.Count > 0 ? Cells.Ms(turnMs.Average()) : "n/a", $"{ok}/{turns}",
            Cells.Mb(usage?.Total.PeakRssMb ?? double.NaN), processWrites, database,
            Cells.DataSize((long)MetricsSnapshot.Delta(before, after, "loom_storage_bytes_written_total")),
        ];
    }

    /// <summary>Bytes of the SQLite files (database, WAL, shared memory) in the gateway's folder.</summary>
    private static long FilesBytes(string directory) =>
        Directory.Exists(directory)
            ? Directory.EnumerateFiles(directory, "loom.db*").Sum(f => new FileInfo(f).Length)
            : 0;
}
