using Loom.Errors;
using Loom.Interventions;
using Loom.Quotas;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>Derived facts of a session header (computed, never stored).</summary>
public static class SessionStateExtensions
{
    /// <summary>Seq of the newest committed turn on the live timeline.</summary>
    public static int CommittedSeq(this SessionState s) => s.LastSeq - s.Pending.Count;

    /// <summary>
    /// Where the journal's committed records end: the first queued new turn's position, or the next free one. A pending
    /// rework (regenerate, continue, resend) rewrites a committed record in place, so it does not end the journal: the
    /// records after it (retconned ones) are still there.
    /// </summary>
    public static long JournalEnd(this SessionState s)
    {
        foreach (var pending in s.Pending) if (pending.Rework is null) return pending.Ordinal;
        return s.NextOrdinal;
    }

    /// <summary>Journal position of live seq <paramref name="seq"/> (through the timeline segments rollbacks start).</summary>
    public static long OrdinalOfSeq(this SessionState s, int seq)
    {
        var segment = s.Segments.Last(x => x.StartSeq <= seq);
        return segment.StartOrdinal + (seq - segment.StartSeq);
    }

    /// <summary>Tone in force now (the last one a turn applied), or null.</summary>
    public static string? CurrentTone(this SessionState s) => s.Tones.Count > 0 ? s.Tones[^1].Tone : null;

    /// <summary>Puts a new turn at the end of the queue, and its idempotency key (if any) in the window.</summary>
    public static void Enqueue(this SessionState s, TurnRecord record, int idempotencyWindow)
    {
        s.NextOrdinal = record.Ordinal + 1;
        s.LastSeq = record.Turn.Seq;
        s.Pending.Add(record);
        if (record.IdempotencyKey is { } key)
        {
            s.FoldLegacyKeys(idempotencyWindow);
            s.Keys.Add(key, record.Ordinal, idempotencyWindow);
        }
        s.UpdatedAt = record.Turn.CreatedAt;
    }

    /// <summary>
    /// Takes back an <see cref="Enqueue"/> whose write did not land (storage outage): the turn leaves the queue, its
    /// ordinal and seq are free again and the key window is as before (<paramref name="keysBefore"/>). Only the
    /// pump runs beside a submit, and it never touches these fields nor takes a turn still being accepted.
    /// </summary>
    public static void Unqueue(this SessionState s, TurnRecord record, KeysSnapshot keysBefore)
    {
        s.Pending.RemoveAll(p => p.Ordinal == record.Ordinal);
        s.NextOrdinal = record.Ordinal;
        s.LastSeq = record.Turn.Seq - 1;
        s.RecentKeys = keysBefore.Legacy;
        s.Keys = new IdempotencyWindow { Packed = keysBefore.Packed };
    }

    /// <summary>The key window as it is now, for <see cref="Unqueue"/>.</summary>
    public static KeysSnapshot SnapshotKeys(this SessionState s) => new([.. s.RecentKeys], s.Keys.Packed);

    public readonly record struct KeysSnapshot(List<IdempotencyEntry> Legacy, byte[] Packed);

    /// <summary>Moves keys an older build stored as hashed entries into the packed window (entries that still hold
    /// the key itself are moved too, by its hash).</summary>
    private static void FoldLegacyKeys(this SessionState s, int idempotencyWindow)
    {
        if (s.RecentKeys.Count == 0) return;
        foreach (var entry in s.RecentKeys)
        {
            var hash = entry.Key is { } key ? IdempotencyWindow.Hash(key) : unchecked((uint)entry.KeyHash);
            var ordinal = entry.Key is null ? entry.Ordinal : TurnIds.TryGetOrdinal(entry.TurnId ?? "", out var o) ? o : -1;
            if (ordinal >= 0) s.Keys.Add(hash, ordinal, idempotencyWindow);
        }
        s.RecentKeys = [];
    }

    /// <summary>An undo of what a PATCH or an archive changes (name, status, policy), for a write that did not land.</summary>
    public static Action Snapshot(this SessionState s)
    {
        var (name, status, policy, updatedAt) = (s.Name, s.Status, s.Policy, s.UpdatedAt);
        return () => (s.Name, s.Status, s.Policy, s.UpdatedAt) = (name, status, policy, updatedAt);
    }

    /// <summary>The header after a turn's commit: off the queue, counted, its tone in force, its text in the stored size.</summary>
    public static void Committed(this SessionState s, TurnRecord finished)
    {
        var turn = finished.Turn;
        s.Pending.RemoveAll(p => p.Ordinal == finished.Ordinal);
        if (turn.Status == TurnStatus.Completed)
        {
            s.TurnCount++;
            s.Usage = s.Usage.Add(turn.Usage);
            if (InterventionPlanner.ToneOf(turn) is { } tone) s.Tones.Add(new ToneChange { Seq = turn.Seq, Tone = tone });
        }
        s.LastTurnAt = turn.CompletedAt;
        s.UpdatedAt = DateTime.UtcNow;
        s.StoredBytes += SessionTenancy.StoredBytesOf(turn);
    }

    /// <summary>Applies a PATCH after checking all of it (400 on a bad field, and then nothing changes).</summary>
    public static void Apply(this SessionState s, SessionPatch patch)
    {
        var name = SessionSeeds.CheckName(patch.Name, required: true);
        if (patch.Status == SessionStatus.Archived) throw Problems.Invalid("status", "status must be active, paused or completed (DELETE archives).");
        if (patch.Policy is not null) EffectivePolicy.Validate(patch.Policy);
        if (name is not null) s.Name = name;
        if (patch.Status is { } status) s.Status = status;
        if (patch.Policy is not null) s.Policy = patch.Policy;
    }

    public static SessionInfo ToInfo(this SessionState s, string sessionId) => new()
    {
        SessionId = sessionId,
        Name = s.Name,
        WorldId = s.WorldId,
        CanonVersion = s.CanonVersion,
        Status = s.Status,
        CreatedAt = s.CreatedAt,
        UpdatedAt = s.UpdatedAt,
        TurnCount = s.TurnCount,
        PendingTurns = s.Pending.Count,
        LastTurnAt = s.LastTurnAt,
        Llm = new LlmRef { Provider = s.Llm.Provider ?? "", Model = s.Llm.Model ?? "" },
        Usage = s.Usage,
        Policy = s.Policy,
        Tone = s.CurrentTone(),
        ForkedFrom = s.ForkedFrom,
        Opening = s.Opening, // greetings (issue 13)
        Shared = s.Shared, // multiplayer
    };
}
