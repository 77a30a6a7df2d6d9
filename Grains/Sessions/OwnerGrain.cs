using Loom.Errors;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

[GenerateSerializer, Alias("loom.OwnerState")]
public sealed class OwnerState
{
    [Id(0)] public List<OwnedSession> Sessions { get; set; } = [];
    /// <summary>Session id → stored bytes it last reported (sessions absent here have reported nothing yet).</summary>
    [Id(1)] public Dictionary<string, long> StoredBytes { get; set; } = new(StringComparer.Ordinal);
    /// <summary>Sessions of others this owner is a member of (multiplayer); listed, never counted toward quotas.</summary>
    [Id(2)] public List<OwnedSession> Joined { get; set; } = [];
}

/// <summary>
/// An owner's session index, oldest first, and the stored size each session last reported. Session details stay
/// in the sessions themselves.
/// Nothing on a session's create or turn path waits for this grain's storage: <see cref="Add"/> changes the index in
/// memory (so the owner's next list already shows the session: read-your-writes) and the row is written within
/// <see cref="IndexFlushDelay"/>, one write for however many sessions arrived meanwhile; size reports are folded in
/// within <see cref="SizeFlushEvery"/>. Removal (permanent delete) stays synchronous, so an erased session never
/// reappears. The cost: a silo that dies within the flush delay of a create loses that index entry (the session
/// itself is durable and reachable by its id).
/// </summary>
[Reentrant]
public sealed partial class OwnerGrain(
    [PersistentState("owner", StorageNames.Provider)] IPersistentState<OwnerState> state,
    IOptions<QuotaOptions> quotas,
    ILogger<OwnerGrain> logger) : Grain, IOwnerGrain
{
    private static readonly TimeSpan IndexFlushDelay = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan SizeFlushEvery = TimeSpan.FromSeconds(5);
    private IGrainTimer? _flush;
    private DateTime _flushDue;
    // The index's ids, for membership tests in O(1): an owner with thousands of sessions scanned the list on every create.
    private HashSet<string>? _ids;

    private HashSet<string> Ids => _ids ??= state.State.Sessions.Select(s => s.SessionId).ToHashSet(StringComparer.Ordinal);

    public Task Add(OwnedSession session)
    {
        if (!Ids.Add(session.SessionId)) return Task.CompletedTask;
        state.State.Sessions.Add(session);
        ScheduleFlush(IndexFlushDelay);
        return Task.CompletedTask;
    }

    public async Task Remove(string sessionId)
    {
        var removed = Ids.Remove(sessionId) && state.State.Sessions.RemoveAll(s => s.SessionId == sessionId) > 0;
        if (state.State.StoredBytes.Remove(sessionId) || removed) await state.WriteStateAsync();
    }

    public async Task Join(OwnedSession joined)
    {
        ArgumentNullException.ThrowIfNull(joined);
        var index = state.State.Joined.FindIndex(s => s.SessionId == joined.SessionId);
        if (index >= 0 && state.State.Joined[index] == joined) return;
        if (index >= 0) state.State.Joined[index] = joined;
        else state.State.Joined.Add(joined);
        await state.WriteStateAsync();
    }

    public async Task Leave(string sessionId)
    {
        if (state.State.Joined.RemoveAll(s => s.SessionId == sessionId) > 0) await state.WriteStateAsync();
    }

    public Task<List<OwnedSession>> List() => Task.FromResult(state.State.Sessions.ToList());

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
            var infos = await Task.WhenAll(page.Select(InfoAsync));
            var consumed = 0;
            foreach (var info in infos)
            {
                consumed++;
                if (info is null || (status is { } wanted && info.Status != wanted)) continue;
                items.Add(info);
                if (items.Count == limit) break;
            }
            var last = page.Count > 0 ? page[consumed - 1].SessionId : null;
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

    /// <summary>Index entries newest first after the cursor <paramref name="after"/> (a session id), and the cursor of
    /// the page after them (null at the end).</summary>
    private (List<OwnedSession> Page, string? Next) PageOf(string? after, int limit, bool includeJoined = false)
    {
        var owned = (includeJoined ? state.State.Sessions.Concat(state.State.Joined) : state.State.Sessions).OrderByDescending(s => s.CreatedAt).ThenBy(s => s.SessionId, StringComparer.Ordinal).ToList();
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            var index = owned.FindIndex(s => s.SessionId == after);
            if (index < 0) throw Problems.Invalid("after", "after is not a cursor from this list.");
            start = index + 1;
        }
        var page = owned.Skip(start).Take(limit).ToList();
        return (page, start + page.Count < owned.Count && page.Count > 0 ? page[^1].SessionId : null);
    }

    public Task ReportStoredBytes(string sessionId, long bytes)
    {
        // A report that overtakes its session's removal (or precedes its Add) is not counted.
        if (!Ids.Contains(sessionId)) return Task.CompletedTask;
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
        if (limits.MaxSessions is { } maxSessions && state.State.Sessions.Count >= maxSessions)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Sessions,
                $"Owner '{owner}' has {state.State.Sessions.Count} session(s); the quota is {maxSessions}. Delete sessions permanently to make room.");
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
        ArgumentNullException.ThrowIfNull(admin);
        if (!admin.IsAdmin) throw Problems.NotPermitted("Support reads need the admin role.");
        var (page, next) = PageOf(after, Math.Clamp(limit, 1, 200));
        var items = await Task.WhenAll(page.Select(s => ReadOneAsync(s.SessionId)));
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
        await state.WriteStateAsync(cancellationToken);
    }

    private long Total() => state.State.StoredBytes.Values.Sum();

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
            await state.WriteStateAsync();
        }
        catch (Exception ex)
        {
            // Storage is away: the index stays in memory and the write is tried again.
            LogFlushFailed(ex, this.GetPrimaryKeyString());
            ScheduleFlush(IndexFlushDelay * 4);
        }
        finally
        {
            timer?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Owner index of {OwnerId} not written; retrying")]
    private partial void LogFlushFailed(Exception ex, string ownerId);
}
