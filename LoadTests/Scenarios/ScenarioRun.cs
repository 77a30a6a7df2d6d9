using System.Globalization;
using System.Text;
using Loom.LoadTests.Cli;
using Loom.LoadTests.Client;
using Loom.LoadTests.Core;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using Loom.LoadTests.Target;

namespace Loom.LoadTests.Scenarios;

/// <summary>Everything a scenario needs: the API client, the options, the fake LLM (when ours) and the samplers.</summary>
public sealed class ScenarioRun
{
    public required LoomClient Client { get; init; }
    public required CliOptions Options { get; init; }
    public required TextWriter Console { get; init; }
    public required bool InPlaceProgress { get; init; }

    /// <summary>The fake model, when the target is our embedded gateway pointed at it; null otherwise.</summary>
    public FakeLlmServer? Fake { get; init; }

    /// <summary>The LLM of the embedded gateway; null for an existing target (whose LLM we do not know).</summary>
    public LlmMode? EmbeddedLlm { get; init; }

    /// <summary>
    /// Starts another embedded gateway (same build, same fake LLM, its own database) with extra environment, for
    /// scenarios that compare configurations; null when the target is not ours to start.
    /// </summary>
    public Func<string, IReadOnlyDictionary<string, string>, CancellationToken, Task<EmbeddedGateway>>? StartGateway { get; init; }

    public ProcessSampler? TargetSampler { get; init; }
    public ProcessSampler? SelfSampler { get; init; }

    /// <summary>The target's /metrics (gauges /proc cannot see: active sessions, GC heap).</summary>
    public required TargetMetrics Metrics { get; init; }

    /// <summary>Short id unique to this run, so world ids and session names never collide with an earlier run's.</summary>
    public string RunTag { get; init; } = DateTime.UtcNow.ToString("HHmmss", CultureInfo.InvariantCulture);

    /// <summary>The model latency in effect: the fake's, zero for the offline narrator, else as declared by --latency.</summary>
    public TimeSpan LlmLatency => Fake?.Behaviour.Latency ?? (EmbeddedLlm == LlmMode.Offline ? TimeSpan.Zero : Options.Latency);

    public bool LatencyIsControlled => Fake is not null;

    public string LlmDescription => Fake is not null
        ? $"fake OpenAI-compatible server, latency {Durations.Format(Fake.Behaviour.Latency)}, first token {Durations.Format(Fake.Behaviour.TimeToFirstToken)}"
        : EmbeddedLlm == LlmMode.Offline ? "offline narrator (chunk delay 0)" : $"the target's own LLM (declared latency {Durations.Format(Options.Latency)})";

    /// <summary>Sets the fake model's latency for the next phase (no-op, with a note, when we do not control it).</summary>
    public void UseLatency(TimeSpan latency, ScenarioReport report)
    {
        if (Fake is null)
        {
            if (latency != LlmLatency)
                report.Notes.Add($"This scenario wants LLM latency {Durations.Format(latency)}, but the runner does not control the target's LLM; figures are at {LlmDescription}.");
            return;
        }
        var ttft = Options.TimeToFirstToken is { } t ? (t > latency ? latency : t) : FakeLlmBehaviour.ForLatency(latency).TimeToFirstToken;
        Fake.Behaviour = Fake.Behaviour with { Latency = latency, TimeToFirstToken = ttft, TokensPerSecond = Options.TokensPerSecond };
    }

    /// <summary>Publishes the small sample world under a run-unique id and returns that id.</summary>
    public async Task<string> CreateWorldAsync(string purpose, CancellationToken ct)
    {
        var worldId = $"lt-{purpose}-{RunTag}".ToLowerInvariant();
        await Client.PutWorldAsync(worldId, CanonSamples.SmallWorld(), ct);
        return worldId;
    }

