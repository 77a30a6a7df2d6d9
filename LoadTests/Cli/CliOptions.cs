using Loom.LoadTests.Target;

namespace Loom.LoadTests.Cli;

/// <summary>What the command line asked for. Null means "the scenario's own default".</summary>
public sealed record CliOptions
{
    public required IReadOnlyList<string> Scenarios { get; init; }
    public Uri? Target { get; init; }
    public int? TargetPid { get; init; }
    public LlmMode? Llm { get; init; }
    public TimeSpan Latency { get; init; } = TimeSpan.FromSeconds(1.5);
    public TimeSpan? TimeToFirstToken { get; init; }
    public double? TokensPerSecond { get; init; }
    public int? Users { get; init; }
    public int? Turns { get; init; }
    public TimeSpan? Duration { get; init; }
    public IReadOnlyList<int>? Levels { get; init; }
    public string? OutDirectory { get; init; }
    public string? GatewayDll { get; init; }
    public string? ApiKey { get; init; }
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);
    public bool Strict { get; init; }

    /// <summary>The LLM the embedded gateway uses: as asked, else the offline narrator for smoke, else the fake server.</summary>
    public LlmMode EffectiveLlm => Llm ?? (Scenarios.Count > 0 && Scenarios.All(s => s == "smoke") ? LlmMode.Offline : LlmMode.Fake);
}
