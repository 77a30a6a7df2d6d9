using Loom.Errors;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Loom.Telemetry;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

[GenerateSerializer, Alias("loom.OwnerState")]
public sealed class OwnerState
{
    /// <summary>The index as builds before entry rows kept it (see <see cref="OwnerIndexRows"/>): moved into entry rows
    /// when the owner activates, then left empty.</summary>
    [Id(0)] public List<OwnedSession> Sessions { get; set; } = [];
    /// <summary>Session id → stored bytes it last reported (sessions absent here have reported nothing yet).</summary>
    [Id(1)] public Dictionary<string, long> StoredBytes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Sessions of others this owner is a member of (multiplayer); listed, never counted toward quotas.</summary>
    [Id(2)] public List<OwnedSession> Joined { get; set; } = [];
    /// <summary>With a read replica: sessions known to be idle → their header version then (see <see cref="IOwnerGrain.SessionIdle"/>).</summary>
    [Id(3)] public Dictionary<string, int> Idle { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// An owner's session index, oldest first, and the stored size each session last reported. Session details stay
/// in the sessions themselves.
/// Each index entry is its own row under this owner's key, written in the session's create transaction and deleted in
/// its erase transaction (<see cref="OwnerIndexRows"/>): a create writes nothing owner-wide and waits for nothing here,
/// and an entry is as durable as its session. <see cref="Add"/> puts it in memory, so the owner's next list shows it
/// (read-your-writes); activation reads the entries back. Size reports and idle marks live in the owner's row,
/// rewritten within <see cref="SizeFlushEvery"/> and <see cref="IdleFlushDelay"/>.
/// </summary>
[Reentrant]
public sealed partial class OwnerGrain(
    [PersistentState("owner", StorageNames.Provider)] IPersistentState<OwnerState> state,
    IOptions<QuotaOptions> quotas,
    IReplicaRowReader replica,
    IGrainRowStore rows,
    LoomMetrics metrics,
    ILogger<OwnerGrain> logger) : Grain, IOwnerGrain
{
    private static readonly TimeSpan IdleFlushDelay = TimeSpan.FromMilliseconds(500);
    /// <summary>Legacy entries moved into rows per transaction (an owner with tens of thousands of sessions).</summary>
    private const int LegacyEntriesPerCommit = 500;
    private static readonly TimeSpan SizeFlushEvery = TimeSpan.FromSeconds(5);
    private IGrainTimer? _flush;
    private DateTime _flushDue;
    private readonly List<OwnedSession> _sessions = [];
    // The index's ids, for membership tests in O(1): an owner with thousands of sessions scanned the list on every create.
    private readonly HashSet<string> _ids = new(StringComparer.Ordinal);
    // With a read replica: the live activation of each session that reported one (in memory; see SessionIdle).
    private readonly Dictionary<string, Guid> _live = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _writing = new(1, 1);

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        foreach (var row in await rows.ListAsync(this.GetGrainId(), OwnerIndexRows.RowPrefix)) Index(rows.Deserialize<OwnedSession>(row.Payload!));
        if (state.State.Sessions.Count > 0) await MoveLegacyEntriesAsync();
        _sessions.Sort((a, b) => a.CreatedAt.CompareTo(b.CreatedAt)); // rows come in id order; the index is oldest first
    }

    public async Task Add(OwnedSession session)
    {
        if (_ids.Contains(session.SessionId)) return;
        // A create of an older build (during a rolling upgrade) did not write the entry row with its session.
        if (!session.Stored) await rows.CommitAsync(OwnerIndexRows.Commit(this.GetGrainId(), [session], rows));
        Index(session);
    }

    private bool Index(OwnedSession session)
    {
        if (!_ids.Add(session.SessionId)) return false;
        _sessions.Add(session);
        return true;
    }

    /// <summary>Writes the entries an older build kept in the owner's row as entry rows, then empties that list: rows
    /// first, so a crash in between leaves an entry twice (read once), never lost.</summary>
    private async Task MoveLegacyEntriesAsync()
    {
        var legacy = new List<OwnedSession>();
        foreach (var entry in state.State.Sessions) if (Index(entry)) legacy.Add(entry);
        foreach (var chunk in legacy.Chunk(LegacyEntriesPerCommit)) await rows.CommitAsync(OwnerIndexRows.Commit(this.GetGrainId(), chunk, rows));
        state.State.Sessions = [];
        await WriteAsync();
        LogLegacyEntriesMoved(this.GetPrimaryKeyString(), legacy.Count);
    }

    public async Task Remove(string sessionId)
    {
        // The entry row went with the session's erase transaction.
        if (_ids.Remove(sessionId)) _sessions.RemoveAll(s => s.SessionId == sessionId);
        if (state.State.StoredBytes.Remove(sessionId) | state.State.Idle.Remove(sessionId)) await WriteAsync();
    }

    public Task SessionIdle(string sessionId, Guid activation, int headerVersion)
    {
        if (!_ids.Contains(sessionId)) return Task.CompletedTask;
        // A report that arrives after the next activation said it is live (the old one's call was slow) is stale.
        if (_live.TryGetValue(sessionId, out var live) && live != activation) return Task.CompletedTask;
        _live.Remove(sessionId);
        state.State.Idle[sessionId] = headerVersion;
        // Losing this write only loses the shortcut: an unknown session is listed through its grain.
        ScheduleFlush(IdleFlushDelay);
        return Task.CompletedTask;
    }

    public Task<int?> IdleVersion(string sessionId) =>
        Task.FromResult(state.State.Idle.TryGetValue(sessionId, out var version) ? version : (int?)null);

    public async Task SessionLive(string sessionId, Guid activation)
    {
        _live[sessionId] = activation;
        if (state.State.Idle.Remove(sessionId)) await WriteAsync();
    }

    public async Task Join(OwnedSession joined)
    {
        ArgumentNullException.ThrowIfNull(joined);
        var index = state.State.Joined.FindIndex(s => s.SessionId == joined.SessionId);
        if (index >= 0 && state.State.Joined[index] == joined) return;
        if (index >= 0) state.State.Joined[index] = joined;
        else state.State.Joined.Add(joined);
        await WriteAsync();
    }

    public async Task Leave(string sessionId)
    {
        if (state.State.Joined.RemoveAll(s => s.SessionId == sessionId) > 0) await WriteAsync();
    }

    public Task<List<OwnedSession>> List() => Task.FromResult(_sessions.ToList());

    public async Task<SessionPage> ListSessions(SessionStatus? status, int limit, string? after)
    {
        limit = Math.Clamp(limit, 1, 200);
        var owner = this.GetPrimaryKeyString();
        var items = new List<SessionInfo>(limit);
        string? next = null;
        // With a status filter, sessions are read a page at a time until the page is full or the index ends.
        while (true)
        {
            var (page, more) = PageOf(after, limit, includeJoined: true);
            var idle = await FromReplicaAsync(page);
            var infos = await Task.WhenAll(page.Select(e => idle.TryGetValue(e.SessionId, out var header)
                ? Task.FromResult<SessionInfo?>(header.ToInfo(e.SessionId) with { Role = Multiplayer.MemberRole.Owner })
                : InfoAsync(e)));
            var consumed = 0;
            foreach (var info in infos)
            {
                consumed++;
                if (info is null || (status is { } wanted && info.Status != wanted)) continue;
                items.Add(info);
                if (items.Count == limit) break;
            }
            var last = page.Count > 0 ? Cursor(page[consumed - 1]) : null;
            if (items.Count == limit)
            {
                next = more is not null || consumed < page.Count ? last : null;
                break;
            }
            if (more is null) break;
            after = last;
        }
        return new SessionPage { Items = items, Next = next };

        async Task<SessionInfo?> InfoAsync(OwnedSession entry)
        {
            try
            {
                var info = await GrainFactory.GetGrain<ISessionGrain>(entry.SessionId).GetInfo(entry.SharedBy ?? owner);
                return info with { Role = entry.SharedBy is null ? Multiplayer.MemberRole.Owner : entry.Role };
            }
            catch (LoomProblemException ex) when (ex.Status == 404)
            {
                return null; // erased between the index read and this one
            }
        }
    }

    /// <summary>
    /// Idle sessions of this owner whose header the read replica has at the version they went idle with (or later):
    /// listed from there without waking them. Live sessions, joined ones, rows the replica has not replayed yet and
    /// a replica that does not answer are left to their grains.
    /// </summary>
    private async Task<Dictionary<string, SessionState>> FromReplicaAsync(List<OwnedSession> page)
    {
        var found = new Dictionary<string, SessionState>(StringComparer.Ordinal);
        if (!replica.Enabled) return found;
        var idle = page.Where(e => e.SharedBy is null && state.State.Idle.ContainsKey(e.SessionId))
            .ToDictionary(e => GrainFactory.GetGrain<ISessionGrain>(e.SessionId).GetGrainId(), e => e.SessionId);
        if (idle.Count == 0)
        {
            metrics.SessionsListed(page.Count, 0);
            return found;
        }
        try
        {
            var owner = this.GetPrimaryKeyString();
            foreach (var (grain, row) in await replica.ReadHeadersAsync([.. idle.Keys], SessionRows.Header))
            {
                var sessionId = idle[grain];
                // The replica may lag: only a row at least as new as the one the session went idle with is current.
                if (!state.State.Idle.TryGetValue(sessionId, out var version) || row.Version < version) continue;
                var header = rows.Deserialize<SessionState>(row.Payload!);
                if (!header.Exists || header.OwnerId != owner) continue;
                found[sessionId] = header;
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReplicaFailed(ex, this.GetPrimaryKeyString());
        }
        metrics.SessionsListed(page.Count - found.Count, found.Count);
        return found;
    }

    /// <summary>Index entries newest first after the cursor <paramref name="after"/>, and the cursor of the page after
    /// them (null at the end). A cursor is the last entry's place in that order (its creation time and id), so it still
    /// resolves once that session is gone (deleted, left, kicked); a bare session id (a cursor of an older build) is
    /// looked up.</summary>
    private (List<OwnedSession> Page, string? Next) PageOf(string? after, int limit, bool includeJoined = false)
    {
        var owned = (includeJoined ? _sessions.Concat(state.State.Joined) : _sessions).OrderByDescending(s => s.CreatedAt).ThenBy(s => s.SessionId, StringComparer.Ordinal).ToList();
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            if (TryParseCursor(after, out var ticks, out var id))
            {
                start = owned.FindIndex(s => s.CreatedAt.Ticks < ticks || (s.CreatedAt.Ticks == ticks && string.CompareOrdinal(s.SessionId, id) > 0));
                if (start < 0) start = owned.Count;
            }
            else
            {
                var index = owned.FindIndex(s => s.SessionId == after);
                if (index < 0) throw Problems.Invalid("after", "after is not a cursor from this list.");
                start = index + 1;
            }
        }
        var page = owned.Skip(start).Take(limit).ToList();
        return (page, start + page.Count < owned.Count && page.Count > 0 ? Cursor(page[^1]) : null);
    }

    private static string Cursor(OwnedSession entry) =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"{entry.CreatedAt.Ticks}.{entry.SessionId}");

