using System.Text;
using Loom.Errors;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.Extensions.Logging;

namespace Loom.Sessions;

/// <summary>
/// Tenancy concerns kept apart from the turn pipeline: quotas (sessions and stored bytes per owner), the stored
/// size a session reports to its owner, audited support reads by admins, and journal walks that cost what the
/// session holds rather than what its counters claim.
/// </summary>
public sealed partial class SessionGrain
{
    /// <summary>Size reports are one-way and at most this often per session (plus one when it deactivates).</summary>
    private static readonly TimeSpan ReportBytesEvery = TimeSpan.FromSeconds(10);
    /// <summary>How long a session trusts the owner's stored-bytes total before asking again (only with a storage quota).</summary>
    private static readonly TimeSpan OwnerBytesFresh = TimeSpan.FromSeconds(30);
    private const int JournalBatch = 64;
    /// <summary>Longest a support read waits for a running turn's commit (well inside the call's response timeout).</summary>
    private static readonly TimeSpan SupportReadWait = TimeSpan.FromSeconds(20);

    private long _reportedBytes = -1;
    private IGrainTimer? _reportLater;
    private DateTime _reportedAt;
    /// <summary>Stored bytes of the owner's other sessions, as last read.</summary>
    private long _ownerBytes;
    private DateTime _ownerBytesAt;

