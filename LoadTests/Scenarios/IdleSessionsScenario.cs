using Loom.LoadTests.Core;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// Many sessions that go idle: N sessions (default 10,000) are created at an even rate over --duration (default
/// 5 minutes), each playing T turns (default 2) right away at LLM latency L. Then the runner waits, with a deadline,
/// for the target's active-session gauge (/metrics) to fall as idle sessions are collected, and reports the RSS and
/// GC heap before, after play (every session activated and idle) and after idle collection; memory per idle
/// activation is the growth from before to after play, divided by the sessions.
/// </summary>
public sealed class IdleSessionsScenario : ILoadScenario
{
    public const int DefaultSessions = 10_000;
    public const int DefaultTurns = 2;
    public static readonly TimeSpan DefaultDuration = TimeSpan.FromMinutes(5);
    public static readonly TimeSpan DefaultIdleTimeout = TimeSpan.FromMinutes(30);

    public string Name => "idle-sessions";

    public string Description =>
        $"N sessions (default {DefaultSessions:N0}) created evenly over --duration (default 5 m), each playing --turns (default {DefaultTurns}) at L; "
        + "then waits (--idle-timeout, default 30 m) for the active-session gauge to fall: errors, RSS and GC heap before / after play / after idle collection, memory per idle activation.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var sessions = run.Options.Users ?? DefaultSessions;
        var turns = run.Options.Turns ?? DefaultTurns;
        var duration = run.Options.Duration ?? DefaultDuration;
        var idleTimeout = run.Options.IdleTimeout ?? DefaultIdleTimeout;
        run.UseLatency(run.Options.Latency, report);
        var latency = run.LlmLatency;
        var world = await run.CreateWorldAsync("idle", ct);

        var before = await ReadMemoryAsync(run, ct);
        var play = await run.RunPhaseAsync(report, $"{sessions:N0} sessions × {turns} turns", Simulation(sessions, duration), async (u, steps) =>
        {
            var created = await steps.RunAsync("create", c => run.Client.CreateSessionAsync(world, $"idle-{u.Iteration}", c), u.Cancellation);
            if (!created.IsOk) return;
            for (var t = 0; t < turns; t++)
            {
                var turn = await run.SendTurnAsync(steps, "turn", created.Value!.SessionId, t, u.Cancellation);
                if (!turn.IsOk) return; // a session whose turn failed stops: later turns would only repeat the error
            }
        }, ct, duration + TimeSpan.FromMinutes(5));
        var afterPlay = await ReadMemoryAsync(run, ct);

        // Collected means back to where the gauge stood before play, give or take 1 % of the sessions.
        var threshold = (before.ActiveSessions ?? 0) + Math.Max(1, sessions / 100);
        run.Console.WriteLine($"Waiting up to {Durations.Format(idleTimeout)} for idle collection (active sessions ≤ {threshold:N0}) ...");
        var wait = await GaugeWait.UntilAtMostAsync(c => run.Metrics.ReadSumAsync(TargetMetrics.SessionsActive, c), threshold, idleTimeout,
            TimeSpan.FromSeconds(5), ct, v => run.Console.WriteLine($"[{Name}/idle] active sessions {v:N0}, target RSS {Cells.Mb(run.TargetSampler?.ReadRssMbNow() ?? double.NaN)}"));
        var afterIdle = await ReadMemoryAsync(run, ct);
        // The silo gives the collected sessions' memory back on its next quiet check (Loom:Cluster:IdleTrimDeactivations,
        // every 30 s); the memory is read again once two checks have passed. Fewer sessions than the trim's default
        // threshold would not start one, so small runs do not wait for it.
        MemoryReading? settled = null;
        if (wait.Reached && sessions >= SettleMinSessions)
        {
            run.Console.WriteLine($"[{Name}/idle] reading memory again in {Durations.Format(SettleAfterIdle)} (the silo's idle trim) ...");
            await Task.Delay(SettleAfterIdle, ct);
            settled = await ReadMemoryAsync(run, ct);
        }

        var created = play.Step("create");
        var turn = play.Step("turn");
        var rssPerSession = PerSession(before.RssMb, afterPlay.RssMb, sessions, 1024 * 1024);
        var heapPerSession = PerSession((before.GcHeapBytes ?? double.NaN) / (1024.0 * 1024), (afterPlay.GcHeapBytes ?? double.NaN) / (1024.0 * 1024), sessions, 1024 * 1024);
        string Kb(double bytes) => double.IsNaN(bytes) ? "n/a" : $"{bytes / 1024:0.0} KB";
        string Active(double? v) => v is { } x ? Cells.Count((long)x) : "n/a";
        string Heap(double? bytes) => bytes is { } b ? Cells.Mb(b / (1024 * 1024)) : "n/a";
        string Later(Func<MemoryReading, string> cell) => settled is { } reading ? cell(reading) : "–"; // not read: a small run