    /// <summary>Creates <paramref name="count"/> sessions (up to 50 at a time) as setup; failures are fatal to the scenario.</summary>
    public async Task<string[]> CreateSessionsAsync(string worldId, int count, string prefix, CancellationToken ct)
    {
        var ids = new string[count];
        using var gate = new SemaphoreSlim(50);
        await Task.WhenAll(Enumerable.Range(0, count).Select(async i =>
        {
            await gate.WaitAsync(ct);
            try { ids[i] = (await Client.CreateSessionAsync(worldId, $"{prefix}-{i}", ct)).SessionId; }
            finally { gate.Release(); }
        }));
        return ids;
    }

    /// <summary>A turn with a fresh idempotency key, waiting up to 120 s for it to complete.</summary>
    public Task<StepOutcome<TurnInfo>> SendTurnAsync(StepRecorder steps, string step, string sessionId, long n, CancellationToken ct) =>
        SendTurnAsync(steps, step, sessionId, TurnInput(n), ct);

    public Task<StepOutcome<TurnInfo>> SendTurnAsync(StepRecorder steps, string step, string sessionId, string input, CancellationToken ct) =>
        steps.RunAsync(step, c => Client.SendTurnAsync(sessionId, input, Guid.NewGuid().ToString("N"), 120, c), ct);

    /// <summary>
    /// Runs <paramref name="iteration"/> with <paramref name="users"/> concurrent users for <c>--warmup</c>, unmeasured,
    /// as NBomber's warm-up does: a fresh target JIT-compiles and tiers up its hot paths during its first seconds of load,
    /// and that one-off cost would otherwise be counted as the engine's per-turn cost. The report says it happened.
    /// </summary>
    public async Task WarmUpAsync(ScenarioReport report, string what, int users, Func<UserContext, Task> iteration, CancellationToken ct)
    {
        var duration = Options.WarmUp;
        if (duration <= TimeSpan.Zero) return;
        var runner = new LoadRunner(new LoadSimulation.ConstantConcurrency(users, duration), iteration, duration + TimeSpan.FromMinutes(3));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        LoadRunResult result;
        await using (new ProgressReporter(Console, InPlaceProgress,
            () => string.Create(CultureInfo.InvariantCulture, $"[{report.Name}/warm-up] {clock.Elapsed.TotalSeconds,5:0}s  in flight {runner.InFlight,4}  done {runner.Completed,6}")))
        {
            result = await runner.RunAsync(ct);
        }
        report.Notes.Add(string.Create(CultureInfo.InvariantCulture,
            $"Warm-up (not measured): {what}, {Users(users)}, {result.IterationsCompleted} iterations in {result.Elapsed.TotalSeconds:0.#} s (--warmup {Durations.Format(duration)})."));
    }

    /// <summary>Warm-up for turn workloads: its own sessions (so measured sessions start as the workload says) playing turns.</summary>
    public async Task WarmUpTurnsAsync(ScenarioReport report, string worldId, int users, CancellationToken ct)
    {
        if (Options.WarmUp <= TimeSpan.Zero) return;
        var sessions = await CreateSessionsAsync(worldId, users, "warm-up", ct);
        await WarmUpAsync(report, "turns on their own sessions", users,
            u => Client.SendTurnAsync(sessions[u.UserIndex], TurnInput(u.Iteration), Guid.NewGuid().ToString("N"), 120, u.Cancellation), ct);
    }

    public static string TurnInput(long n) => $"I walk along the quay and ask Mira about the ship's cargo. (turn {n + 1})";

