using Loom.Events;
using Loom.Memory;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>
/// One play session (key: sessionId). Owns its durable turn queue and timeline; turns run one at a time,
/// in order, from a background pump on the grain's scheduler. Every call names the caller: another owner's
/// session answers 404, exactly like an unknown one.
/// </summary>
public interface ISessionGrain : IGrainWithStringKey
{
    Task<SessionInfo> Create(SessionSpec spec);

    [AlwaysInterleave] Task<SessionInfo> GetInfo(string ownerId);

    Task<SessionInfo> Update(string ownerId, SessionPatch patch);

    /// <summary>Archives, or erases every record of the session when <paramref name="permanent"/>.</summary>
    Task Delete(string ownerId, bool permanent);

    /// <summary>Durably queues a turn, then answers (status queued). The same idempotency key answers the first turn again.</summary>
    Task<TurnView> Submit(string ownerId, TurnSubmission submission);

    [AlwaysInterleave] Task<TurnView> GetTurn(string ownerId, string turnId);

    /// <summary>What went into a turn's prompt and why; 404 <c>context_unavailable</c> for a turn that never reached the narrator.</summary>
    [AlwaysInterleave] Task<TurnContextView> GetTurnContext(string ownerId, string turnId);

    [AlwaysInterleave] Task<TurnList> ListTurns(string ownerId, TurnQuery query);

    /// <summary>
    /// Stops a turn that has not finished: a running narration is cut off, a queued turn is never narrated; either
    /// ends <c>failed</c> with error <c>cancelled</c> and leaves nothing in memory. 409 once the turn finished.
    /// </summary>
    Task<TurnView> CancelTurn(string ownerId, string turnId);

    /// <summary>Answers when the turn is completed or failed, or with its current state at the timeout.</summary>
    [AlwaysInterleave, ResponseTimeout("00:02:30")]
    Task<TurnView> WaitForTurn(string ownerId, string turnId, TimeSpan timeout);

    /// <summary>Live events after <paramref name="lastEventId"/> (replayed from a bounded buffer), then new ones.
    /// Yields a heartbeat at least every 15 s so idle enumerators are not dropped.</summary>
    IAsyncEnumerable<SessionEvent> Watch(string ownerId, string? lastEventId, CancellationToken cancellationToken = default);

    /// <summary>What a new watcher needs before live events: the replay after <paramref name="lastEventId"/> (or the
    /// pending turns when the buffer no longer covers it), the id of the newest event it covers, and whether the session is shared.</summary>
    [AlwaysInterleave] Task<SessionCatchup> Catchup(string ownerId, string? lastEventId);

    /// <summary>The owner opens the session to others (called by its room): from then on a submit without a speaker is
    /// refused with <see cref="Loom.Multiplayer.RoomProblems.ThroughRoom"/>, so turn-taking cannot be skipped.</summary>
    Task MarkShared(string ownerId);

    /// <summary>Activates the session and resumes its queue (used by the reminder and after restarts).</summary>
    Task Wake();

    // World memory. Queries answer while a turn runs; edits apply after the last committed turn.

    [AlwaysInterleave] Task<MemoryPage> ListMemory(string ownerId, MemoryListQuery query);

    [AlwaysInterleave] Task<MemoryEntity> GetMemory(string ownerId, string entityId);

    [AlwaysInterleave] Task<List<ScoredEntity>> SearchMemory(string ownerId, string query, SearchMode mode, int limit);

    /// <summary>Creates or replaces an entity (a world edit); durable when it answers.</summary>
    Task<MemoryEntity> PutMemory(string ownerId, string entityId, MemoryEdit edit);

    /// <summary>Deletes an entity (404 when there is none); durable when it answers.</summary>
    Task DeleteMemory(string ownerId, string entityId, string? reason);

    // Timeline. Rollback is refused (409) while turns are pending; fork and export read committed turns only.

    /// <summary>Turns after toSeq become retconned; memory, summaries, tone and vectors return to their state after toSeq.</summary>
    Task<SessionInfo> Rollback(string ownerId, RollbackRequest request);

    /// <summary>Creates session <see cref="ForkRequest.NewSessionId"/> (same owner) holding turns 1..atSeq and memory as of then.</summary>
    Task<SessionInfo> Fork(string ownerId, ForkRequest request);

    /// <summary>Regenerates, continues or resends the latest turn (queued like a turn; 409 unless it is the latest and
    /// nothing is pending). The same idempotency key answers the accepted rework again.</summary>
    Task<TurnView> Rework(string ownerId, string turnId, ReworkRequest request);

    /// <summary>Makes one alternative of the latest turn the one that counts; memory and summaries follow it.</summary>
    Task<TurnView> Choose(string ownerId, string turnId, ChoiceRequest request);

    /// <summary>The session's branches: live turns with their alternatives, retconned stretches, forks.</summary>
    [AlwaysInterleave] Task<StoryTreeView> GetTree(string ownerId);

