using System.Diagnostics;
using System.Globalization;
using Loom.Errors;
using Loom.Events;
using Loom.Memory;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Logging;

namespace Loom.Sessions;

/// <summary>
/// Everything that changes a session besides its turns, each in its place in the commit order: memory edits,
/// rollback and fork, export and import, the audit log and audited support reads.
/// <para>
/// A rollback never rewrites old turns: it starts a new timeline segment in the header, and a stored turn that the
/// segments no longer map to its seq reads as retconned. The header is written first (the commit point); memory
/// follows, and a crash in between is repaired on load (memory ahead of the committed seq is rolled back, as after a
/// crashed turn). Rollback answers 409 while turns are queued or running; fork and export read committed turns only,
/// so they work while a turn runs.
/// </para>
/// </summary>
public sealed partial class SessionGrain
{
    /// <summary>Longest a support read waits for a running turn's commit (well inside the call's response timeout).</summary>
    private static readonly TimeSpan SupportReadWait = TimeSpan.FromSeconds(20);

    // ---------------------------------------------------------------- memory

    public Task<MemoryPage> ListMemory(string ownerId, MemoryListQuery query)
    {
        Require(ownerId);
        return _memory.ListAsync(query);
    }

    public async Task<MemoryEntity> GetMemory(string ownerId, string entityId)
    {
        Require(ownerId);
        var memory = await _memory.GetAsync();
        return memory.Get(entityId, _memory.ReadSeq) ?? throw Problems.NotFound("Memory entity", entityId);
    }

    public async Task<List<ScoredEntity>> SearchMemory(string ownerId, string query, SearchMode mode, int limit)
    {
        Require(ownerId);
        var memory = await _memory.GetAsync();
        return [.. await memory.SearchAsync(query, mode, Math.Clamp(limit, 1, 200), asOfSeq: _memory.ReadSeq)];
    }

    public async Task<MemoryEntity> PutMemory(string ownerId, string entityId, MemoryEdit edit)
    {
        Require(ownerId);
        MemoryEdits.Check(entityId, edit, _memory.Options);
        await RequireEditsAllowedAsync();
        var memory = await _memory.GetAsync();
        await _memory.SettledAsync();
        var existing = memory.Get(entityId);
        if (existing is null && memory.Count >= _memory.Options.MaxEntities)
        {
            throw Problems.Conflict("memory_full",
                $"The session's memory holds {memory.Count} entities, the most Loom:Memory:MaxEntities allows; delete some before adding more.");
        }
        var op = MemoryEdits.Upsert(entityId, edit, existing);
        // Invalid content is refused (422) before anything changes.
        var seq = EditSeq(memory);
        var previous = memory.History(entityId);
        var applied = memory.Apply([op], seq);
        var entity = memory.Get(entityId)!;
        await PersistEditAsync(memory, entityId, previous, applied, seq,
            _audit.Entry("memory.put", edit.Reason, seq, MemoryEdits.Details(entity, withVersion: true)));
        return entity;
    }

    public async Task DeleteMemory(string ownerId, string entityId, string? reason)
    {
        Require(ownerId);
        await RequireEditsAllowedAsync();
        var memory = await _memory.GetAsync();
        await _memory.SettledAsync();
        if (memory.Get(entityId) is not { } existing) throw Problems.NotFound("Memory entity", entityId);
        var seq = EditSeq(memory);
        var previous = memory.History(entityId);
        var applied = memory.Apply([MemoryEdits.Delete(existing)], seq);
        await PersistEditAsync(memory, entityId, previous, applied, seq,
            _audit.Entry("memory.delete", reason, seq, MemoryEdits.Details(existing, withVersion: false)));
    }

    /// <summary>World edits through the API follow the same explicit policy as inline markers.</summary>
    private async Task RequireEditsAllowedAsync()
    {
        if (!_turns.PolicyOf(await _turns.CanonAsync()).InterventionsAllowed)
            throw Problems.Forbidden("interventions_not_allowed", "World edits are not allowed in this session (interventionsAllowed is false).");
    }

