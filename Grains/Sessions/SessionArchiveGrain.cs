using Loom.Memory;
using Loom.Storage;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Sessions;

/// <summary>
/// Exports an idle session from the read replica (docs/operations.md, "Read replica"): its header, journal, memory and
/// audit read in one replica transaction by the same classes the session uses, so the export is the one the session
/// would give. Used only when the owner's index knows the session idle at a version the replica has; otherwise, and
/// without a replica, the session answers.
/// </summary>
[StatelessWorker, Reentrant]
public sealed partial class SessionArchiveGrain(IReplicaRowReader replica, WorldMemoryFactory memoryFactory, IOptions<TurnOptions> turns,
    ILogger<SessionArchiveGrain> logger) : Grain, ISessionArchiveGrain
{
    public async Task<SessionExport> Export(string sessionId, string ownerId)
    {
        if (replica.Enabled && await GrainFactory.GetGrain<IOwnerGrain>(ownerId).IdleVersion(sessionId) is { } version &&
            await FromReplicaAsync(sessionId, ownerId, version) is { } export)
        {
            return export;
        }
        return await GrainFactory.GetGrain<ISessionGrain>(sessionId).Export(ownerId);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Read replica did not answer exporting session {SessionId}; the session exports itself")]
    private partial void LogReplicaFailed(Exception ex, string sessionId);
}
