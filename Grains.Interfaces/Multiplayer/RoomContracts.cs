using Loom.Errors;
using Loom.Turns;

namespace Loom.Multiplayer;

/// <summary>A member's place in a shared session. The owner is a member too.</summary>
public enum MemberRole { Owner, Player, Spectator }

/// <summary>How members' inputs become turns.</summary>
public enum TurnMode
{
    /// <summary>Every player's input queues in arrival order.</summary>
    Free,
    /// <summary>Players in join order; the one whose turn it is may pass; a timeout skips them.</summary>
    Round,
    /// <summary>Players propose; the owner accepts (possibly edited) or rejects; an accepted proposal becomes the turn.</summary>
    Host,
}

/// <summary>What a member wants to do, checked against their role and the room's policy.</summary>
public enum RoomAction { Read, Play, Intervene, Rollback, Fork, WorldEdit }

/// <summary>Who may use out-of-story powers besides the owner: <c>owner</c> (default) or <c>player</c> (owner and players).</summary>
[GenerateSerializer, Alias("loom.RolePolicy")]
public sealed record RolePolicy
{
    [Id(0)] public string Interventions { get; init; } = RolePolicies.Owner;
    [Id(1)] public string Rollback { get; init; } = RolePolicies.Owner;
    [Id(2)] public string Fork { get; init; } = RolePolicies.Owner;
    [Id(3)] public string WorldEdits { get; init; } = RolePolicies.Owner;
}

public static class RolePolicies
{
    public const string Owner = "owner";
    public const string Player = "player";
    public static bool IsValid(string? value) => value is Owner or Player;
}

/// <summary>API: a member of a shared session.</summary>
[GenerateSerializer, Alias("loom.RoomMember")]
public sealed record RoomMember
{
    /// <summary>The member's owner id (from their own API key).</summary>
    [Id(0)] public required string MemberId { get; init; }
    [Id(1)] public required string DisplayName { get; init; }
    /// <summary>A short Markdown description of who they play; the narrator's prompt includes it.</summary>
    [Id(2)] public string? Persona { get; init; }
    [Id(3)] public MemberRole Role { get; init; }
    [Id(4)] public DateTime JoinedAt { get; init; }
    /// <summary>Watching now: at least one live event stream (on any gateway). Not stored.</summary>
    [Id(5)] public bool Online { get; init; }
}

/// <summary>API: an invitation to a session. Anyone with the code may join with their own key until it expires.</summary>
[GenerateSerializer, Alias("loom.RoomInvite")]
public sealed record RoomInvite
{
    [Id(0)] public required string Code { get; init; }
    [Id(1)] public required string SessionId { get; init; }
    [Id(2)] public MemberRole Role { get; init; }
    [Id(3)] public DateTime ExpiresAt { get; init; }
    [Id(4)] public DateTime CreatedAt { get; init; }
}

/// <summary>API: an input proposed in host mode, waiting for the owner.</summary>
[GenerateSerializer, Alias("loom.Proposal")]
public sealed record Proposal
{
    [Id(0)] public required string ProposalId { get; init; }
    [Id(1)] public required string MemberId { get; init; }
    [Id(2)] public required string Input { get; init; }
    [Id(3)] public DateTime CreatedAt { get; init; }
}

/// <summary>API: one out-of-character line on the side channel (never in the prompt).</summary>
[GenerateSerializer, Alias("loom.ChatLine")]
public sealed record ChatLine
{
    [Id(0)] public required string MemberId { get; init; }
    [Id(1)] public required string DisplayName { get; init; }
    [Id(2)] public required string Text { get; init; }
    [Id(3)] public DateTime At { get; init; }
}

/// <summary>API: a member's action, with who did it.</summary>
[GenerateSerializer, Alias("loom.RoomAuditEntry")]
public sealed record RoomAuditEntry
{
    [Id(0)] public DateTime At { get; init; }
    [Id(1)] public required string Actor { get; init; }
    [Id(2)] public required string Action { get; init; }
    [Id(3)] public string? Detail { get; init; }
}

/// <summary>API: the shared side of a session.</summary>
[GenerateSerializer, Alias("loom.RoomView")]
public sealed record RoomView
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public required string OwnerId { get; init; }
    [Id(2)] public TurnMode Mode { get; init; }
    [Id(3)] public int RoundTimeoutSeconds { get; init; }
    [Id(4)] public RolePolicy Policy { get; init; } = new();
    [Id(5)] public List<RoomMember> Members { get; init; } = [];
    /// <summary>Round mode: the member whose turn it is (null in other modes).</summary>
    [Id(6)] public string? CurrentTurn { get; init; }
    /// <summary>The caller's own role.</summary>
    [Id(7)] public MemberRole YourRole { get; init; }
}

/// <summary>Changes to a room's settings (owner only); nulls keep the current value.</summary>
[GenerateSerializer, Alias("loom.RoomSettings")]
public sealed record RoomSettings
{
    [Id(0)] public TurnMode? Mode { get; init; }
    [Id(1)] public int? RoundTimeoutSeconds { get; init; }
    [Id(2)] public RolePolicy? Policy { get; init; }
}

/// <summary>Changes to a member: the owner sets roles; a member sets their own name and persona.</summary>
[GenerateSerializer, Alias("loom.MemberPatch")]
public sealed record MemberPatch
{
    [Id(0)] public MemberRole? Role { get; init; }
    [Id(1)] public string? DisplayName { get; init; }
    [Id(2)] public string? Persona { get; init; }
}

/// <summary>Whose authority a request to the session runs under.</summary>
[GenerateSerializer, Alias("loom.RoomAccess")]
public sealed record RoomAccess
{
    /// <summary>The owner id to pass to the session grain (its owner's, for a member).</summary>
    [Id(0)] public required string ActingOwnerId { get; init; }
    /// <summary>True when the session is shared (the caller is then a member).</summary>
    [Id(1)] public bool Shared { get; init; }
    [Id(2)] public MemberRole Role { get; init; }
}

public static class RoomProblems
{
    /// <summary>Code of the session's refusal of a submit that did not come through its room; the gateway then submits
    /// through the room. Seen by a client only if something bypasses the gateway's routing.</summary>
    public const string ThroughRoom = "shared_session";

    public static LoomProblemException SubmitThroughRoom(string sessionId) =>
        Problems.Conflict(ThroughRoom, $"Session '{sessionId}' is shared: its turns go through its room (POST /api/sessions/{sessionId}/turns).");
}

/// <summary>Well-known event types of the room's part of a session's event stream.</summary>
public static class RoomEventTypes
{
    public const string Members = "room.members";
    public const string Chat = "chat.message";
    public const string TurnNext = "room.turn";
    public const string Proposal = "room.proposal";
    public const string Heartbeat = "heartbeat";
}

/// <summary>One event of the room's stream (merged into the session's SSE stream by the gateway).</summary>
[GenerateSerializer, Alias("loom.RoomEvent")]
public sealed record RoomEvent
{
    [Id(0)] public required string Type { get; init; }
    [Id(1)] public ChatLine? Chat { get; init; }
    [Id(2)] public RoomView? Room { get; init; }
    [Id(3)] public Proposal? Proposal { get; init; }
    /// <summary>Set when a proposal was accepted (the turn it became) or rejected (null).</summary>
    [Id(4)] public string? ProposalOutcome { get; init; }
}
