using Loom.Memory;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>
/// Explicit intervention policy (API: Session.policy; world canon metadata keys of the same names). Nulls mean
/// "not set here". Code enforces only these switches; everything else in a canon's Permissions section is the
/// narrator's to honour.
/// </summary>
[GenerateSerializer, Alias("loom.InterventionPolicy")]
public sealed record InterventionPolicy
{
    /// <summary>Inline markers (except [META]) and world edits through the API.</summary>
    [Id(0)] public bool? InterventionsAllowed { get; init; }
    /// <summary>[RETCON: …] markers and rollbacks.</summary>
    [Id(1)] public bool? RetconAllowed { get; init; }
    /// <summary>Retcons and rollbacks must give a reason of at least <see cref="MinJustificationChars"/>.</summary>
    [Id(2)] public bool? RequireJustification { get; init; }
    [Id(3)] public int? MinJustificationChars { get; init; }
}

/// <summary>One audit record (API: GET /audit item). Stored one per storage row.</summary>
[GenerateSerializer, Alias("loom.AuditEntry")]
public sealed record AuditEntry
{
    [Id(0)] public DateTime At { get; init; }
    [Id(1)] public required string Actor { get; init; }
    /// <summary>ooc, edit, retcon, tone, intent, meta, rollback, fork, memory.put, memory.delete, import.</summary>
    [Id(2)] public required string Action { get; init; }
    [Id(3)] public string? Reason { get; init; }
    [Id(4)] public int Seq { get; init; }
    [Id(5)] public Dictionary<string, string> Details { get; init; } = new(StringComparer.Ordinal);

    /// <summary>The action of an admin's support read: the owner sees who read their session and why; room members do not.</summary>
    public const string SupportReadAction = "admin.read";

    /// <summary>Whether a reader of the session's log in <paramref name="role"/> sees this entry.</summary>
    public bool IsVisibleTo(Multiplayer.MemberRole role) => role == Multiplayer.MemberRole.Owner || Action != SupportReadAction;
}

[GenerateSerializer, Alias("loom.AuditPage")]
public sealed record AuditPage
{
    [Id(0)] public List<AuditEntry> Items { get; init; } = [];
    /// <summary>Cursor (position of the last item returned), null at the end.</summary>
    [Id(1)] public string? Next { get; init; }
}

[GenerateSerializer, Alias("loom.RollbackRequest")]
public sealed record RollbackRequest
{
    [Id(0)] public int ToSeq { get; init; }
    [Id(1)] public string? Reason { get; init; }
}

[GenerateSerializer, Alias("loom.ForkRequest")]
public sealed record ForkRequest
{
    [Id(0)] public int AtSeq { get; init; }
    [Id(1)] public string? Name { get; init; }
    [Id(2)] public string? Reason { get; init; }
    /// <summary>Id of the new session (made by the gateway).</summary>
    [Id(3)] public required string NewSessionId { get; init; }
    /// <summary>Shared sessions: the member who forks owns the fork alone (null: the session's owner).</summary>
    [Id(4)] public string? NewOwnerId { get; init; }
}

/// <summary>A tone set by a [TONE] marker in turn <see cref="Seq"/>; in force until the next one.</summary>
[GenerateSerializer, Alias("loom.ToneChange")]
public sealed record ToneChange
{
    [Id(0)] public int Seq { get; init; }
    [Id(1)] public required string Tone { get; init; }
}

/// <summary>A timeline segment as exported: live turns from StartSeq on sit at consecutive ordinals from StartOrdinal.</summary>
[GenerateSerializer, Alias("loom.ExportedSegment")]
public sealed record ExportedSegment
{
    [Id(0)] public int StartSeq { get; init; }
    [Id(1)] public long StartOrdinal { get; init; }
}

/// <summary>The engine's timeline bookkeeping, exported so an import recreates the session exactly.</summary>
[GenerateSerializer, Alias("loom.ExportedTimeline")]
public sealed record ExportedTimeline
{
    [Id(0)] public int LastSeq { get; init; }
    [Id(1)] public long NextOrdinal { get; init; }
    [Id(2)] public List<ExportedSegment> Segments { get; init; } = [];
    [Id(3)] public List<ToneChange> Tones { get; init; } = [];
    [Id(4)] public InterventionPolicy? Policy { get; init; }
    /// <summary>Memory history below this seq was compacted (rollback below it is refused).</summary>
    [Id(5)] public int MemoryFloorSeq { get; init; }
    /// <summary>The greeting the story opened with (from an imported card), if any.</summary>
    [Id(60)] public string? Opening { get; init; }
}

/// <summary>One revision of an entity: its value after turn <see cref="Seq"/> (null: deleted then).</summary>
[GenerateSerializer, Alias("loom.ExportedRevision")]
public sealed record ExportedRevision
{
    [Id(0)] public int Seq { get; init; }
    [Id(1)] public MemoryEntity? Value { get; init; }
}

/// <summary>An entity with its full history. <see cref="Current"/> is null when it is deleted now.</summary>
[GenerateSerializer, Alias("loom.ExportedEntity")]
public sealed record ExportedEntity
{
    [Id(0)] public required string EntityId { get; init; }
    [Id(1)] public MemoryEntity? Current { get; init; }
    [Id(2)] public List<ExportedRevision> History { get; init; } = [];
}

[GenerateSerializer, Alias("loom.CanonRef")]
public sealed record CanonRef
{
    [Id(0)] public required string WorldId { get; init; }
    [Id(1)] public int Version { get; init; }
    [Id(2)] public required string Hash { get; init; }
}

/// <summary>
/// A whole session (API: GET /export?format=json, POST /api/sessions/import). Turns are in journal order,
/// retconned ones included; memory carries every entity's history so rollbacks still work after an import.
/// </summary>
[GenerateSerializer, Alias("loom.SessionExport")]
public sealed record SessionExport
{
    public const string FormatV1 = "loom.session.v1";

    [Id(0)] public string Format { get; init; } = FormatV1;
    [Id(1)] public required SessionInfo Session { get; init; }
    [Id(2)] public required CanonRef Canon { get; init; }
    [Id(3)] public List<TurnView> Turns { get; init; } = [];
    [Id(4)] public List<ExportedEntity> Memory { get; init; } = [];
    [Id(5)] public List<AuditEntry> Audit { get; init; } = [];
    [Id(6)] public ExportedTimeline? Timeline { get; init; }
    [Id(7)] public LlmSettings? Llm { get; init; }
}

public static class TimelineLimits
{
    public const int MaxReasonChars = 2000;
}
