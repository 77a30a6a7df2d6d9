using Loom.Memory;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>What a new session is restored from (a fork or an import); built by the engine, not by clients.</summary>
[GenerateSerializer, Alias("loom.SessionSeed")]
public sealed record SessionSeed
{
    [Id(0)] public required string OwnerId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required CanonRef Canon { get; init; }
    [Id(3)] public required LlmSettings Llm { get; init; }
    [Id(4)] public Usage Usage { get; init; } = Usage.Zero;
    [Id(5)] public List<TurnRecord> Turns { get; init; } = [];
    [Id(6)] public List<MemoryShard> MemoryShards { get; init; } = [];
    [Id(7)] public List<AuditEntry> Audit { get; init; } = [];
    [Id(8)] public required ExportedTimeline Timeline { get; init; }
    [Id(9)] public SessionStatus Status { get; init; } = SessionStatus.Active;
    [Id(10)] public DateTime CreatedAt { get; init; }
    [Id(11)] public string? ForkedFrom { get; init; }
}

/// <summary>Grain-to-grain entry point that fills a brand-new session from a seed (fork target).</summary>
public interface ISessionSeedGrain : IGrainWithStringKey
{
    Task<SessionInfo> Restore(SessionSeed seed, AuditEntry creation);
}
