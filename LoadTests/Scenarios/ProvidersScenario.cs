using System.Globalization;
using Loom.LoadTests.FakeLlm;
using Loom.LoadTests.Monitoring;
using Loom.LoadTests.Reporting;
using static Loom.LoadTests.Core.LoadSimulation;

namespace Loom.LoadTests.Scenarios;

/// <summary>
/// The seed's LLMProvider table: per provider and model, turns played through LOOM (sessions that choose the
/// provider), one provider at a time so the stage histograms of each phase belong to it: mean turn latency, LLM
/// latency, time to first token, completion tokens per second, cost per 1,000 tokens and per turn (from the router's
/// pricing). By default the embedded gateway's three fakes, one per wire format (OpenAI, Anthropic, Ollama); with
/// <c>--providers</c> whatever the target has configured, real endpoints included.
/// </summary>
public sealed class ProvidersScenario : ILoadScenario
{
    private const int DefaultUsers = 10;
    private const int DefaultTurns = 5;

    public string Name => "providers";

    public string Description =>
        $"The provider table: {DefaultUsers} sessions × {DefaultTurns} turns per provider:model (default: the fake as OpenAI, Anthropic and Ollama, each in its own wire format; "
        + "--providers for real ones): turn and LLM latency, time to first token, tokens/s, cost per 1k tokens from Loom:Llm:Pricing.";

    public async Task RunAsync(ScenarioRun run, ScenarioReport report, CancellationToken ct)
    {
        var users = run.Options.Users ?? DefaultUsers;
        var turns = run.Options.Turns ?? DefaultTurns;
        run.UseLatency(run.Options.Latency, report);
        var restore = run.Fake?.Behaviour;
        if (run.Fake is { } fake) fake.Behaviour = fake.Behaviour with { CompletionTokens = KpisScenario.NarrativeWords, Chunks = 16 };
        var specs = run.Options.Providers?.Select(p => (Provider: p[..p.IndexOf(':')], Model: p[(p.IndexOf(':') + 1)..])).ToList()
            ?? FakeProviders.All.Select(e => (e.Provider, e.Model)).ToList();
        var rows = new List<IReadOnlyList<string>>();
        try
        {
            var world = await run.CreateWorldAsync(Name, ct);
            foreach (var (provider, model) in specs)
            {
                var sessions = new string[users];
                for (var i = 0; i < users; i++)
                    sessions[i] = (await run.Client.CreateSessionAsync(world, $"{Name}-{provider}-{i}", provider, model, ct)).SessionId;

                long prompt = 0, completion = 0, costMicros = 0;
                var fakeBefore = run.Fake is { } f0 && FakeProviders.Find(provider, model) is { } entry0 ? f0.RequestsIn(entry0.Format) : 0;
                var before = await MetricsSnapshot.TakeAsync(run.Metrics, ct);
                var phase = await run.RunPhaseAsync(report, $"{provider}:{model}", new ConstantConcurrency(users, run.Options.Duration, turns), async (u, steps) =>
                {
                    var outcome = await run.SendTurnAsync(steps, "turn", sessions[u.UserIndex], u.Iteration, u.Cancellation);
                    if (outcome is { IsOk: true, Value.Usage: { } usage })
                    {
                        Interlocked.Add(ref prompt, usage.PromptTokens);
                        Interlocked.Add(ref completion, usage.CompletionTokens);
                        Interlocked.Add(ref costMicros, (long)Math.Round(usage.CostUsd * 1_000_000m));
                    }
                }, ct);
                var after = await MetricsSnapshot.TakeAsync(run.Metrics, ct);

                var turn = phase.Step("turn");
                var ok = turn?.Ok ?? 0;
                const string stage = "loom_turn_stage_duration_seconds";
                var llmMean = MetricsSnapshot.Mean(before, after, stage, "stage=\"llm_total\"");
                var ttftMean = MetricsSnapshot.Mean(before, after, stage, "stage=\"llm_first_token\"");
                var completionPerTurn = ok > 0 ? (double)completion / ok : double.NaN;
                var cost = costMicros / 1_000_000.0;
                var tokens = prompt + completion;
                var entry = FakeProviders.Find(provider, model);
                var wire = run.Fake is null || entry is null ? "the target's" : $"fake, {entry.Format} wire format";
                if (run.Fake is { } f1 && entry is not null && f1.RequestsIn(entry.Format) == fakeBefore && ok > 0)
                    report.Notes.Add($"{provider}:{model}: the fake saw no request in its {entry.Format} shape; the target did not route this provider to it.");
                rows.Add(
                [
                    provider, model, wire, $"{ok}/{turn?.Count ?? 0}",
                    Cells.OrNa(turn, x => Cells.Ms(x.MeanMs)), Cells.Ms(llmMean * 1000), Cells.Ms(ttftMean * 1000),
                    double.IsNaN(llmMean) || ok == 0 ? "n/a" : string.Create(CultureInfo.InvariantCulture, $"{completionPerTurn / llmMean:0.0}"),
                    ok > 0 ? string.Create(CultureInfo.InvariantCulture, $"{(double)prompt / ok:0} / {completionPerTurn:0}") : "n/a",
                    tokens > 0 ? string.Create(CultureInfo.InvariantCulture, $"${cost / tokens * 1000:0.#####}") : "n/a",
                    ok > 0 ? string.Create(CultureInfo.InvariantCulture, $"${cost / ok:0.#####}") : "n/a",
                    entry?.PricedLike ?? "–",
                ]);
            }
        }
        finally
        {
            if (run.Fake is { } f && restore is not null) f.Behaviour = restore;
        }

        report.Tables.Add(new ReportTable($"LLM providers (through LOOM, {users} sessions × {turns} turns each, LLM latency {Core.Durations.Format(run.LlmLatency)})",
            ["provider", "model", "endpoint", "turns ok", "turn mean", "LLM mean", "first token mean", "completion tokens/s", "tokens/turn (prompt / completion)", "cost per 1k tokens", "cost per turn", "priced like (seed's model)"],
            rows));
        report.Notes.Add("LLM mean and first token come from the target's /metrics (stages llm_total, llm_first_token) over each provider's phase; "
            + "tokens/s is completion tokens per turn ÷ LLM mean; costs are what LOOM priced each turn at (Loom:Llm:Pricing), summed from the turns' usage.");
        if (run.Fake is not null)
            report.Notes.Add("With the fakes every provider answers with the same timing and text, so differences between rows are LOOM's provider clients (OpenAI SDK, Anthropic SDK, OllamaSharp) and wire formats; real providers: start a gateway with their keys and run `providers --target URL --providers provider:model,...`.");
    }
}
