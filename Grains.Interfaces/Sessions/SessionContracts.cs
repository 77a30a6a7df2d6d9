using Loom.Security;
using Loom.Timeline;

namespace Loom.Sessions;

public enum SessionStatus { Active, Paused, Completed, Archived }

/// <summary>Narrator settings of a session (API: llm on create). Nulls mean "the configured default".</summary>
[GenerateSerializer, Alias("loom.LlmSettings")]
public sealed record LlmSettings
{
    [Id(0)] public string? Provider { get; init; }
    [Id(1)] public string? Model { get; init; }
    [Id(2)] public double? Temperature { get; init; }
    [Id(3)] public int? MaxTokens { get; init; }
}

/// <summary>Token and cost counters (per turn and per session).</summary>
[GenerateSerializer, Alias("loom.Usage")]
public sealed record Usage
{
    [Id(0)] public long PromptTokens { get; init; }
    [Id(1)] public long CompletionTokens { get; init; }
    [Id(2)] public decimal CostUsd { get; init; }
    [Id(3)] public long CachedTokens { get; init; }
    /// <summary>True when the numbers come from our tokenizer because the provider reported none.</summary>
    [Id(4)] public bool Estimated { get; init; }

    public static Usage Zero { get; } = new();

    public Usage Add(Usage other) => this with
    {
        PromptTokens = PromptTokens + other.PromptTokens,
        CompletionTokens = CompletionTokens + other.CompletionTokens,
        CostUsd = CostUsd + other.CostUsd,
        CachedTokens = CachedTokens + other.CachedTokens,
        Estimated = Estimated || other.Estimated,
    };
}

[GenerateSerializer, Alias("loom.LlmRef")]
public sealed record LlmRef
{
    [Id(0)] public required string Provider { get; init; }
    [Id(1)] public required string Model { get; init; }
}

/// <summary>API: Session.</summary>
[GenerateSerializer, Alias("loom.SessionInfo")]
public sealed record SessionInfo
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public required string Name { get; init; }
    [Id(2)] public required string WorldId { get; init; }
    [Id(3)] public int CanonVersion { get; init; }
    [Id(4)] public SessionStatus Status { get; init; }
    [Id(5)] public DateTime CreatedAt { get; init; }
    [Id(6)] public DateTime UpdatedAt { get; init; }
    [Id(7)] public int TurnCount { get; init; }
    [Id(8)] public int PendingTurns { get; init; }
    [Id(9)] public DateTime? LastTurnAt { get; init; }
    [Id(10)] public required LlmRef Llm { get; init; }
    [Id(11)] public Usage Usage { get; init; } = Usage.Zero;
    /// <summary>The session's own intervention policy (the world's canon may restrict further).</summary>
    [Id(12)] public InterventionPolicy? Policy { get; init; }
    /// <summary>Tone in force, set by the latest [TONE] marker on the live timeline.</summary>
    [Id(13)] public string? Tone { get; init; }
    /// <summary>"{sessionId}@{seq}" when the session was forked from another.</summary>
    [Id(14)] public string? ForkedFrom { get; init; }
    /// <summary>The greeting the story opened with (a character card's first or alternate greeting), if any.</summary>
    [Id(60)] public string? Opening { get; init; }
    /// <summary>True once the owner opened the session to others (docs/multiplayer.md).</summary>
    [Id(70)] public bool Shared { get; init; }
    /// <summary>In lists and reads: the caller's role in the session (owner, player or spectator); null where not known.</summary>
    [Id(71)] public Loom.Multiplayer.MemberRole? Role { get; init; }
}

/// <summary>What creating a session needs (the gateway fills <see cref="OwnerId"/> from the caller).</summary>
[GenerateSerializer, Alias("loom.SessionSpec")]
public sealed record SessionSpec
{
    [Id(0)] public required string OwnerId { get; init; }
    [Id(1)] public required string WorldId { get; init; }
    [Id(2)] public string? Name { get; init; }
    [Id(3)] public int? CanonVersion { get; init; }
    [Id(4)] public LlmSettings? Llm { get; init; }
    [Id(5)] public InterventionPolicy? Policy { get; init; }
    /// <summary>Who creates the session (decides whether the world is playable); null acts as <see cref="OwnerId"/> without roles.</summary>
    [Id(6)] public Caller? Caller { get; init; }
    /// <summary>Which of the world's greetings opens the story (0 = the first; null = the first when there are any).</summary>
    [Id(7)] public int? Greeting { get; init; }
}

[GenerateSerializer, Alias("loom.SessionPatch")]
public sealed record SessionPatch
{
    [Id(0)] public string? Name { get; init; }
    [Id(1)] public SessionStatus? Status { get; init; }
    /// <summary>Replaces the session's intervention policy when set.</summary>
    [Id(2)] public InterventionPolicy? Policy { get; init; }
}

/// <summary>Entry of an owner's session index.</summary>
[GenerateSerializer, Alias("loom.OwnedSession")]
public sealed record OwnedSession
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public DateTime CreatedAt { get; init; }
    /// <summary>A session this owner joined as a member (not theirs): its owner's id. Null for an owned session.</summary>
    [Id(2)] public string? SharedBy { get; init; }
    /// <summary>A joined session: the member's role there.</summary>
    [Id(3)] public Loom.Multiplayer.MemberRole? Role { get; init; }
    /// <summary>The entry's row was committed with the session (builds before entry rows send false: the owner writes it).</summary>
    [Id(4)] public bool Stored { get; init; }
}

/// <summary>API: one page of an owner's sessions, newest first; <see cref="Next"/> is the cursor for the next page.</summary>
[GenerateSerializer, Alias("loom.SessionPage")]
public sealed record SessionPage
{
    [Id(0)] public List<SessionInfo> Items { get; init; } = [];
    [Id(1)] public string? Next { get; init; }
}

/// <summary>API (admin): a session's metadata with its owner, as support reads it. Every such read is audited.</summary>
[GenerateSerializer, Alias("loom.AdminSessionView")]
public sealed record AdminSessionView
{
    [Id(0)] public required string OwnerId { get; init; }
    [Id(1)] public required SessionInfo Session { get; init; }
}
