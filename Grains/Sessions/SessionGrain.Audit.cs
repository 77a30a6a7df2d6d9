using Loom.Storage;
using Loom.Timeline;

namespace Loom.Sessions;

/// <summary>
/// The audit log: one storage row per entry ("session.audit.{n}"), so appending costs the same however long the
/// log is. Entries are committed with the header that advances <see cref="SessionState.NextAudit"/>; rows beyond it
/// (left by older builds, which wrote them first) are overwritten.
/// </summary>
public sealed partial class SessionGrain
{
    private const int AuditCacheSize = 32;
    private RecordStore<AuditEntry>? _audit;

    private RecordStore<AuditEntry> AuditRows => _audit ??= new RecordStore<AuditEntry>(
        _rows, this.GetGrainId(), "session.audit", AuditCacheSize);

    public async Task<AuditPage> ListAudit(string ownerId, int limit, long? after)
    {
        Require(ownerId);
        limit = Math.Clamp(limit, 1, 200);
        var from = Math.Max(0, (after ?? -1) + 1);
        var to = Math.Min(S.NextAudit, from + limit);
        var items = await AuditRows.ReadManyAsync(Range(from, to));
        return new AuditPage
        {
            Items = items,
            Next = to < S.NextAudit ? (to - 1).ToString(System.Globalization.CultureInfo.InvariantCulture) : null,
        };
    }

    /// <summary>Stages entries after the last one; they become durable with the header that counts them.</summary>
    private void StageAudit(RowUnit unit, IReadOnlyList<AuditEntry> entries)
    {
        for (var i = 0; i < entries.Count; i++) AuditRows.Put(unit, S.NextAudit + i, entries[i]);
        S.NextAudit += entries.Count;
    }

    private async Task<List<AuditEntry>> AllAuditAsync() => await AuditRows.ReadManyAsync(Range(0, S.NextAudit));

    private void StageAuditErase(RowUnit unit)
    {
        for (long i = 0; i < S.NextAudit; i++) AuditRows.Delete(unit, i);
    }

    private AuditEntry Audit(string action, string? reason, int seq, Dictionary<string, string>? details = null) => new()
    {
        At = DateTime.UtcNow,
        Actor = S.OwnerId,
        Action = action,
        Reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(),
        Seq = seq,
        Details = details ?? new Dictionary<string, string>(StringComparer.Ordinal),
    };

    private static IEnumerable<long> Range(long from, long to)
    {
        for (var i = from; i < to; i++) yield return i;
    }
}