    /// <summary>An edit belongs to the state after the last committed turn (rollback to that turn keeps it).</summary>
    private int EditSeq(WorldMemory memory) => Math.Max(S.CommittedSeq(), memory.HeadSeq);

    /// <summary>
    /// Stores an API edit (memory, audit, header). If any write fails the caller gets the error and the edit is
    /// undone in the activation too; the next memory write stores the entity as it was before.
    /// </summary>
    private async Task PersistEditAsync(WorldMemory memory, string entityId, IReadOnlyList<EntityRevision> previous,
        IReadOnlyList<MemoryOp> applied, int seq, AuditEntry audit)
    {
        try
        {
            await _memory.RefreshEmbeddingsQuietlyAsync(memory);
            var unit = _state.Begin();
            _memory.Stage(unit, memory);
            _audit.Stage(unit, audit);
            await WriteHeaderOrRevertAsync(unit);
        }
        catch
        {
            // The next queued turn may have started (and changed this entity) while the write was out.
            memory.Restore(entityId, previous, keepAfterSeq: seq);
            throw;
        }
        if (applied.Count > 0)
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.MemoryUpdated, Memory = [.. applied] });
    }

    // ---------------------------------------------------------------- rollback and fork

    public async Task<SessionInfo> Rollback(string ownerId, RollbackRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var reason = SessionSeeds.CheckReason(request.Reason);
        var toSeq = request.ToSeq;
        if (toSeq < 0 || toSeq > S.LastSeq) throw Problems.Invalid("toSeq", $"toSeq must be between 0 and {S.LastSeq}.");
        SessionSeeds.CheckRollback(S, _turns.PolicyOf(await _turns.CanonAsync()), reason);

        var memory = await _memory.GetAsync();
        await _memory.SettledAsync();
        if (toSeq < memory.FloorSeq)
            throw Problems.Conflict("memory_history_compacted",
                $"Memory history before turn {memory.FloorSeq} was compacted; the session cannot be rolled back to turn {toSeq}.");

        var clock = Stopwatch.StartNew();
        var fromSeq = S.LastSeq;
        var kept = await _journal.LiveAsync(toSeq);
        var restoredTone = S.Tones.LastOrDefault(t => t.Seq <= toSeq)?.Tone;
        var unit = _state.Begin();
        _audit.Stage(unit, _audit.Entry("rollback", reason, toSeq, new(StringComparer.Ordinal)
        {
            ["fromSeq"] = fromSeq.ToString(CultureInfo.InvariantCulture),
            ["toSeq"] = toSeq.ToString(CultureInfo.InvariantCulture),
            ["retconnedTurns"] = (fromSeq - toSeq).ToString(CultureInfo.InvariantCulture),
            ["memoryHeadSeq"] = memory.HeadSeq.ToString(CultureInfo.InvariantCulture),
        }));

        S.Segments.Add(new TimelineSegment { StartSeq = toSeq + 1, StartOrdinal = S.NextOrdinal });
        S.Segments = TimelineSegments.Unshadowed(S.Segments, x => x.StartSeq);
        S.LastSeq = toSeq;
        S.TurnCount = kept.Count(r => r.Turn.Status == TurnStatus.Completed);
        S.Tones.RemoveAll(t => t.Seq > toSeq);
        S.UpdatedAt = DateTime.UtcNow;
        await WriteHeaderOrRevertAsync(unit);
        _journal.ForgetRecent();

        memory.RollbackTo(toSeq);
        await _memory.RefreshEmbeddingsQuietlyAsync(memory);
        var memoryUnit = _state.Begin();
        _memory.Stage(memoryUnit, memory);
        await _state.CommitUntilDurableAsync(memoryUnit, _stopping.Token, _storageRetrying);
        LogRolledBack(SessionId, fromSeq, toSeq, clock.ElapsedMilliseconds, restoredTone ?? "");

        var info = Info();
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.SessionRolledBack, Session = info });
        return info;
    }

    public async Task<SessionInfo> Fork(string ownerId, ForkRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var (reason, name) = SessionSeeds.CheckFork(S, request);
        var atSeq = request.AtSeq;

        var memory = await _memory.GetAsync();
        if (atSeq < memory.FloorSeq)
            throw Problems.Conflict("memory_history_compacted", $"Memory history before turn {memory.FloorSeq} was compacted; cannot fork at turn {atSeq}.");
        // A copy as of atSeq: a running turn's uncommitted changes are later than atSeq, so they are dropped too.
        var copy = _memory.CopyAsOf(memory, atSeq);
        var forkOwner = request.NewOwnerId ?? S.OwnerId; // multiplayer hook: a member's fork is theirs alone
        // A fork is a new session: like a create, only in a world its owner may still play (404 like an unknown world).
        await GrainFactory.GetGrain<IWorldGrain>(S.WorldId).GetCanon(new Caller { OwnerId = forkOwner }, S.CanonVersion, includeFiles: false);
        await _tenancy.CheckCreateQuotaAsync(forkOwner);
        var seed = SessionSeeds.Fork(S, SessionId, atSeq, await _journal.LiveAsync(atSeq), copy, name) with { OwnerId = forkOwner };
        var details = SessionSeeds.ForkDetails(SessionId, request.NewSessionId, seed);
        var info = await GrainFactory.GetGrain<ISessionSeedGrain>(request.NewSessionId).Restore(seed, _audit.Entry("fork", reason, atSeq, details));
        var unit = _state.Begin();
        _audit.Stage(unit, _audit.Entry("fork", reason, atSeq, details));
        await WriteHeaderOrRevertAsync(unit);
        return info;
    }

    /// <summary>Fills this brand-new session from a seed: turns, memory, audit and header in one transaction.</summary>
    public async Task<SessionInfo> Restore(SessionSeed seed, AuditEntry creation)
    {
        ArgumentNullException.ThrowIfNull(seed);
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");
        return await FoundAsync(() => RestoreCoreAsync(seed, creation));
    }

    private async Task<SessionInfo> RestoreCoreAsync(SessionSeed seed, AuditEntry creation)
    {
        var unit = _state.Begin();
        foreach (var record in seed.Turns) _journal.Put(unit, record);
        _memory.StageShards(unit, seed.MemoryShards);
        _state.State = SessionSeeds.StateOf(seed, _memory.Options.ShardCount);
        _audit.Stage(unit, [.. seed.Audit, creation with { Actor = seed.OwnerId }]);
        var owner = GrainFactory.GetGrain<IOwnerGrain>(seed.OwnerId);
        var entry = OwnerIndexRows.Stage(unit, owner.GetGrainId(), new OwnedSession { SessionId = SessionId, CreatedAt = seed.CreatedAt });
        try
        {
            await _state.CommitAsync(unit);
        }
        catch
        {
            _state.Abandon(unit);
            _state.State = new SessionState();
            throw;
        }
        _memory.Reset();
        _journal.ForgetRecent();
        await owner.Add(entry);
        _tenancy.ReportStoredBytes(force: true);
        _metrics.SessionCreated();
        return Info();
    }

    // ---------------------------------------------------------------- export and import

    public async Task<SessionExport> Export(string ownerId)
    {
        Require(ownerId);
        // A rework rewrites a committed turn in place: until it commits, the journal holds neither a whole old nor a
        // whole new story to export.
        if (S.Pending.FirstOrDefault(p => p.Rework is not null) is { } rework)
            throw Problems.Conflict("rework_running", $"Turn {rework.Turn.Seq} is being reworked (regenerate, continue or resend); export once it has finished.");
        return await SessionSeeds.ExportAsync(S, SessionId, _journal, _memory, _audit);
    }

    public async Task<SessionInfo> Import(string ownerId, SessionExport export)
    {
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");
        return await FoundAsync(() => ImportCoreAsync(ownerId, export));
    }

    private async Task<SessionInfo> ImportCoreAsync(string ownerId, SessionExport export)
    {
        ArgumentNullException.ThrowIfNull(export);
        if (export.Format != SessionExport.FormatV1)
            throw Problems.Invalid("format", $"format must be \"{SessionExport.FormatV1}\".");
        if (export.Session is null || export.Canon is null || export.Timeline is null)
            throw Problems.Invalid("session", "session, canon and timeline are required.");
        if (string.IsNullOrEmpty(export.Canon.WorldId)) throw Problems.Invalid("canon.worldId", "canon.worldId is required.");
        // Exports of older builds list segments that later rollbacks shadowed; they place no turn.
        if (export.Timeline.Segments is { } segments && segments.All(x => x is not null))
            export = export with { Timeline = export.Timeline with { Segments = TimelineSegments.Unshadowed(segments, x => x.StartSeq) } };
        // Counters and sizes against the export's own content first: linear in the body, before any storage call.
        ImportGuard.Check(export, SessionSeeds.ImportLimits(_options, _memory.Options));

        // The importer must be able to play the world (404 like an unknown world otherwise).
        var canon = await GrainFactory.GetGrain<IWorldGrain>(export.Canon.WorldId)
            .GetCanon(new Caller { OwnerId = ownerId }, export.Canon.Version, includeFiles: false);
        if (canon.Version != export.Canon.Version || canon.Hash != export.Canon.Hash)
            throw Problems.Unprocessable("canon_mismatch",
                $"World '{export.Canon.WorldId}' version {export.Canon.Version} has hash {canon.Hash}, not {export.Canon.Hash}; publish the same canon first.",
                new() { ["canon.hash"] = ["does not match the stored canon version"] });

        var records = SessionSeeds.ImportTurns(export.Turns ?? [], export.Timeline);
        await _tenancy.CheckCreateQuotaAsync(ownerId);
        var shards = SessionSeeds.ImportMemory(export.Memory ?? [], export.Timeline, _memory.Options.ShardCount);
        var llm = export.Llm ?? new LlmSettings { Provider = export.Session.Llm?.Provider, Model = export.Session.Llm?.Model };
        var seed = SessionSeeds.Import(ownerId, export, records, shards, _llm.Resolve(llm));
        return await RestoreCoreAsync(seed, SessionSeeds.ImportAudit(ownerId, export, records.Count));
    }

    // ---------------------------------------------------------------- audit

    public async Task<AuditPage> ListAudit(string ownerId, int limit, long? after, MemberRole viewer)
    {
        Require(ownerId);
        var page = await _audit.ListAsync(limit, after);
        // The cursor stays the position of the last entry read, so a page thinned for a member still pages on.
        return page with { Items = [.. page.Items.Where(e => e.IsVisibleTo(viewer))] };
    }

    public async Task<AdminSessionView> ReadForSupport(Caller admin, string? reason)
    {
        SupportReads.RequireAdmin(admin);
        if (!S.Exists) throw Unknown();
        var why = SessionSeeds.CheckReason(reason);
        // The read is audited before it answers; if the audit cannot be written, nothing is read. A turn being
        // committed appends its own audit rows at the next position, so wait for it (one turn at most).
        await RunningTurnCommittedAsync();
        await _memory.SettledAsync();
        var unit = _state.Begin();
        _audit.Stage(unit, SupportReads.Entry(S, admin, why));
        await WriteHeaderOrRevertAsync(unit);
        LogSupportRead(SessionId, admin.OwnerId, why ?? "");
        return new AdminSessionView { OwnerId = S.OwnerId, Session = Info() };
    }

    /// <summary>Waits (bounded) until no turn is between narration and commit; the pump resolves the waiter after the commit.</summary>
    private async Task RunningTurnCommittedAsync()
    {
        var deadline = DateTime.UtcNow + SupportReadWait;
        while (S.Pending is [{ Turn.Status: TurnStatus.Running } running, ..] && DateTime.UtcNow < deadline)
        {
            var remaining = TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks));
            if (!(await _waiters.WaitAsync(running.Turn.TurnId, remaining)).Finished)
                throw Problems.Conflict("turn_running", "A turn is being committed; retry the support read in a moment.");
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: rolled back from turn {FromSeq} to {ToSeq} in {ElapsedMs} ms (tone now '{Tone}')")]
    private partial void LogRolledBack(string sessionId, int fromSeq, int toSeq, long elapsedMs, string tone);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: support read by admin {Admin} ({Reason})")]
    private partial void LogSupportRead(string sessionId, string admin, string reason);
}
