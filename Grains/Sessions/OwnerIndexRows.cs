using Loom.Storage;

namespace Loom.Sessions;

/// <summary>
/// A session's entry in its owner's index: a row under the owner's grain key ("index.session.{sessionId}"), written
/// in the session's own create transaction and deleted in its erase transaction, so an entry is exactly as durable as
/// its session and a create writes nothing owner-wide (the owner's whole index used to be one row, rewritten after
/// every burst of creates). The owner reads its entries back when it activates.
/// </summary>
public static class OwnerIndexRows
{
    public const string RowPrefix = "index.session.";

    public static string RowName(string sessionId) => RowPrefix + sessionId;

    /// <summary>Stages the entry in the session's commit; the returned entry (marked stored) goes to the owner.</summary>
    public static OwnedSession Stage(RowUnit unit, GrainId owner, OwnedSession entry)
    {
        entry = entry with { Stored = true };
        unit.Put(owner, RowName(entry.SessionId), entry);
        return entry;
    }

    /// <summary>Entry rows written on their own: the owner's, for entries no session commit carried.</summary>
    public static RowCommit Commit(GrainId owner, IEnumerable<OwnedSession> entries, IGrainRowStore store) => new()
    {
        Grain = owner,
        Rows = [.. entries.Select(e => new RowWrite(owner, RowName(e.SessionId), store.Serialize(e with { Stored = true })))],
    };

    public static void StageRemoval(RowUnit unit, GrainId owner, string sessionId) => unit.Delete(owner, RowName(sessionId));
}
