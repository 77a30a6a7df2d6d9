using Loom.Memory;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Events;

/// <summary>Well-known event types of a session's stream.</summary>
public static class SessionEventTypes
{
    public const string TurnQueued = "turn.queued";
    public const string TurnStarted = "turn.started";
    public const string TurnDelta = "turn.delta";
    public const string TurnCompleted = "turn.completed";
    public const string TurnFailed = "turn.failed";
    public const string MemoryUpdated = "memory.updated";
    public const string SessionRolledBack = "session.rolledback";
    /// <summary>Another alternative of a turn was chosen (the event carries the turn as it now reads).</summary>
    public const string TurnChosen = "turn.chosen";
    /// <summary>Keeps idle streams alive; the gateway writes it as an SSE comment, not an event.</summary>
    public const string Heartbeat = "heartbeat";
}

/// <summary>See <see cref="Loom.Sessions.ISessionGrain.Catchup"/>.</summary>
[GenerateSerializer, Alias("loom.SessionCatchup")]
public sealed record SessionCatchup
{
    [Id(0)] public List<SessionEvent> Events { get; init; } = [];
    /// <summary>Live events with an id up to this one are covered by <see cref="Events"/>.</summary>
    [Id(1)] public required string UpTo { get; init; }
    [Id(2)] public bool Shared { get; init; }
}

/// <summary>One event on a session's live stream. Only the members that fit <see cref="Type"/> are set.</summary>
[GenerateSerializer, Alias("loom.SessionEvent")]
public sealed record SessionEvent
{
    /// <summary>Resumption id (SSE <c>id:</c>); increases within a session activation.</summary>
    [Id(0)] public required string Id { get; init; }
    [Id(1)] public required string Type { get; init; }
    [Id(2)] public string? TurnId { get; init; }
    /// <summary>Narrative chunk for turn.delta.</summary>
    [Id(3)] public string? Text { get; init; }
    /// <summary>The turn, for turn.queued/started/completed/failed.</summary>
    [Id(4)] public TurnView? Turn { get; init; }
    [Id(5)] public SessionInfo? Session { get; init; }
    [Id(6)] public List<MemoryOp>? Memory { get; init; }
}
