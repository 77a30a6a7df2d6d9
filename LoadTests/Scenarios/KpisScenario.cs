using System.Globalization;
using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The seed's KPI list under a representative load (default 100 users × 5 turns at L = 1.5 s, each user its own
/// session): every KPI beside its seed target with pass/miss. Client-side figures come from the runner's steps,
/// engine figures from the difference of the target's /metrics before and after the phase (the same series the
/// alerts and the dashboard read), disk from the storage layer's counters, from /proc/&lt;pid&gt;/io and, with
/// <c>--pg</c>, from PostgreSQL's own statistics.
/// </summary>
public sealed class KpisScenario : ILoadScenario
{
    private const int DefaultUsers = 100;
    private const int DefaultTurns = 5;

    /// <summary>A representative narration: about 150 words plus the memory block (the fake's default is a short 48).</summary>
    public const int NarrativeWords = 150;

    public string Name => "kpis";

    public string Description =>
        $"The seed's KPIs under a representative load ({DefaultUsers} users × {DefaultTurns} turns at L, ~{NarrativeWords}-word narrations): turn and LLM latency, memory retrieval, TPS, "
        + "concurrent sessions, CPU, RSS, storage IOPS (storage layer; PostgreSQL statistics with --pg), cost per turn, token efficiency — each beside its seed target.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? DefaultUsers;
        var turns = run.Options.Turns ?? DefaultTurns;
        run.UseLatency(run.Options.Latency, report);
        var restore = run.Fake?.Behaviour;
        if (run.Fake is { } fake) fake.Behaviour = fake.Behaviour with { CompletionTokens = NarrativeWords, Chunks = 16 };
        try
        {
            var world = await run.CreateWorldAsync(Name, ct);
            var sessions = await run.CreateSessionsAsync(world, users, Name, ct);
            var pids = run.TargetSampler?.Processes.Select(p => p.Pid).ToArray() ?? [];

            var before = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            var ioBefore = ProcIo.Sum(pids);
            var pgBefore = await PostgresStats.ReadAsync(run.Options.PostgresConnection, ct);
            var phase = await run.RunPhaseAsync(report, $"{users:N0} users × {turns} turns", new ConstantConcurrency(users, run.Options.Duration, turns),
                (u, steps) => run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation), ct);
            var after = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
            var io = ProcIo.Sum(pids) is { } ioAfter && ioBefore is not null ? ioAfter with { ReadBytes = ioAfter.ReadBytes - ioBefore.ReadBytes, WriteBytes = ioAfter.WriteBytes - ioBefore.WriteBytes } : null;
            var pg = PostgresStats.Delta(pgBefore, await PostgresStats.ReadAsync(run.Options.PostgresConnection, ct));

