using Loom.Errors;
using Loom.Quotas;
using Loom.Security;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

[GenerateSerializer, Alias("loom.OwnerState")]
public sealed class OwnerState
{
    [Id(0)] public List<OwnedSession> Sessions { get; set; } = [];
    /// <summary>Session id → stored bytes it last reported (sessions absent here have reported nothing yet).</summary>
    [Id(1)] public Dictionary<string, long> StoredBytes { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>
/// An owner's session index, oldest first, and the stored size each session last reported. Session details stay
/// in the sessions themselves.
/// Reentrant: concurrent creates append in memory and Orleans merges their overlapping writes, so a burst of
/// session creates by one owner does not queue behind one storage write each. Size reports arrive one-way after
/// commits and are written at most every <see cref="SizeFlushEvery"/>, so turns never wait on this grain.
/// </summary>
[Reentrant]
public sealed class OwnerGrain(
    [PersistentState("owner", "loom")] IPersistentState<OwnerState> state,
    IOptions<QuotaOptions> quotas) : Grain, IOwnerGrain
{
    private static readonly TimeSpan SizeFlushEvery = TimeSpan.FromSeconds(5);
    private IGrainTimer? _sizeFlush;

    public async Task Add(OwnedSession session)
    {
        if (state.State.Sessions.Any(s => s.SessionId == session.SessionId)) return;
        state.State.Sessions.Add(session);
        await state.WriteStateAsync();
    }

    public async Task Remove(string sessionId)
    {
        var removed = state.State.Sessions.RemoveAll(s => s.SessionId == sessionId) > 0;
        if (state.State.StoredBytes.Remove(sessionId) || removed) await state.WriteStateAsync();
    }

    public Task<List<OwnedSession>> List() => Task.FromResult(state.State.Sessions.ToList());

    public Task ReportStoredBytes(string sessionId, long bytes)
    {
        // A report that overtakes its session's removal (or precedes its Add) is not counted.
        if (!state.State.Sessions.Any(s => s.SessionId == sessionId)) return Task.CompletedTask;
        if (state.State.StoredBytes.TryGetValue(sessionId, out var known) && known == bytes) return Task.CompletedTask;
        state.State.StoredBytes[sessionId] = bytes;
        _sizeFlush ??= this.RegisterGrainTimer(FlushSizesAsync, SizeFlushEvery, Timeout.InfiniteTimeSpan);
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
        limit = Math.Clamp(limit, 1, 200);
        // Newest first; the cursor is the last session id returned.
        var owned = state.State.Sessions.OrderByDescending(s => s.CreatedAt).ThenBy(s => s.SessionId, StringComparer.Ordinal).ToList();
        var start = 0;
        if (!string.IsNullOrEmpty(after))
        {
            var index = owned.FindIndex(s => s.SessionId == after);
            if (index < 0) throw Problems.Invalid("after", "after is not a cursor from this list.");
            start = index + 1;
        }
        var page = owned.Skip(start).Take(limit).ToList();
        var items = await Task.WhenAll(page.Select(s => ReadOneAsync(s.SessionId)));
        return new AdminSessionPage
        {
            Items = [.. items.OfType<AdminSessionView>()],
            Next = start + page.Count < owned.Count && page.Count > 0 ? page[^1].SessionId : null,
        };

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
        if (_sizeFlush is not null) await FlushSizesAsync(cancellationToken);
    }

    private long Total() => state.State.StoredBytes.Values.Sum();

    private async Task FlushSizesAsync(CancellationToken cancellationToken)
    {
        _sizeFlush?.Dispose();
        _sizeFlush = null;
        // Sizes are re-reported after later commits; a lost flush only delays the quota's view.
        await state.WriteStateAsync(cancellationToken);
    }
}
