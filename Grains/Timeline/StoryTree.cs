using System.Globalization;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>
/// The session's branches as a client draws them. The journal never rewrites a turn, so every stretch a rollback
/// took off the timeline is still there in journal order; a stretch follows the turn one seq before its first turn
/// that was played last before it (turn ids and ordinals only grow). Forks are read from the audit log, where each
/// fork is recorded in its source session, and the ancestor from the session's own header.
/// </summary>
public static class StoryTree
{
    private const int PreviewChars = 120;

    public static StoryTreeView Build(string sessionId, SessionState s, IReadOnlyList<TurnRecord> committed,
        IReadOnlyList<AuditEntry> audit, Func<TurnRecord, TurnView> present)
    {
        var pending = s.Pending.ToDictionary(p => p.Ordinal);
        var turns = new List<TreeTurn>(s.LastSeq);
        var retconned = new List<TreeBranch>();
        List<TreeTurn>? stretch = null;
        string? stretchParent = null;
        var lastBySeq = new Dictionary<int, string>();
        var previousSeq = -1;

        foreach (var record in committed)
        {
            var node = Node(pending.TryGetValue(record.Ordinal, out var reworked) ? reworked : record, present);
            if (node.Status == TurnStatus.Retconned)
            {
                // A new stretch starts where the retconned turns stop following one another.
                if (stretch is null || node.Seq != previousSeq + 1)
                {
                    if (stretch is not null) retconned.Add(Branch(stretch, stretchParent));
                    stretch = [];
                    stretchParent = lastBySeq.GetValueOrDefault(node.Seq - 1);
                }
                stretch.Add(node);
            }
            else if (stretch is not null)
            {
                retconned.Add(Branch(stretch, stretchParent));
                stretch = null;
            }
            lastBySeq[node.Seq] = node.TurnId;
            previousSeq = node.Seq;
        }
        if (stretch is not null) retconned.Add(Branch(stretch, stretchParent));

        // The live timeline: committed records on it, then turns still queued (new ones have no record yet).
        var live = committed.Where(r => r.Turn.Seq <= s.LastSeq && r.Turn.Seq >= 1 && s.OrdinalOfSeq(r.Turn.Seq) == r.Ordinal)
            .Select(r => pending.TryGetValue(r.Ordinal, out var p) ? p : r)
            .Concat(s.Pending.Where(p => committed.Count <= p.Ordinal))
            .OrderBy(r => r.Turn.Seq);
        turns.AddRange(live.Select(r => Node(r, present)));

        return new StoryTreeView
        {
            SessionId = sessionId,
            ForkedFrom = Ancestor(s.ForkedFrom),
            Forks = audit
                .Where(a => a.Action == "fork"
                    && a.Details.GetValueOrDefault("sourceSessionId") == sessionId
                    && a.Details.ContainsKey("forkSessionId"))
                .Select(a => new TreeFork { SessionId = a.Details["forkSessionId"], AtSeq = a.Seq, At = a.At })
                .ToList(),
            Turns = turns,
            Retconned = retconned,
        };
    }

    private static TreeBranch Branch(List<TreeTurn> turns, string? parent) =>
        new() { AfterSeq = turns[0].Seq - 1, AfterTurnId = parent, Turns = turns };

    private static TreeTurn Node(TurnRecord record, Func<TurnRecord, TurnView> present)
    {
        var turn = record.Rework is null ? present(record) : record.Turn;
        var (count, chosen) = TurnAlternatives.CountOf(record);
        return new TreeTurn
        {
            TurnId = turn.TurnId,
            Seq = turn.Seq,
            Status = turn.Status,
            Input = turn.Input.Length <= PreviewChars ? turn.Input : turn.Input[..PreviewChars],
            Alternatives = count,
            Chosen = chosen,
        };
    }

    /// <summary>"{sessionId}@{atSeq}" as a fork records its source (see <see cref="SessionSeeds.Fork"/>).</summary>
    private static TreeFork? Ancestor(string? forkedFrom)
    {
        if (string.IsNullOrEmpty(forkedFrom)) return null;
        var at = forkedFrom.LastIndexOf('@');
        return at > 0 && int.TryParse(forkedFrom.AsSpan(at + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? new TreeFork { SessionId = forkedFrom[..at], AtSeq = seq }
            : new TreeFork { SessionId = forkedFrom };
    }
}