    /// <summary>A page of the audit log as a reader in <paramref name="viewer"/>'s role sees it (<see cref="AuditEntry.IsVisibleTo"/>).</summary>
    [AlwaysInterleave] Task<AuditPage> ListAudit(string ownerId, int limit, long? after, MemberRole viewer);

    /// <summary>The whole session: committed turns (retconned included), memory with history, audit.</summary>
    [AlwaysInterleave] Task<SessionExport> Export(string ownerId);

    /// <summary>Recreates an exported session as this (new, empty) session, owned by <paramref name="ownerId"/>.
    /// The export is checked against its own content first (counters, ordinals, sizes): a lie is 422, fast.</summary>
    Task<SessionInfo> Import(string ownerId, SessionExport export);

    /// <summary>Support read for an admin (403 otherwise): the metadata only, and never silently — the read is
    /// appended to this session's audit log (who, when, why) before it answers.</summary>
    Task<AdminSessionView> ReadForSupport(Caller admin, string? reason);
}

/// <summary>An owner's index of sessions (key: ownerId), with the last stored size each session reported.</summary>
public interface IOwnerGrain : IGrainWithStringKey
{
    /// <summary>Lists the session from now on; its entry row was committed with the session (see OwnedSession.Stored).</summary>
    Task Add(OwnedSession session);
    /// <summary>Durable when it answers.</summary>
    Task Remove(string sessionId);

    /// <summary>Lists a session this owner joined as a member (<see cref="OwnedSession.SharedBy"/> set), or updates its role;
    /// joined sessions never count toward this owner's quotas. Durable when it answers.</summary>
    Task Join(OwnedSession joined);
    /// <summary>The member left or was removed; durable when it answers.</summary>
    Task Leave(string sessionId);
    [ReadOnly] Task<List<OwnedSession>> List();

    /// <summary>The owner's sessions and the ones they joined, newest first (joined ones by when they joined), <paramref name="status"/> only when given; 400 for a cursor not from this list.</summary>
    [ReadOnly] Task<SessionPage> ListSessions(SessionStatus? status, int limit, string? after);

    /// <summary>A session's stored bytes (see <c>QuotaOptions</c>); sent after commits without waiting, so no turn waits on the owner.</summary>
    [OneWay] Task ReportStoredBytes(string sessionId, long bytes);

    /// <summary>The owner's stored bytes as last reported by its sessions, leaving out <paramref name="exceptSessionId"/>
    /// (a session asking adds its own current figure).</summary>
    [ReadOnly] Task<long> StoredBytes(string? exceptSessionId);

    /// <summary>Throws 429 <c>quota_sessions</c> or <c>quota_storage</c> when one more session would pass a quota.</summary>
    [ReadOnly] Task CheckCreateQuota();

    /// <summary>Admin: metadata of this owner's sessions, newest first, each read audited in its session.</summary>
    Task<AdminSessionPage> ReadForSupport(Caller admin, string? reason, int limit, string? after);

    /// <summary>
    /// With a read replica: the session's activation <paramref name="activation"/> ended with its header at
    /// <paramref name="headerVersion"/>, so a replica row at that version or later is current and lists the session
    /// without waking it. Ignored when a later activation has reported itself live meanwhile.
    /// </summary>
    Task SessionIdle(string sessionId, Guid activation, int headerVersion);

    /// <summary>With a read replica: the session is live again (activation <paramref name="activation"/>), so lists read
    /// it from its activation. Durable when it answers, and the session writes nothing before: no list serves a replica
    /// row the live session has outdated.</summary>
    Task SessionLive(string sessionId, Guid activation);

    /// <summary>With a read replica: the header version the session went idle with, or null when it may be live.</summary>
    [ReadOnly] Task<int?> IdleVersion(string sessionId);
}

/// <summary>
/// Reads of sessions that are not active (stateless worker on the calling silo): from the read replica when one is
/// configured and has the session's last version, else from the session itself, with the same answer and errors.
/// </summary>
public interface ISessionArchiveGrain : IGrainWithIntegerKey
{
    /// <summary>What <see cref="ISessionGrain.Export"/> answers, without waking an idle session.</summary>
    /// <remarks>The audit log is as a reader in <paramref name="viewer"/>'s role sees it.</remarks>
    Task<SessionExport> Export(string sessionId, string ownerId, MemberRole viewer);

    /// <summary>What <see cref="ISessionGrain.ReadForSupport"/> answers; an idle session's read is audited on the
    /// primary and answered from the replica without waking the session.</summary>
    Task<AdminSessionView> ReadForSupport(string sessionId, Caller admin, string? reason);
}

[GenerateSerializer, Alias("loom.AdminSessionPage")]
public sealed record AdminSessionPage
{
    [Id(0)] public List<AdminSessionView> Items { get; init; } = [];
    [Id(1)] public string? Next { get; init; }
}