    private static bool TryParseCursor(string cursor, out long ticks, out string id)
    {
        var dot = cursor.IndexOf('.', StringComparison.Ordinal);
        id = dot > 0 ? cursor[(dot + 1)..] : "";
        return long.TryParse(cursor.AsSpan(0, Math.Max(0, dot)), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out ticks)
            && id.Length > 0;
    }

    public Task ReportStoredBytes(string sessionId, long bytes)
    {
        // A report that overtakes its session's removal (or precedes its Add) is not counted.
        if (!_ids.Contains(sessionId)) return Task.CompletedTask;
        if (state.State.StoredBytes.TryGetValue(sessionId, out var known) && known == bytes) return Task.CompletedTask;
        state.State.StoredBytes[sessionId] = bytes;
        ScheduleFlush(SizeFlushEvery);
        return Task.CompletedTask;
    }

    public Task<long> StoredBytes(string? exceptSessionId) =>
        Task.FromResult(Total() - (exceptSessionId is not null && state.State.StoredBytes.TryGetValue(exceptSessionId, out var own) ? own : 0));

    public Task CheckCreateQuota()
    {
        var limits = quotas.Value;
        var owner = this.GetPrimaryKeyString();
        if (limits.MaxSessions is { } maxSessions && _sessions.Count >= maxSessions)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Sessions,
                $"Owner '{owner}' has {_sessions.Count} session(s); the quota is {maxSessions}. Delete sessions permanently to make room.");
        }
        if (limits.MaxStoredBytes is { } maxBytes && Total() is var total && total >= maxBytes)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Storage,
                $"Owner '{owner}' stores {total} bytes of turn text; the quota is {maxBytes}. Delete sessions permanently to make room.");
        }
        return Task.CompletedTask;
    }

    public async Task<AdminSessionPage> ReadForSupport(Caller admin, string? reason, int limit, string? after)
    {
        SupportReads.RequireAdmin(admin);
        var why = Timeline.SessionSeeds.CheckReason(reason);
        var (page, next) = PageOf(after, Math.Clamp(limit, 1, 200));
        // Idle sessions from the replica, each read audited on the primary first (one transaction for the page); the
        // rest through their grains, which audit the read with their header.
        var idle = await FromReplicaAsync(page);
        await SupportReads.RecordPendingAsync(rows,
            [.. idle.Select(i => (GrainFactory.GetGrain<ISessionGrain>(i.Key).GetGrainId(), SupportReads.Entry(i.Value, admin, why)))]);
        if (idle.Count > 0) LogSupportReadsFromReplica(this.GetPrimaryKeyString(), admin.OwnerId, idle.Count);
        var items = await Task.WhenAll(page.Select(s => idle.TryGetValue(s.SessionId, out var header)
            ? Task.FromResult<AdminSessionView?>(new AdminSessionView { OwnerId = header.OwnerId, Session = header.ToInfo(s.SessionId) })
            : ReadOneAsync(s.SessionId)));
        return new AdminSessionPage { Items = [.. items.OfType<AdminSessionView>()], Next = next };

        async Task<AdminSessionView?> ReadOneAsync(string sessionId)
        {
            try
            {
                return await GrainFactory.GetGrain<ISessionGrain>(sessionId).ReadForSupport(admin, reason);
            }
            catch (LoomProblemException ex) when (ex.Status == 404)
            {
                // Erased between the index read and this one.
                return null;
            }
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        if (_flush is null) return;
        _flush.Dispose();
        _flush = null;
        await WriteAsync(cancellationToken);
    }

    private long Total() => state.State.StoredBytes.Values.Sum();

    /// <summary>
    /// Writes the row, one write at a time: the grain is reentrant, and two writes in flight would carry the same ETag
    /// (the second failing). Each write stores the state as it is when it starts, so a change is durable once a write
    /// started after it completes.
    /// </summary>
    private async Task WriteAsync(CancellationToken cancellationToken = default)
    {
        await _writing.WaitAsync(cancellationToken);
        try
        {
            await state.WriteStateAsync(cancellationToken);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes the row once within <paramref name="delay"/> (or sooner, if a flush is already due sooner).</summary>
    private void ScheduleFlush(TimeSpan delay)
    {
        var due = DateTime.UtcNow + delay;
        if (_flush is not null && _flushDue <= due) return;
        _flush?.Dispose();
        _flushDue = due;
        _flush = this.RegisterGrainTimer(FlushAsync, delay, Timeout.InfiniteTimeSpan);
    }

    private async Task FlushAsync()
    {
        // Not disposed before the write: disposing a timer cancels the token of the callback it is running.
        var timer = _flush;
        _flush = null;
        try
        {
            await WriteAsync();
        }
        catch (Exception ex)
        {
            // Storage is away: the index stays in memory and the write is tried again.
            LogFlushFailed(ex, this.GetPrimaryKeyString());
            ScheduleFlush(IdleFlushDelay * 4);
        }
        finally
        {
            timer?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Owner {OwnerId}: {Count} idle sessions read for admin {Admin} from the replica (audited on the primary)")]
    private partial void LogSupportReadsFromReplica(string ownerId, string admin, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read replica did not answer listing {OwnerId}'s sessions; reading them through their grains")]
    private partial void LogReplicaFailed(Exception ex, string ownerId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Owner {OwnerId}: {Count} index entries of an older build moved into entry rows")]
    private partial void LogLegacyEntriesMoved(string ownerId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Owner index of {OwnerId} not written; retrying")]
    private partial void LogFlushFailed(Exception ex, string ownerId);
}
