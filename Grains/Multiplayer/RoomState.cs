namespace Loom.Multiplayer;

/// <summary>The stored side of a shared session (members, invites, settings, proposals, audit). Chat and presence are live only.</summary>
[GenerateSerializer, Alias("loom.RoomState")]
public sealed class RoomState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string OwnerId { get; set; } = "";
    [Id(2)] public TurnMode Mode { get; set; }
    [Id(3)] public int RoundTimeoutSeconds { get; set; } = RoomLimits.DefaultRoundTimeoutSeconds;
    [Id(4)] public RolePolicy Policy { get; set; } = new();
    /// <summary>Join order; the owner first.</summary>
    [Id(5)] public List<RoomMember> Members { get; set; } = [];
    [Id(6)] public List<RoomInvite> Invites { get; set; } = [];
    [Id(7)] public List<string> Blocked { get; set; } = [];
    /// <summary>Round mode: whose turn it was at <see cref="RoundSince"/> (timeouts are applied when read).</summary>
    [Id(8)] public string? RoundMember { get; set; }
    [Id(9)] public DateTime RoundSince { get; set; }
    [Id(10)] public List<Proposal> Proposals { get; set; } = [];
    /// <summary>Newest last, bounded by <see cref="RoomLimits.AuditEntries"/>.</summary>
    [Id(11)] public List<RoomAuditEntry> Audit { get; set; } = [];
    /// <summary>Round mode: who played the turn that last advanced the round, and its Idempotency-Key, so that the
    /// client's retry of that submit is answered with its turn instead of "not your turn".</summary>
    [Id(12)] public string? RoundPlayedBy { get; set; }
    [Id(13)] public string? RoundPlayedKey { get; set; }
}

public static class RoomLimits
{
    public const int DefaultRoundTimeoutSeconds = 120;
    public const int MaxRoundTimeoutSeconds = 3600;
    public const int MaxMembers = 32;
    public const int MaxDisplayName = 60;
    public const int MaxPersona = 500;
    public const int MaxChatText = 2000;
    public const int MaxProposals = 32;
    public const int ChatBuffer = 100;
    public const int AuditEntries = 1000;
    public static readonly TimeSpan MaxInviteLifetime = TimeSpan.FromDays(30);
    public static readonly TimeSpan DefaultInviteLifetime = TimeSpan.FromDays(1);
}
