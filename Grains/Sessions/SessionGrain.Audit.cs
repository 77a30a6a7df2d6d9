using Loom.Timeline;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Storage;

namespace Loom.Sessions;

/// <summary>
/// The audit log: one storage row per entry ("session.audit.{n}"), so appending costs the same however long the
/// log is. The header's <see cref="SessionState.NextAudit"/> is the commit point: rows beyond it are leftovers of
/// an interrupted write and get overwritten.
/// </summary>
public sealed partial class SessionGrain
{
    private const int AuditCacheSize = 32;
    private RecordStore<AuditEntry>? _audit;

    private RecordStore<AuditEntry> AuditRows => _audit ??= new RecordStore<AuditEntry>(
        ServiceProvider.GetRequiredKeyedService<IGrainStorage>("loom"), this.GetGrainId(), "session.audit", AuditCacheSize);

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

    /// <summary>Writes entries after the last committed one; the caller then writes the header.</summary>
    private async Task AppendAuditAsync(IReadOnlyList<AuditEntry> entries, bool retry)
    {
        if (entries.Count == 0) return;
        var first = S.NextAudit;
        await Task.WhenAll(entries.Select((entry, i) => retry
            ? RetryStorageAsync(() => AuditRows.WriteAsync(first + i, entry))
            : AuditRows.WriteAsync(first + i, entry)));
        S.NextAudit = first + entries.Count;
    }

    private async Task<List<AuditEntry>> AllAuditAsync() => await AuditRows.ReadManyAsync(Range(0, S.NextAudit));

    private async Task DeleteAuditRowsAsync()
    {
        for (long i = 0; i < S.NextAudit; i++) await AuditRows.DeleteAsync(i);
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
