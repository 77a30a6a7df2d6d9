using Loom.Timeline;

namespace Loom.Memory;

/// <summary>Swapping the changes of a turn's alternatives (see <see cref="AlternativeSet"/>).</summary>
public sealed partial class WorldMemory
{
    /// <summary>Every entity as turn <paramref name="seq"/> left it, for the entities that turn changed.</summary>
    public List<AlternativeRevision> RevisionsAt(int seq) =>
        _states.Values
            .Where(s => s.Revisions.Count > 0 && s.Revisions[^1].Seq == seq)
            .OrderBy(s => s.Id, StringComparer.Ordinal)
            .Select(s => new AlternativeRevision { EntityId = s.Id, Value = s.Revisions[^1].Value })
            .ToList();

    /// <summary>
    /// Memory exactly as after turn <paramref name="seq"/> had the changes <paramref name="revisions"/> (captured by
    /// <see cref="RevisionsAt"/>): the current changes of that turn are rolled back, the given ones put in their place.
    /// </summary>
    public void Reinstate(int seq, IReadOnlyList<AlternativeRevision>? revisions)
    {
        RollbackTo(seq - 1);
        foreach (var revision in revisions ?? [])
        {
            var history = History(revision.EntityId);
            // A history never starts with a deletion: an entity the alternative created and deleted left nothing.
            if (revision.Value is null && history.Count == 0) continue;
            Restore(revision.EntityId, [.. history, new EntityRevision { Seq = seq, Value = revision.Value }]);
        }
        _headSeq = Math.Max(_headSeq, seq);
    }
}