    /// <summary>
    /// Runs one measured phase: a fresh step recorder, a progress line, CPU/RSS windows on the target and on the
    /// runner, and a hard time limit. The phase's raw figures are added to <paramref name="report"/>.
    /// </summary>
    public async Task<PhaseResult> RunPhaseAsync(
        ScenarioReport report, string phase, LoadSimulation simulation,
        Func<UserContext, StepRecorder, Task> iteration, CancellationToken ct, TimeSpan? hardLimit = null)
    {
        var steps = new StepRecorder();
        var limit = hardLimit ?? DefaultHardLimit(simulation);
        var runner = new LoadRunner(simulation, ctx => iteration(ctx, steps), limit);
        var targetWindow = TargetSampler?.BeginWindow();
        var selfWindow = SelfSampler?.BeginWindow();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        LoadRunResult result;
        await using (new ProgressReporter(Console, InPlaceProgress, () => StatusLine(report.Name, phase, clock.Elapsed, runner, steps)))
        {
            result = await runner.RunAsync(ct);
        }
        var target = targetWindow?.End();
        var summary = new PhaseReport(phase, Describe(simulation), result.Elapsed.TotalSeconds, result.IterationsCompleted,
            result.IterationsDropped, result.IterationsCrashed, result.PeakConcurrency, result.HitHardLimit,
            steps.Summarise(result.Elapsed), target?.Total, selfWindow?.End()?.Total)
        {
            TargetProcesses = target?.Each ?? [],
            TargetTimeline = target?.Timeline ?? [],
        };
        report.Phases.Add(summary);
        if (result.HitHardLimit) report.Notes.Add($"Phase '{phase}' was stopped at its time limit ({limit.TotalSeconds:0} s); its figures cover the part that ran.");
        if (result.IterationsCrashed > 0) report.Notes.Add($"Phase '{phase}': {result.IterationsCrashed} iterations ended with an unexpected exception (a runner bug, not a target error).");
        return new PhaseResult(summary, result);
    }

    /// <summary>Bounds every phase: its own duration plus a margin, or 30 minutes for count-bounded phases.</summary>
    private static TimeSpan DefaultHardLimit(LoadSimulation simulation) => simulation switch
    {
        LoadSimulation.ConstantConcurrency { Duration: { } d } => d + TimeSpan.FromMinutes(3),
        LoadSimulation.RampingConcurrency r => r.Duration + TimeSpan.FromMinutes(3),
        LoadSimulation.InjectionRate i => i.Duration + TimeSpan.FromMinutes(3),
        _ => TimeSpan.FromMinutes(30),
    };

    public static string Describe(LoadSimulation simulation) => simulation switch
    {
        LoadSimulation.ConstantConcurrency c => $"constant concurrency: {Users(c.Users)}"
            + (c.IterationsPerUser is { } k ? $" × {k} iterations" : "")
            + (c.Duration is { } d ? $" for up to {Durations.Format(d)}" : ""),
        LoadSimulation.RampingConcurrency r => $"ramping concurrency: {r.FromUsers} → {Users(r.ToUsers)} over {Durations.Format(r.Duration)}",
        LoadSimulation.InjectionRate i => string.Create(CultureInfo.InvariantCulture, $"injection rate: {i.PerSecond:0.##}/s for {Durations.Format(i.Duration)} (at most {i.MaxConcurrency} in flight)"),
        _ => simulation.ToString(),
    };

    private static string Users(int n) => n == 1 ? "1 user" : $"{n} users";

    private string StatusLine(string scenario, string phase, TimeSpan elapsed, LoadRunner runner, StepRecorder steps)
    {
        var sb = new StringBuilder(160);
        sb.Append(CultureInfo.InvariantCulture, $"[{scenario}/{phase}] {elapsed.TotalSeconds,5:0}s  in flight {runner.InFlight,4}  done {runner.Completed,6}");
        foreach (var s in steps.All.Take(3))
            sb.Append(CultureInfo.InvariantCulture, $" | {s.Name} ok {s.OkCount} fail {s.FailCount} p95 {Durations.FormatMs(s.CurrentP95Ms())}");
        if (TargetSampler is not null)
            sb.Append(CultureInfo.InvariantCulture, $" | target {Cells.CpuPercent(TargetSampler.LiveCpuPercent)} {Cells.Mb(TargetSampler.LiveRssMb)}");
        if (SelfSampler is not null)
            sb.Append(CultureInfo.InvariantCulture, $" | runner {Cells.CpuPercent(SelfSampler.LiveCpuPercent)}");
        return sb.ToString();
    }
}

/// <summary>A finished phase: its raw report plus convenient lookups for scenario tables.</summary>
public sealed record PhaseResult(PhaseReport Report, LoadRunResult Run)
{
    public StepSummary? Step(string name) => Report.Steps.FirstOrDefault(s => s.Step == name);
}
