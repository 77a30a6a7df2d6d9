using System.Text;
using Loom.Budgets;
using Loom.Errors;
using Loom.Security;
using Loom.Sessions;
using Loom.Storage;
using Loom.Turns;
using Microsoft.Extensions.Logging;

namespace Loom.Quotas;

/// <summary>
/// What one session owes its owner, for one activation: the owner's caps checked before work is queued (sessions,
/// stored bytes, spend), the turn's usage committed with the turn and told to the owner, and the session's stored
/// size reported to the owner (throttled, one-way). Nothing here writes an owner-wide row on the turn path.
/// </summary>
public sealed partial class SessionTenancy(
    IGrainBase grain,
    string sessionId,
    GrainRows<SessionState> header,
    IGrainFactory grains,
    QuotaOptions quotas,
    BudgetOptions budgets,
    ILogger logger)
{
    /// <summary>Size reports are one-way and at most this often per session (plus one when it deactivates).</summary>
    private static readonly TimeSpan ReportBytesEvery = TimeSpan.FromSeconds(10);
    /// <summary>How long a session trusts the owner's stored-bytes total before asking again (only with a storage quota).</summary>
    private static readonly TimeSpan OwnerBytesFresh = TimeSpan.FromSeconds(30);

    private readonly ILogger _logger = logger;
    private long _reportedBytes = -1;
    private IGrainTimer? _reportLater;
    private DateTime _reportedAt;
    /// <summary>Stored bytes of the owner's other sessions, as last read.</summary>
    private long _ownerBytes;
    private DateTime _ownerBytesAt;
    private (string Owner, IOwnerUsageGrain Grain)? _usage;

    private SessionState S => header.State;

    /// <summary>The owner's usage grain, referenced once per activation (two uses per turn; a reference is built by
    /// reflection). Rebuilt if the header's owner is not the one it was built for (a create on this activation).</summary>
    private IOwnerUsageGrain Usage
    {
        get
        {
            if (_usage is not { } usage || !string.Equals(usage.Owner, S.OwnerId, StringComparison.Ordinal))
            {
                usage = (S.OwnerId, grains.GetGrain<IOwnerUsageGrain>(S.OwnerId));
                _usage = usage;
            }
            return usage.Grain;
        }
    }

    /// <summary>What a turn adds to stored bytes: the UTF-8 size of its input, narrative and out-of-character reply.</summary>
    public static long StoredBytesOf(TurnView turn) =>
        Encoding.UTF8.GetByteCount(turn.Input ?? "") + Encoding.UTF8.GetByteCount(turn.Narrative ?? "")
        + Encoding.UTF8.GetByteCount(turn.OocReply ?? "");

    /// <summary>One grain call to the owner, and only when a session or storage quota is configured.</summary>
    public Task CheckCreateQuotaAsync(string ownerId) => CheckCreateQuotaAsync(grains, quotas, ownerId);

    /// <inheritdoc cref="CheckCreateQuotaAsync(string)"/>
    public static Task CheckCreateQuotaAsync(IGrainFactory grains, QuotaOptions quotas, string ownerId) =>
        quotas.MaxSessions is null && quotas.MaxStoredBytes is null
            ? Task.CompletedTask
            : grains.GetGrain<IOwnerGrain>(ownerId).CheckCreateQuota();

    /// <summary>Refuses (429) a turn that would pass the owner's caps, before it is queued and so before any LLM call.</summary>
    public Task CheckBudgetAsync() =>
        budgets.Enabled && S.OwnerId != Caller.WarmUpOwner ? Usage.CheckBudget() : Task.CompletedTask;

    /// <summary>
    /// Refuses a turn once the owner's stored bytes reach the quota: the other sessions' last known total (read at most
    /// every <see cref="OwnerBytesFresh"/>) plus this session's own current figure; no owner-wide write.
    /// </summary>
    public async Task CheckStorageQuotaAsync()
    {
        if (quotas.MaxStoredBytes is not { } max) return;
        var now = DateTime.UtcNow;
        if (now - _ownerBytesAt > OwnerBytesFresh)
        {
            _ownerBytes = await grains.GetGrain<IOwnerGrain>(S.OwnerId).StoredBytes(sessionId);
            _ownerBytesAt = now;
        }
        var total = _ownerBytes + S.StoredBytes;
        if (total >= max)
        {
            throw QuotaCodes.Exceeded(QuotaCodes.Storage,
                $"Owner '{S.OwnerId}' stores {total} bytes of turn text; the quota is {max}. Delete sessions permanently to make room.");
        }
    }

    /// <summary>What the owner counts a run of <paramref name="turn"/> under (a rework's run is keyed by its accept time).</summary>
    private string UsageKey(TurnView turn, bool rework) =>
        rework ? PendingUsage.ReworkKey(sessionId, turn.TurnId, turn.CreatedAt) : PendingUsage.TurnKey(sessionId, turn.TurnId);

    /// <summary>The turn's usage rides in its own commit as a pending row of the owner (folded there in batches).</summary>
    public void StageUsage(RowUnit unit, TurnView turn, bool rework)
    {
        if (turn.Status != TurnStatus.Completed) return;
        var owner = Usage.GetGrainId();
        unit.Put(owner, PendingUsage.RowName(UsageKey(turn, rework)),
            new PendingUsage { Usage = turn.Usage, At = turn.CompletedAt ?? DateTime.UtcNow });
    }

    /// <summary>Tells the owner at once (in memory, no storage write) so its reads and budget checks include the turn.
    /// The turn and its usage row are already durable, so a failure here is logged, not thrown: the owner folds the row later.</summary>
    public async Task RecordUsageAsync(TurnView turn, bool rework)
    {
        if (turn.Status != TurnStatus.Completed) return;
        try
        {
            await Usage.Record(UsageKey(turn, rework), turn.Usage);
        }
        catch (Exception ex)
        {
            LogOwnerUsageFailed(ex, sessionId, turn.TurnId);
        }
    }

    /// <summary>Sends this session's stored bytes to its owner without waiting (one-way), when they changed; a change
    /// inside the throttle window is sent by a one-shot timer at the window's end, so the owner's figure settles.</summary>
    public void ReportStoredBytes(bool force)
    {
        // Only a storage quota reads the figures; nothing new to say (or never any text) means nothing to send.
        if (quotas.MaxStoredBytes is null || !S.Exists || S.StoredBytes == Math.Max(0, _reportedBytes)) return;
        var now = DateTime.UtcNow;
        if (!force && now - _reportedAt < ReportBytesEvery)
        {
            _reportLater ??= grain.RegisterGrainTimer(_ =>
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
            _ = grains.GetGrain<IOwnerGrain>(S.OwnerId).ReportStoredBytes(sessionId, S.StoredBytes);
            _reportedBytes = S.StoredBytes;
            _reportedAt = now;
        }
        catch (Exception ex)
        {
            LogSizeReportFailed(ex, sessionId);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not add turn {TurnId} to the owner's usage")]
    private partial void LogOwnerUsageFailed(Exception ex, string sessionId, string turnId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not report its stored bytes")]
    private partial void LogSizeReportFailed(Exception ex, string sessionId);
}
