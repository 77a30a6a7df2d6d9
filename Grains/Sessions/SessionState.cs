using Loom.Sessions;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>
/// The session's header record. Its size is bounded: committed turns live in the journal (one record each),
/// and only the pending queue and a bounded window of idempotency keys are kept here.
/// </summary>
[GenerateSerializer, Alias("loom.SessionState")]
public sealed class SessionState
{
    [Id(0)] public bool Exists { get; set; }
    [Id(1)] public string OwnerId { get; set; } = "";
    [Id(2)] public string Name { get; set; } = "";
    [Id(3)] public string WorldId { get; set; } = "";
    [Id(4)] public int CanonVersion { get; set; }
    [Id(5)] public string CanonHash { get; set; } = "";
    [Id(6)] public SessionStatus Status { get; set; }
    [Id(7)] public DateTime CreatedAt { get; set; }
    [Id(8)] public DateTime UpdatedAt { get; set; }
    [Id(9)] public DateTime? LastTurnAt { get; set; }
    [Id(10)] public LlmSettings Llm { get; set; } = new();
    [Id(11)] public Usage Usage { get; set; } = Usage.Zero;
    /// <summary>Seq of the newest turn on the live timeline (queued, running or finished).</summary>
    [Id(12)] public int LastSeq { get; set; }
    /// <summary>Completed turns on the live timeline.</summary>
    [Id(13)] public int TurnCount { get; set; }
    /// <summary>Journal position the next submitted turn gets; never reused, so turn ids are unique for ever.</summary>
    [Id(14)] public long NextOrdinal { get; set; }
    /// <summary>Queued and running turns, oldest first (bounded by Loom:Turns:MaxPending).</summary>
    [Id(15)] public List<TurnRecord> Pending { get; set; } = [];
    /// <summary>Idempotency keys as older builds stored them; moved into <see cref="Keys"/> by the next submit.</summary>
    [Id(16)] public List<IdempotencyEntry> RecentKeys { get; set; } = [];
    /// <summary>Most recent idempotency keys (bounded window), packed.</summary>
    [Id(25)] public IdempotencyWindow Keys { get; set; } = new();
    /// <summary>Maps live seqs to journal ordinals; a rollback starts a new segment.</summary>
    [Id(17)] public List<TimelineSegment> Segments { get; set; } = [];
    /// <summary>True while a reminder guards the pending queue against silo loss.</summary>
    [Id(18)] public bool ReminderRegistered { get; set; }
    /// <summary>Memory shard rows that may exist ("memory.shard.0".."n-1"); survives a change of Loom:Memory:ShardCount.</summary>
    [Id(19)] public int MemoryShards { get; set; }
    /// <summary>
    /// True from a create until the session's first memory row is staged: the first load (usually the first turn, on
    /// a silo that never saw the create) need not list rows that cannot exist. A header from before this field reads
    /// false and loads as it always did.
    /// </summary>
    [Id(26)] public bool MemoryUnwritten { get; set; }
    /// <summary>The session's own intervention policy (null: only the world's applies).</summary>
    [Id(20)] public InterventionPolicy? Policy { get; set; }
    /// <summary>Tones set on the live timeline, oldest first (a rollback drops those after its seq).</summary>
    [Id(21)] public List<ToneChange> Tones { get; set; } = [];
    /// <summary>Position the next audit record gets ("session.audit.{n}", one row each).</summary>
    [Id(22)] public long NextAudit { get; set; }
    [Id(23)] public string? ForkedFrom { get; set; }
    /// <summary>The card greeting the story opens with (issue 13); the narrator sees it as the first narration.</summary>
    [Id(60)] public string? Opening { get; set; }
    /// <summary>Set once a room opens the session to others: from then on turns come through the room (turn-taking, attribution).</summary>
    [Id(70)] public bool Shared { get; set; }
    /// <summary>UTF-8 bytes of turn text this session stores (input, narrative, OOC reply of every committed turn; see QuotaOptions).</summary>
    [Id(24)] public long StoredBytes { get; set; }
}

/// <summary>A turn as stored: the API view plus what only the engine needs. Default members are not written, so a
/// turn that was never reworked stores nothing for its alternatives.</summary>
[GenerateSerializer, Alias("loom.TurnRecord"), OmitDefaultMemberValues]
public sealed record TurnRecord
{
    [Id(0)] public long Ordinal { get; init; }
    [Id(1)] public required TurnView Turn { get; init; }
    [Id(2)] public string? IdempotencyKey { get; init; }
    /// <summary>Shared sessions: the players block for this turn's prompt (see TurnSubmission.Players).</summary>
    [Id(3)] public string? Players { get; init; }
    /// <summary>What went into the turn's prompt (context viewer, issue 13); null for turns that never reached the narrator.</summary>
    [Id(60)] public TurnPromptContext? Context { get; init; }
    /// <summary>Every alternative of the turn once it was regenerated or resent (null: the turn is its only one).</summary>
    [Id(61)] public AlternativeSet? Alternatives { get; init; }
    /// <summary>Set on a pending record that reworks an already committed turn (regenerate, continue, resend).</summary>
    [Id(62)] public PendingRework? Rework { get; init; }
}

/// <summary>
/// An idempotency key of a recent turn as earlier builds stored it (now <see cref="IdempotencyWindow"/>): read from
/// old headers and folded into the packed window by the next submit.
/// </summary>
[GenerateSerializer, Alias("loom.IdempotencyEntry")]
public sealed record IdempotencyEntry
{
    /// <summary>The key itself, in entries written by older builds (newer ones leave it null).</summary>
    [Id(0)] public string? Key { get; init; }
    /// <summary>The turn id, in entries written by older builds.</summary>
    [Id(1)] public string? TurnId { get; init; }
    [Id(2)] public long KeyHash { get; init; }
    [Id(3)] public long Ordinal { get; init; }

    public static long Hash(string key)
    {
        Span<byte> digest = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key), digest);
        return BitConverter.ToInt64(digest);
    }
}

/// <summary>Live turns from <see cref="StartSeq"/> on sit at consecutive ordinals from <see cref="StartOrdinal"/>.</summary>
[GenerateSerializer, Alias("loom.TimelineSegment")]
public sealed record TimelineSegment
{
    [Id(0)] public int StartSeq { get; init; }
    [Id(1)] public long StartOrdinal { get; init; }
}
