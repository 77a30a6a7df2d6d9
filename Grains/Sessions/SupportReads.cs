using Loom.Errors;
using Loom.Security;
using Loom.Storage;
using Loom.Timeline;

namespace Loom.Sessions;

/// <summary>
/// Admins' support reads (<c>/api/admin/sessions</c>): each is audited in the session's own log before anything is
/// disclosed. A live session stages the entry with its header. An idle session read from the replica is not woken:
/// its entry goes to the primary as a row of its own beside the session's rows (no header, no fence, so nothing the
/// session holds changes), and the session takes such rows into its numbered log when it next wakes
/// (<see cref="SessionAuditLog.StagePendingAsync"/>).
/// </summary>
public static class SupportReads
{
    /// <summary>Row names of entries not yet in the numbered log; they sort by time.</summary>
    internal const string PendingPrefix = "session.support-read.";

    public static AuditEntry Entry(SessionState header, Caller admin, string? reason) => new()
    {
        At = DateTime.UtcNow,
        Actor = admin.OwnerId,
        Action = AuditEntry.SupportReadAction,
        Reason = reason,
        Seq = header.CommittedSeq(),
        Details = new Dictionary<string, string>(StringComparer.Ordinal) { ["scope"] = "metadata" },
    };

    public static void RequireAdmin(Caller admin)
    {
        ArgumentNullException.ThrowIfNull(admin);
        if (!admin.IsAdmin) throw Problems.NotPermitted("Support reads need the admin role.");
    }

    /// <summary>
    /// Writes the entries of idle sessions to the primary in one transaction and returns once they are durable; throws
    /// (503 <c>storage_unavailable</c> when the database is unreachable) otherwise, and then nothing may be disclosed.
    /// </summary>
    public static async Task RecordPendingAsync(IGrainRowStore primary, IReadOnlyList<(GrainId Session, AuditEntry Entry)> reads)
    {
        if (reads.Count == 0) return;
        var rows = reads.Select(r => new RowWrite(r.Session, $"{PendingPrefix}{r.Entry.At.Ticks:D19}.{Guid.NewGuid():N}", primary.Serialize(r.Entry))).ToList();
        try
        {
            await primary.CommitAsync(new RowCommit { Grain = reads[0].Session, Rows = rows });
        }
        catch (Exception ex) when (StorageFaults.IsOutage(ex))
        {
            throw Problems.StorageUnavailable();
        }
    }
}
