using Loom.Memory;
using Loom.Multiplayer;
using Loom.Security;
using Loom.Storage;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

/// <summary>
/// Reads an idle session from the read replica (docs/operations.md, "Read replica"). Exports: its header, journal,
/// memory and audit read in one replica transaction by the same classes the session uses, so the export is the one the
/// session would give. Support reads: its header, the read audited on the primary first. Used only when the owner's
/// index knows the session idle at a version the replica has; otherwise, and without a replica, the session answers.
/// </summary>
[StatelessWorker, Reentrant]
public sealed partial class SessionArchiveGrain(IReplicaRowReader replica, IGrainRowStore primary, WorldMemoryFactory memoryFactory,
    IOptions<TurnOptions> turns, ILogger<SessionArchiveGrain> logger) : Grain, ISessionArchiveGrain
{
    public async Task<AdminSessionView> ReadForSupport(string sessionId, Caller admin, string? reason)
    {
        SupportReads.RequireAdmin(admin);
        var why = SessionSeeds.CheckReason(reason);
        var session = GrainFactory.GetGrain<ISessionGrain>(sessionId);
        if (replica.Enabled && await IdleHeaderAsync(sessionId, session.GetGrainId()) is { } header)
        {
            await SupportReads.RecordPendingAsync(primary, [(session.GetGrainId(), SupportReads.Entry(header, admin, why))]);
            LogSupportRead(sessionId, admin.OwnerId);
            return new AdminSessionView { OwnerId = header.OwnerId, Session = header.ToInfo(sessionId) };
        }
        return await session.ReadForSupport(admin, reason);
    }

    /// <summary>The replica's header of an idle session, if it is at the version the session went idle with.</summary>
    private async Task<SessionState?> IdleHeaderAsync(string sessionId, GrainId grain)
    {
        try
        {
            if (!(await replica.ReadHeadersAsync([grain], SessionRows.Header)).TryGetValue(grain, out var row) || row.Payload is null) return null;
            var header = primary.Deserialize<SessionState>(row.Payload);
            if (!header.Exists) return null;
            return await GrainFactory.GetGrain<IOwnerGrain>(header.OwnerId).IdleVersion(sessionId) is { } version && row.Version >= version ? header : null;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReplicaFailed(ex, sessionId);
            return null;
        }
    }

    public async Task<SessionExport> Export(string sessionId, string ownerId, MemberRole viewer)
    {
        var export = replica.Enabled && await GrainFactory.GetGrain<IOwnerGrain>(ownerId).IdleVersion(sessionId) is { } version
            ? await FromReplicaAsync(sessionId, ownerId, version)
            : null;
        export ??= await GrainFactory.GetGrain<ISessionGrain>(sessionId).Export(ownerId);
        return viewer == MemberRole.Owner ? export : export with { Audit = [.. export.Audit.Where(e => e.IsVisibleTo(viewer))] };
    }

    private async Task<SessionExport?> FromReplicaAsync(string sessionId, string ownerId, int idleVersion)
    {
        try
        {
            return await ReadAsync(sessionId, ownerId, idleVersion);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogReplicaFailed(ex, sessionId);
            return null;
        }
    }

    private async Task<SessionExport?> ReadAsync(string sessionId, string ownerId, int idleVersion)
    {
        await using var rows = await replica.OpenAsync();
        var header = new GrainRows<SessionState>(rows, GrainFactory.GetGrain<ISessionGrain>(sessionId).GetGrainId(), SessionRows.Header);
        await header.ReadHeaderAsync();
        // Behind the version the session went idle with (the replica lags), or not this owner's: the session decides.
        if (header.Version < idleVersion || !header.State.Exists || header.State.OwnerId != ownerId) return null;
        var journal = new TurnJournal(rows, header, turns.Value.RecentTurnsCached);
        var memory = new SessionMemoryStore(sessionId, rows, header, memoryFactory, logger);
        var audit = new SessionAuditLog(rows, header);
        return await SessionSeeds.ExportAsync(header.State, sessionId, journal, memory, audit);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: support read by admin {Admin} from the replica (audited on the primary)")]
    private partial void LogSupportRead(string sessionId, string admin);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read replica did not answer reading session {SessionId}; the session answers itself")]
    private partial void LogReplicaFailed(Exception ex, string sessionId);
}