            Tabulate(run, report, phase, before, after, io, pg, users);
        }
        finally
        {
            if (run.Fake is { } f && restore is not null) f.Behaviour = restore;
        }
    }

    private static void Tabulate(ScenarioRun run, ScenarioReport report, PhaseResult phase, MetricsSnapshot before, MetricsSnapshot after,
        ProcIo? io, PostgresStats? pg, int users)
    {
        var turn = phase.Step("turn");
        var seconds = phase.Report.ElapsedSeconds;
        var turnsOk = turn?.Ok ?? 0;
        const string stage = "loom_turn_stage_duration_seconds";
        double StageP95Ms(string name) => MetricsSnapshot.Quantile(before, after, stage, 0.95, $"stage=\"{name}\"") * 1000;
        double StageMeanMs(string name) => MetricsSnapshot.Mean(before, after, stage, $"stage=\"{name}\"") * 1000;

        var ops = MetricsSnapshot.Delta(before, after, "loom_storage_operations_total");
        var bytes = MetricsSnapshot.Delta(before, after, "loom_storage_bytes_written_total");
        var iops = after.Has("loom_storage_operations_total") ? ops / seconds : double.NaN;
        var costPerTurn = MetricsSnapshot.Mean(before, after, "loom_turn_cost_usd");
        var efficiency = MetricsSnapshot.Mean(before, after, "loom_token_efficiency");
        var llmP95 = StageP95Ms("llm_total");
        var recallP95 = StageP95Ms("memory_recall");
        var cpuOfMachine = phase.Report.Target?.MachineCpuPercent ?? double.NaN;
        var peakRss = phase.Report.Target?.PeakRssMb ?? double.NaN;
        var sessionsAtOnce = turn is { Fail: 0 } ? phase.Run.PeakConcurrency : double.NaN;

        string PerTurn(double total, Func<double, string> format) => turnsOk > 0 ? format(total / turnsOk) : "n/a";
        string Usd(double v) => double.IsNaN(v) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"${v:0.#####}");
        string Ratio(double v) => double.IsNaN(v) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{v:0.00}");
        string Iops(double v) => double.IsNaN(v) ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{v:0.0}/s");
        string Count(double v) => double.IsNaN(v) ? "n/a" : Cells.Count((long)v);
        string Verdict(CheckResult c) => c.Verdict;

        var strict = run.Options.Strict;
        var checks = new List<(string Kpi, string Source, CheckResult Check)>
        {
            ("turn latency p95", "runner (HTTP, wait=true)", CheckResult.AtMost("KPI turn latency p95", turn?.P95Ms ?? double.NaN, SeedKpis.TurnLatencyP95Ms, Cells.Ms, strict, unit: "ms")),
            ("LLM latency p95", "loom_turn_stage_duration_seconds{stage=\"llm_total\"}", CheckResult.AtMost("KPI LLM latency p95", llmP95, SeedKpis.LlmLatencyP95Ms, Cells.Ms, strict, unit: "ms")),
            ("memory retrieval p95", "…{stage=\"memory_recall\"}", CheckResult.AtMost("KPI memory retrieval p95", recallP95, SeedKpis.MemoryRetrievalP95Ms, Cells.Ms, strict, unit: "ms")),
            ("throughput", "runner: completed turns ÷ phase time", CheckResult.AtLeast("KPI TPS", turn?.OkPerSecond ?? double.NaN, SeedKpis.Tps, Cells.Rate, strict, unit: "TPS")),
            ("concurrent sessions", "runner: sessions playing at once, 0 failed turns", CheckResult.AtLeast("KPI concurrent sessions", sessionsAtOnce, SeedKpis.ConcurrentSessions, Count, strict, unit: "sessions")),
            ("CPU", "/proc: LOOM processes ÷ machine cores", CheckResult.AtMost("KPI CPU (% of the machine)", cpuOfMachine, SeedKpis.CpuPercentOfMachine, Cells.CpuPercent, strict, unit: "%")),
            ("resident memory", "/proc: peak RSS, LOOM processes", CheckResult.AtMost("KPI resident memory", peakRss, SeedKpis.ResidentMemoryMb, Cells.Mb, strict, unit: "MB")),
            ("disk IO", "loom_storage_operations_total ÷ phase time", CheckResult.AtMost("KPI storage IOPS", iops, SeedKpis.StorageIops, Iops, strict, unit: "IOPS")),
            ("cost per turn", "loom_turn_cost_usd (Loom:Llm:Pricing)", CheckResult.AtMost("KPI cost per turn", costPerTurn, SeedKpis.CostPerTurnUsd, Usd, strict, unit: "USD")),
            ("token efficiency", "loom_token_efficiency", CheckResult.AtLeast("KPI token efficiency", efficiency, SeedKpis.TokenEfficiency, Ratio, strict)),
        };
        report.Checks.AddRange(checks.Select(c => c.Check));
        report.Tables.Add(new ReportTable($"KPIs ({users:N0} users, LLM latency {Durations.Format(run.LlmLatency)})",
            ["KPI", "seed target", "measured", "result", "source"],
            checks.Select(c => (IReadOnlyList<string>)[c.Kpi, c.Check.Target, c.Check.Measured, Verdict(c.Check), c.Source]).ToArray()));

        var disk = new List<IReadOnlyList<string>>
        {
            new[] { "storage operations (all kinds)", Count(ops), Iops(iops), PerTurn(ops, v => v.ToString("0.0", CultureInfo.InvariantCulture)), "loom_storage_operations_total" },
        };
        foreach (var operation in new[] { "read", "list", "write", "clear", "transaction" })
        {
            var n = MetricsSnapshot.Delta(before, after, "loom_storage_operations_total", $"operation=\"{operation}\"");
            disk.Add([$"  {operation}", Count(n), Iops(n / seconds), PerTurn(n, v => v.ToString("0.00", CultureInfo.InvariantCulture)), ""]);
        }
        disk.Add(["payload bytes written", Cells.DataSize((long)bytes), Cells.DataSize((long)(bytes / seconds)) + "/s", PerTurn(bytes, v => Cells.DataSize((long)v)), "loom_storage_bytes_written_total"]);
        if (io is not null)
            disk.Add(["process disk writes", Cells.DataSize(io.WriteBytes), Cells.DataSize((long)(io.WriteBytes / seconds)) + "/s", PerTurn(io.WriteBytes, v => Cells.DataSize((long)v)), "/proc/<pid>/io write_bytes (SQLite file, WAL, logs)"]);
        if (pg is not null)
        {
            disk.Add(["PostgreSQL transactions", Count(pg.Transactions), Iops(pg.Transactions / seconds), PerTurn(pg.Transactions, v => v.ToString("0.00", CultureInfo.InvariantCulture)), "pg_stat_database xact_commit + xact_rollback"]);
            disk.Add(["PostgreSQL blocks read", Count(pg.BlocksRead), Iops(pg.BlocksRead / seconds), PerTurn(pg.BlocksRead, v => v.ToString("0.00", CultureInfo.InvariantCulture)), "pg_stat_database blks_read"]);
            if (pg.IoOperations is { } pgIo)
                disk.Add(["PostgreSQL I/O operations", Count(pgIo), Iops(pgIo / seconds), PerTurn(pgIo, v => v.ToString("0.00", CultureInfo.InvariantCulture)), "pg_stat_io reads + writes + extends + fsyncs"]);
            if (pg.BuffersWritten is { } written)
                disk.Add(["PostgreSQL pages written", Count(written), Iops(written / seconds), PerTurn(written, v => v.ToString("0.00", CultureInfo.InvariantCulture)), "pg_stat_bgwriter (checkpoint + clean + backend)"]);
            if (pg.WalBytes is { } wal)
                disk.Add(["PostgreSQL WAL", Cells.DataSize(wal), Cells.DataSize((long)(wal / seconds)) + "/s", PerTurn(wal, v => Cells.DataSize((long)v)), "pg_stat_wal wal_bytes"]);
        }
        report.Tables.Add(new ReportTable("Disk IO during the phase", ["what", "total", "per second", "per turn", "source"], disk));

        report.Tables.Add(new ReportTable("Turn stages (mean / p95, from /metrics)", ["stage", "mean", "p95"],
            new[] { "accept", "queue_wait", "memory_recall", "prompt_assembly", "llm_first_token", "llm_total", "memory_apply", "commit" }
                .Select(s => (IReadOnlyList<string>)[s, Cells.Ms(StageMeanMs(s)), Cells.Ms(StageP95Ms(s))]).ToArray()));

        report.Notes.Add("CPU is of the whole machine (the seed's < 70 %); the runner shares the machine and its own CPU is in the phase table. "
            + "Token efficiency: narrative tokens kept ÷ completion tokens billed (docs/observability.md); the fake appends a memory block to every answer and reports o200k token counts.");
        if (run.Fake is not null)
            report.Notes.Add("Cost per turn uses the fake's price for its OpenAI shape (priced like gpt-3.5-turbo: $0.50 / $1.50 per million input / output tokens); set Loom:Llm:Pricing for your model.");
        if (run.Options.PostgresConnection is null)
            report.Notes.Add("Storage IOPS here are the storage layer's own operations (SQLite has no statistics views); with --pg the PostgreSQL figures are added.");
    }
}