        report.Tables.Add(new ReportTable($"Idle sessions ({sessions:N0} sessions × {turns} turns over {Durations.Format(duration)}, L = {Durations.Format(latency)})",
            ["metric", "before", "after play (idle, activated)", "after idle collection", $"{Durations.Format(SettleAfterIdle)} later", "target"],
            [
                ["active sessions (gauge)", Active(before.ActiveSessions), Active(afterPlay.ActiveSessions), Active(afterIdle.ActiveSessions), Later(r => Active(r.ActiveSessions)), "–"],
                ["target RSS", Cells.Mb(before.RssMb), Cells.Mb(afterPlay.RssMb), Cells.Mb(afterIdle.RssMb), Later(r => Cells.Mb(r.RssMb)), $"≤ {Cells.Mb(Targets.IdleRssAfterCollectionMb)} after collection"],
                ["GC heap (after last GC)", Heap(before.GcHeapBytes), Heap(afterPlay.GcHeapBytes), Heap(afterIdle.GcHeapBytes), Later(r => Heap(r.GcHeapBytes)), "–"],
                ["memory per idle activation (RSS)", "–", Kb(rssPerSession), "–", "–", "measured"],
                ["memory per idle activation (GC heap)", "–", Kb(heapPerSession), "–", "–", "measured"],
                ["sessions created ok / failed", "–", Cells.OrNa(created, x => $"{Cells.Count(x.Ok)} / {Cells.Count(x.Fail)}"), "–", "–", "0 failed"],
                ["turns ok / failed", "–", Cells.OrNa(turn, x => $"{Cells.Count(x.Ok)} / {Cells.Count(x.Fail)}"), "–", "–", "0 failed"],
                ["turn p95", "–", Cells.OrNa(turn, x => Cells.Ms(x.P95Ms)), "–", "–", "–"],
                ["idle collection", "–", "–", wait.Reached ? $"after {Durations.Format(wait.Waited)}" : wait.LastValue is null ? "gauge not readable" : $"not within {Durations.Format(idleTimeout)}", "–", "–"],
            ]));

        var strict = run.Options.Strict;
        var failures = play.Report.Steps.Sum(s => s.Fail);
        report.Checks.Add(CheckResult.AtMost($"failed calls ({sessions:N0} sessions)", failures, 0, v => Cells.Count((long)v), strict, 0));
        report.Checks.Add(wait.Reached
            ? CheckResult.AtMost("target RSS after idle collection", afterIdle.RssMb, Targets.IdleRssAfterCollectionMb, Cells.Mb, strict, unit: "MB")
            : CheckResult.NotApplicable("target RSS after idle collection", $"≤ {Cells.Mb(Targets.IdleRssAfterCollectionMb)}",
                wait.LastValue is null ? "active-session gauge not readable from /metrics" : $"not collected within {Durations.Format(idleTimeout)} ({Active(wait.LastValue)} still active; RSS {Cells.Mb(afterIdle.RssMb)})"));
        report.Checks.Add(new CheckResult("memory per idle activation (RSS)", "measured", Kb(rssPerSession),
            double.IsNaN(rssPerSession) ? CheckStatus.NotAvailable : CheckStatus.Pass, false));
        if (play.Run.IterationsDropped > 0)
            report.Notes.Add($"{play.Run.IterationsDropped:N0} sessions were not started: the runner's in-flight cap was reached.");
        report.Notes.Add("Memory per idle activation = (after play − before) ÷ sessions, for RSS (what the OS sees) and for the GC heap after its last collection (what the sessions hold). "
                         + "Collection is the silo's own idle deactivation (its collection age); the runner only waits for it, polling loom_sessions_active on every watched process's /metrics.");
    }

    /// <summary>
    /// Exactly <paramref name="sessions"/> session starts spread evenly over <paramref name="duration"/>; nothing is
    /// dropped (every session may be in flight at once), and the phase's hard limit bounds a target that falls behind.
    /// </summary>
    /// <summary>How long after idle collection the memory is read again: two of the silo's idle-trim checks.</summary>
    public static readonly TimeSpan SettleAfterIdle = TimeSpan.FromSeconds(65);

    /// <summary>The silo's default Loom:Cluster:IdleTrimDeactivations: below it no trim is due, and memory is read once.</summary>
    public const int SettleMinSessions = 1000;

    public static InjectionRate Simulation(int sessions, TimeSpan duration) =>
        new(sessions / Math.Max(duration.TotalSeconds, 0.001), duration, sessions);

    private sealed record MemoryReading(double RssMb, double? GcHeapBytes, double? ActiveSessions);

    private static async Task<MemoryReading> ReadMemoryAsync(ScenarioRun run, CancellationToken ct) => new(
        run.TargetSampler?.ReadRssMbNow() ?? double.NaN,
        await run.Metrics.ReadSumAsync(TargetMetrics.GcHeapBytes, ct),
        await run.Metrics.ReadSumAsync(TargetMetrics.SessionsActive, ct));

    /// <summary>Growth per session in bytes, from two readings in MB; NaN when either is unknown or nothing was created.</summary>
    public static double PerSession(double beforeMb, double afterMb, int sessions, double bytesPerMb) =>
        double.IsNaN(beforeMb) || double.IsNaN(afterMb) || sessions <= 0 ? double.NaN : (afterMb - beforeMb) * bytesPerMb / sessions;
}
