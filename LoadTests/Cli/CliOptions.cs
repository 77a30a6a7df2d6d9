using Loom.LoadTests.Target;

namespace Loom.LoadTests.Cli;

/// <summary>What the command line asked for. Null means "the scenario's own default".</summary>
public sealed record CliOptions
{
    public required IReadOnlyList<string> Scenarios { get; init; }
    public Uri? Target { get; init; }
    /// <summary>LOOM processes to watch (CPU, RSS, /metrics): <c>--target-pid</c>, given once per process.</summary>
    public IReadOnlyList<int> TargetPids { get; init; } = [];

    /// <summary>A cluster started by scripts/local-cluster.sh: its folder gives the pids, the gateway URL and the API key.</summary>
    public string? ClusterDirectory { get; init; }

    /// <summary>idle-sessions: how long to wait for the target's active-session gauge to fall after play.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>Extra environment for the embedded gateway (<c>--gateway-env KEY=VALUE</c>), e.g. a shorter collection age.</summary>
    public IReadOnlyDictionary<string, string> GatewayEnvironment { get; init; } = new Dictionary<string, string>();
    public LlmMode? Llm { get; init; }
    public TimeSpan Latency { get; init; } = TimeSpan.FromSeconds(1.5);
    public TimeSpan? TimeToFirstToken { get; init; }
    public double? TokensPerSecond { get; init; }
    public int? Users { get; init; }
    public int? Turns { get; init; }
    public TimeSpan? Duration { get; init; }

    /// <summary>Unmeasured load before each measured workload (NBomber's warm-up); zero turns it off.</summary>
    public TimeSpan WarmUp { get; init; } = TimeSpan.FromSeconds(10);
    public IReadOnlyList<int>? Levels { get; init; }
    public string? OutDirectory { get; init; }
    public string? GatewayDll { get; init; }
    public string? ApiKey { get; init; }
    public TimeSpan ReadyTimeout { get; init; } = TimeSpan.FromSeconds(90);
    public bool Strict { get; init; }

    /// <summary>Starts a new embedded gateway (own database, own log) for every scenario after the first (<c>--fresh-gateway</c>).</summary>
    public bool FreshGateway { get; init; }

    /// <summary>The relay without an engine as the target (<c>--relay</c>): the floor the machine and the runner set.</summary>
    public bool Relay { get; init; }

    /// <summary>providers: <c>provider:model</c> pairs to measure (<c>--providers</c>); null = the fake's three shapes.</summary>
    public IReadOnlyList<string>? Providers { get; init; }

    /// <summary>PostgreSQL the target uses (<c>--pg CONNECTION</c>): kpis reads its statistics; workflow runs its production configuration on it.</summary>
    public string? PostgresConnection { get; init; }

    /// <summary>The LLM the embedded gateway uses: as asked, else the offline narrator for smoke, else the fake server.</summary>
    public LlmMode EffectiveLlm => Llm ?? (Scenarios.Count > 0 && Scenarios.All(s => s == "smoke") ? LlmMode.Offline : LlmMode.Fake);
}
