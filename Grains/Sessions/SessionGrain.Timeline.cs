using System.Diagnostics;
using System.Globalization;
using Loom.Errors;
using Loom.Events;
using Loom.Memory;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.Extensions.Logging;

namespace Loom.Sessions;

/// <summary>
/// Rollback and fork. A rollback never rewrites old turns: it starts a new timeline segment in the header, and
/// a stored turn that the segments no longer map to its seq reads as retconned. The header is written first (the
/// commit point); memory follows, and a crash in between is repaired on load (memory ahead of the committed seq
/// is rolled back, as after a crashed turn). Rollback answers 409 while turns are queued or running; fork reads
/// committed turns only, so it works while a turn runs.
/// </summary>
public sealed partial class SessionGrain : ISessionSeedGrain
{
    public async Task<SessionInfo> Rollback(string ownerId, RollbackRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var reason = CheckReason(request.Reason);
        var toSeq = request.ToSeq;
        if (toSeq < 0 || toSeq > S.LastSeq) throw Problems.Invalid("toSeq", $"toSeq must be between 0 and {S.LastSeq}.");
        var policy = PolicyOf(await CanonAsync());
        if (!policy.RetconAllowed)
            throw Problems.Forbidden("retcon_not_allowed", "Rollbacks are retcons, and retcons are not allowed in this session.");
        if (policy.JustificationProblem(reason) is { } why) throw Problems.Invalid("reason", $"reason: {why}.");
        if (S.Pending.Count > 0)
            throw Problems.Conflict("turns_pending",
                $"{S.Pending.Count} turn(s) are queued or running; roll back once they have finished.");

        var memory = await MemoryAsync();
        await MemorySettledAsync();
        if (toSeq < memory.FloorSeq)
            throw Problems.Conflict("memory_history_compacted",
                $"Memory history before turn {memory.FloorSeq} was compacted; the session cannot be rolled back to turn {toSeq}.");

        var clock = Stopwatch.StartNew();
        var fromSeq = S.LastSeq;
        var kept = await LiveTurnsAsync(toSeq);
        var restoredTone = S.Tones.LastOrDefault(t => t.Seq <= toSeq)?.Tone;
        var unit = _state.Begin();
        StageAudit(unit, [Audit("rollback", reason, toSeq, new(StringComparer.Ordinal)
        {
            ["fromSeq"] = fromSeq.ToString(CultureInfo.InvariantCulture),
            ["toSeq"] = toSeq.ToString(CultureInfo.InvariantCulture),
            ["retconnedTurns"] = (fromSeq - toSeq).ToString(CultureInfo.InvariantCulture),
            ["memoryHeadSeq"] = memory.HeadSeq.ToString(CultureInfo.InvariantCulture),
        })]);

        S.Segments.Add(new TimelineSegment { StartSeq = toSeq + 1, StartOrdinal = S.NextOrdinal });
        S.LastSeq = toSeq;
        S.TurnCount = kept.Count(r => r.Turn.Status == TurnStatus.Completed);
        S.Tones.RemoveAll(t => t.Seq > toSeq);
        S.UpdatedAt = DateTime.UtcNow;
        await WriteHeaderOrRevertAsync(unit);
        _recent = null;

        memory.RollbackTo(toSeq);
        await RefreshEmbeddingsQuietlyAsync(memory);
        var memoryUnit = _state.Begin();
        StageMemory(memoryUnit, memory);
        await RetryStorageAsync(() => _state.CommitAsync(memoryUnit));
        LogRolledBack(SessionId, fromSeq, toSeq, clock.ElapsedMilliseconds, restoredTone ?? "");

        var info = Info();
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.SessionRolledBack, Session = info });
        return info;
    }

    public async Task<SessionInfo> Fork(string ownerId, ForkRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var reason = CheckReason(request.Reason);
        var name = request.Name?.Trim();
        if (name is { Length: > 200 }) throw Problems.Invalid("name", "name must be at most 200 characters.");
        var atSeq = request.AtSeq;
        if (atSeq < 0 || atSeq > S.LastSeq) throw Problems.Invalid("atSeq", $"atSeq must be between 0 and {S.LastSeq}.");
        var committed = CommittedSeq;
        if (atSeq > committed)
            throw Problems.Conflict("turn_not_committed", $"Turn {atSeq} has not finished yet; fork at or before turn {committed}, or wait.");

        var memory = await MemoryAsync();
        if (atSeq < memory.FloorSeq)
            throw Problems.Conflict("memory_history_compacted", $"Memory history before turn {memory.FloorSeq} was compacted; cannot fork at turn {atSeq}.");
        // A copy as of atSeq: a running turn's uncommitted changes are later than atSeq, so they are dropped too.
        var copy = MemoryFactory.Load(memory.AllShards());
        copy.RollbackTo(atSeq);
        var forkOwner = request.NewOwnerId ?? S.OwnerId; // multiplayer hook: a member's fork is theirs alone
        await CheckCreateQuotaAsync(forkOwner);
        var records = await LiveTurnsAsync(atSeq);
        // Only the live turns up to atSeq move, packed at ordinals 0..atSeq-1 under new ids.
        var turns = records.Select((r, i) => new TurnRecord { Ordinal = i, Turn = r.Turn with { TurnId = TurnIds.New(i) } }).ToList();
        var now = DateTime.UtcNow;
        var seed = new SessionSeed
        {
            OwnerId = forkOwner,
            Name = string.IsNullOrEmpty(name) ? Truncate($"{S.Name} (fork at turn {atSeq})", 200) : name,
            Canon = new CanonRef { WorldId = S.WorldId, Version = S.CanonVersion, Hash = S.CanonHash },
            Llm = S.Llm,
            Usage = turns.Aggregate(Usage.Zero, (sum, t) => sum.Add(t.Turn.Usage)),
            Turns = turns,
            MemoryShards = copy.AllShards().Where(s => s.Entities.Count > 0).ToList(),
            Timeline = new ExportedTimeline
            {
                LastSeq = atSeq,
                NextOrdinal = atSeq,
                Segments = [new ExportedSegment { StartSeq = 1, StartOrdinal = 0 }],
                Tones = S.Tones.Where(t => t.Seq <= atSeq).ToList(),
                Policy = S.Policy,
                MemoryFloorSeq = copy.FloorSeq,
            },
            CreatedAt = now,
            ForkedFrom = $"{SessionId}@{atSeq}",
        };
        var details = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["sourceSessionId"] = SessionId,
            ["forkSessionId"] = request.NewSessionId,
            ["atSeq"] = atSeq.ToString(CultureInfo.InvariantCulture),
            ["turnsCopied"] = turns.Count.ToString(CultureInfo.InvariantCulture),
            ["entitiesCopied"] = seed.MemoryShards.Sum(s => s.Entities.Count).ToString(CultureInfo.InvariantCulture),
        };
        var info = await GrainFactory.GetGrain<ISessionSeedGrain>(request.NewSessionId).Restore(seed, Audit("fork", reason, atSeq, details));
        var unit = _state.Begin();
        StageAudit(unit, [Audit("fork", reason, atSeq, details)]);
        await WriteHeaderOrRevertAsync(unit);
        return info;
    }

    /// <summary>Fills this brand-new session from a seed: turns, memory, audit and header in one transaction.</summary>
    public async Task<SessionInfo> Restore(SessionSeed seed, AuditEntry creation)
    {
        ArgumentNullException.ThrowIfNull(seed);
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");

        var unit = _state.Begin();
        foreach (var record in seed.Turns) _journal.Put(unit, record.Ordinal, record);
        foreach (var shard in seed.MemoryShards) Shards.Put(unit, shard.Index, shard);

        var timeline = seed.Timeline;
        var live = seed.Turns.Where(r => IsLive(r, timeline)).Select(r => r.Turn).ToList();
        _state.State = new SessionState
        {
            Exists = true,
            OwnerId = seed.OwnerId,
            Name = seed.Name,
            WorldId = seed.Canon.WorldId,
            CanonVersion = seed.Canon.Version,
            CanonHash = seed.Canon.Hash,
            Status = seed.Status,
            CreatedAt = seed.CreatedAt,
            UpdatedAt = DateTime.UtcNow,
            LastTurnAt = live.Where(t => t.CompletedAt is not null).Select(t => t.CompletedAt).Max(),
            Llm = seed.Llm,
            Usage = seed.Usage,
            LastSeq = timeline.LastSeq,
            TurnCount = live.Count(t => t.Status == TurnStatus.Completed),
            NextOrdinal = timeline.NextOrdinal,
            Segments = timeline.Segments.Select(s => new TimelineSegment { StartSeq = s.StartSeq, StartOrdinal = s.StartOrdinal }).ToList(),
            Tones = [.. timeline.Tones],
            Policy = timeline.Policy,
            MemoryShards = MemoryOptions.ShardCount,
            ForkedFrom = seed.ForkedFrom,
            StoredBytes = seed.Turns.Sum(r => StoredBytesOf(r.Turn)),
        };
        StageAudit(unit, [.. seed.Audit, creation with { Actor = seed.OwnerId }]);
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
        _memoryLoad = null;
        _recent = null;
        await GrainFactory.GetGrain<IOwnerGrain>(seed.OwnerId).Add(new OwnedSession { SessionId = SessionId, CreatedAt = seed.CreatedAt });
        ReportStoredBytes(force: true);
        _metrics.SessionCreated();
        return Info();
    }

    private static bool IsLive(TurnRecord record, ExportedTimeline timeline)
    {
        var seq = record.Turn.Seq;
        if (seq < 1 || seq > timeline.LastSeq) return false;
        var segment = timeline.Segments.Last(s => s.StartSeq <= seq);
        return segment.StartOrdinal + (seq - segment.StartSeq) == record.Ordinal;
    }

    private static string? CheckReason(string? reason)
    {
        if (reason is { Length: > TimelineLimits.MaxReasonChars })
            throw Problems.Invalid("reason", $"reason must be at most {TimelineLimits.MaxReasonChars} characters.");
        return string.IsNullOrWhiteSpace(reason) ? null : reason.Trim();
    }

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: rolled back from turn {FromSeq} to {ToSeq} in {ElapsedMs} ms (tone now '{Tone}')")]
    private partial void LogRolledBack(string sessionId, int fromSeq, int toSeq, long elapsedMs, string tone);
}
