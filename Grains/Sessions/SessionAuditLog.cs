using System.Globalization;
using Loom.Storage;
using Loom.Timeline;

namespace Loom.Sessions;

/// <summary>
/// A session's audit log: one storage row per entry ("session.audit.{n}"), so appending costs the same however long
/// the log is. Entries are committed with the header that advances <see cref="SessionState.NextAudit"/>; rows beyond
/// it (left by older builds, which wrote them first) are overwritten.
/// </summary>
public sealed class SessionAuditLog(IGrainRowStore rows, GrainRows<SessionState> header)
{
    private const int CacheSize = 32;
    private RecordStore<AuditEntry>? _entries;

    private SessionState S => header.State;

    private RecordStore<AuditEntry> Entries => _entries ??= new RecordStore<AuditEntry>(rows, header.Grain, "session.audit", CacheSize);

    public async Task<AuditPage> ListAsync(int limit, long? after)
    {
        limit = Math.Clamp(limit, 1, 200);
        var from = Math.Max(0, (after ?? -1) + 1);
        var to = Math.Min(S.NextAudit, from + limit);
        var items = await Entries.ReadManyAsync(Numbers.Range(from, to));
        return new AuditPage
        {
            Items = items,
            Next = to < S.NextAudit ? (to - 1).ToString(CultureInfo.InvariantCulture) : null,
        };
    }

    /// <summary>Every entry: the numbered log, then support reads not yet taken into it (see <see cref="SupportReads"/>).</summary>
    public async Task<List<AuditEntry>> AllAsync()
    {
        var all = await Entries.ReadManyAsync(Numbers.Range(0, S.NextAudit));
        all.AddRange((await PendingAsync()).Select(p => p.Entry));
        return all;
    }

    /// <summary>
    /// Stages the support reads written while the session was idle as the log's next entries, oldest first, and deletes
    /// their rows in the same unit; returns how many (the caller commits, or undoes <see cref="SessionState.NextAudit"/>).
    /// </summary>
    public async Task<int> StagePendingAsync(RowUnit unit)
    {
        var pending = await PendingAsync();
        if (pending.Count == 0) return 0;
        Stage(unit, [.. pending.Select(p => p.Entry)]);
        foreach (var (name, _) in pending) unit.Delete(name);
        return pending.Count;
    }

    private async Task<List<(string Name, AuditEntry Entry)>> PendingAsync() =>
        [.. (await rows.ListAsync(header.Grain, SupportReads.PendingPrefix))
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .Select(r => (r.Name, rows.Deserialize<AuditEntry>(r.Payload!)))];

    /// <summary>Stages entries after the last one; they become durable with the header that counts them.</summary>
    public void Stage(RowUnit unit, IReadOnlyList<AuditEntry> entries)
    {
        for (var i = 0; i < entries.Count; i++) Entries.Put(unit, S.NextAudit + i, entries[i]);
        S.NextAudit += entries.Count;
    }

    public void Stage(RowUnit unit, AuditEntry entry) => Stage(unit, [entry]);

    public async Task StageEraseAsync(RowUnit unit)
    {
        for (long i = 0; i < S.NextAudit; i++) Entries.Delete(unit, i);
        foreach (var (name, _) in await PendingAsync()) unit.Delete(name);
    }

    /// <summary>An entry by the session's owner.</summary>
    public AuditEntry Entry(string action, string? reason, int seq, Dictionary<string, string>? details = null) => new()
    {
        At = DateTime.UtcNow,
        Actor = S.OwnerId,
        Action = action,
        Reason = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim(),
        Seq = seq,
        Details = details ?? new Dictionary<string, string>(StringComparer.Ordinal),
    };
}

/// <summary>Record numbers [from, to).</summary>
internal static class Numbers
{
    public static IEnumerable<long> Range(long from, long to)
    {
        for (var i = from; i < to; i++) yield return i;
    }
}