    public async Task<AdminSessionView> ReadForSupport(Caller admin, string? reason)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (!admin.IsAdmin) throw Problems.NotPermitted("Support reads need the admin role.");
        if (!S.Exists) throw Problems.NotFound("Session", SessionId);
        var why = CheckReason(reason);
        // The read is audited before it answers; if the audit cannot be written, nothing is read. A turn being
        // committed appends its own audit rows at the next position, so wait for it (one turn at most).
        await RunningTurnCommittedAsync();
        await MemorySettledAsync();
        var unit = _state.Begin();
        StageAudit(unit, [Audit("admin.read", why, CommittedSeq, new(StringComparer.Ordinal) { ["scope"] = "metadata" })
            with { Actor = admin.OwnerId }]);
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
            var waiter = new TaskCompletionSource<TurnView>(TaskCreationOptions.RunContinuationsAsynchronously);
            if (!_waiters.TryGetValue(running.Turn.TurnId, out var list)) _waiters[running.Turn.TurnId] = list = [];
            list.Add(waiter);
            try
            {
                await waiter.Task.WaitAsync(TimeSpan.FromTicks(Math.Max(0, (deadline - DateTime.UtcNow).Ticks)));
            }
            catch (TimeoutException)
            {
                list.Remove(waiter);
                throw Problems.Conflict("turn_running", "A turn is being committed; retry the support read in a moment.");
            }
        }
    }

    /// <summary>One grain call to the owner, and only when a session or storage quota is configured.</summary>
    private Task CheckCreateQuotaAsync(string ownerId) =>
        _quotas.MaxSessions is null && _quotas.MaxStoredBytes is null
            ? Task.CompletedTask
            : GrainFactory.GetGrain<IOwnerGrain>(ownerId).CheckCreateQuota();

    /// <summary>
    /// Refuses a turn once the owner's stored bytes reach the quota: the other sessions' last known total (read at most
    /// every <see cref="OwnerBytesFresh"/>) plus this session's own current figure; no owner-wide write.
    /// </summary>
    private async Task CheckStorageQuotaAsync()
    {
        if (_quotas.MaxStoredBytes is not { } max) return;
        var now = DateTime.UtcNow;
        if (now - _ownerBytesAt > OwnerBytesFresh)
        {
            _ownerBytes = await GrainFactory.GetGrain<IOwnerGrain>(S.OwnerId).StoredBytes(SessionId);
            _ownerBytesAt = now;
        }
        var total = _ownerBytes + S.StoredBytes;
        if (total >= max)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Storage,
                $"Owner '{S.OwnerId}' stores {total} bytes of turn text; the quota is {max}. Delete sessions permanently to make room.");
        }
    }

    /// <summary>Sends this session's stored bytes to its owner without waiting (one-way), when they changed; a change
    /// inside the throttle window is sent by a one-shot timer at the window's end, so the owner's figure settles.</summary>
    private void ReportStoredBytes(bool force)
    {
        // Only a storage quota reads the figures; nothing new to say (or never any text) means nothing to send.
        if (_quotas.MaxStoredBytes is null || !S.Exists || S.StoredBytes == Math.Max(0, _reportedBytes)) return;
        var now = DateTime.UtcNow;
        if (!force && now - _reportedAt < ReportBytesEvery)
        {
            _reportLater ??= this.RegisterGrainTimer(_ =>
            {
                _reportLater?.Dispose();
                _reportLater = null;
                ReportStoredBytes(force: true);
                return Task.CompletedTask;
            }, _reportedAt + ReportBytesEvery - now, Timeout.InfiniteTimeSpan);
            return;
        }
        try
        {
            // A one-way call completes at once; the owner folds the figure in on its own time.
            _ = GrainFactory.GetGrain<IOwnerGrain>(S.OwnerId).ReportStoredBytes(SessionId, S.StoredBytes);
            _reportedBytes = S.StoredBytes;
            _reportedAt = now;
        }
        catch (Exception ex)
        {
            LogSizeReportFailed(ex, SessionId);
        }
    }

    /// <summary>What a turn adds to stored bytes: the UTF-8 size of its input, narrative and out-of-character reply.</summary>
    private static long StoredBytesOf(TurnView turn) =>
        Encoding.UTF8.GetByteCount(turn.Input ?? "") + Encoding.UTF8.GetByteCount(turn.Narrative ?? "")
        + Encoding.UTF8.GetByteCount(turn.OocReply ?? "");

    /// <summary>
    /// Committed records at positions [0, n), read a batch at a time up to the first missing one. A journal has no
    /// gaps below its first pending turn, so this costs what the session holds even if a header's counter claims more.
    /// </summary>
    private async Task<List<TurnRecord>> CommittedJournalAsync(long claimedEnd)
    {
        var records = new List<TurnRecord>();
        for (long from = 0; from < claimedEnd; from += JournalBatch)
        {
            var batch = Range(from, Math.Min(claimedEnd, from + JournalBatch)).ToList();
            var read = await Task.WhenAll(batch.Select(_journal.ReadAsync));
            foreach (var record in read)
            {
                if (record is null) return records;
                records.Add(record);
            }
        }
        return records;
    }

    /// <summary>Live turns 1..<paramref name="toSeq"/>, a batch at a time, up to the first missing one (as above: what
    /// the session holds bounds the walk, not what <see cref="SessionState.LastSeq"/> claims).</summary>
    private async Task<List<TurnRecord>> LiveTurnsAsync(int toSeq)
    {
        var records = new List<TurnRecord>(Math.Min(toSeq, JournalBatch));
        for (var from = 1; from <= toSeq; from += JournalBatch)
        {
            var batch = Enumerable.Range(from, Math.Min(JournalBatch, toSeq - from + 1)).Select(OrdinalOfSeq).ToList();
            var read = await Task.WhenAll(batch.Select(_journal.ReadAsync));
            foreach (var record in read)
            {
                if (record is null) return records;
                records.Add(record);
            }
        }
        return records;
    }

    /// <summary>
    /// Stages the erase of every journal record: the pending turns' (a commit cut off before its header may have left
    /// one) and the committed ones, found as <see cref="CommittedJournalAsync"/> finds them, so the walk costs what the
    /// session holds even if a header's counter claims more.
    /// </summary>
    private async Task StageJournalEraseAsync(RowUnit unit)
    {
        foreach (var pending in S.Pending) _journal.Delete(unit, pending.Ordinal);
        var firstPending = S.Pending.Count > 0 ? S.Pending[0].Ordinal : S.NextOrdinal;
        long end = 0;
        for (long from = 0; from < firstPending && end == from; from += JournalBatch)
        {
            var batch = Range(from, Math.Min(firstPending, from + JournalBatch)).ToList();
            var read = await Task.WhenAll(batch.Select(_journal.ReadAsync));
            var present = Array.FindIndex(read, r => r is null);
            end = from + (present < 0 ? read.Length : present);
        }
        for (long ordinal = 0; ordinal < end; ordinal++) _journal.Delete(unit, ordinal);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: support read by admin {Admin} ({Reason})")]
    private partial void LogSupportRead(string sessionId, string admin, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not report its stored bytes")]
    private partial void LogSizeReportFailed(Exception ex, string sessionId);
}
