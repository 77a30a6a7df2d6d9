using Loom.Errors;
using Loom.Interventions;
using Loom.Memory;
using Loom.Quotas;
using Loom.Sessions;
using Loom.Turns;

namespace Loom.Timeline;

/// <summary>
/// Alternatives of the latest turn (regenerate, resend, continue, choice), as plain steps the session conducts.
/// <para>
/// Each alternative carries its own memory changes: the chosen one's are in memory at the turn's seq, every other
/// one's are kept in the journal record (<see cref="AlternativeSet"/>). Switching captures the current changes,
/// rolls them back and puts the chosen ones in their place, and the journal record, memory and header commit in
/// one transaction, so memory and summaries follow the chosen alternative exactly, as a rollback would leave them.
/// A rework is queued like a turn (the pending record holds every alternative, the current one's memory included):
/// after a crash, memory loads as of the turn before and the rework runs again.
/// </para>
/// </summary>
public static class TurnAlternatives
{
    /// <summary>Most alternatives one turn keeps (each is a full narrative in its journal record).</summary>
    public const int MaxAlternatives = 20;

    /// <summary>Idempotency keys of reworks remembered per turn.</summary>
    private const int MaxKeys = 16;

    private const string ContinuationJoin = "\n\n";

    // ---------------------------------------------------------------- reads

    /// <summary>The turn as the API shows it: the chosen alternative, and the list of all when there is more than one.</summary>
    public static TurnView View(TurnRecord record)
    {
        if (record.Alternatives is not { Items.Count: > 1 } set || record.Rework is not null) return record.Turn;
        var items = set.Items
            .Select((a, i) => i == set.Chosen ? record.Turn : a.Turn ?? record.Turn)
            .Select((t, i) => new AlternativeView { Index = i + 1, Status = t.Status, Input = t.Input, Narrative = t.Narrative, CompletedAt = t.CompletedAt })
            .ToList();
        return record.Turn with { Alternatives = new TurnAlternativesView { Count = items.Count, Chosen = set.Chosen + 1, Items = items } };
    }

    /// <summary>Alternatives a record has (1 when it was never regenerated) and the chosen one, 1-based.</summary>
    public static (int Count, int Chosen) CountOf(TurnRecord record) =>
        record.Alternatives is { } set ? (set.Items.Count, set.Chosen + 1) : (1, 1);

    /// <summary>What a rework's Idempotency-Key means for a turn: unseen, a retry of the accepted request, or the key of
    /// an accepted request sent again with another kind or input.</summary>
    public enum KeyUse { New, Retry, Reused }

    /// <summary>How <paramref name="key"/> on <paramref name="request"/> stands against the reworks accepted for the turn.</summary>
    public static KeyUse UseOf(TurnRecord record, string key, ReworkRequest request)
    {
        var entry = KeyEntry(key, request);
        if (record.Rework?.IdempotencyKey is { } pending && Against(pending) is var use and not KeyUse.New) return use;
        foreach (var stored in record.Alternatives?.Keys ?? [])
        {
            if (Against(stored) is var applied and not KeyUse.New) return applied;
        }
        return KeyUse.New;

        // A bare key was stored before requests were printed beside it: a retry as far as anyone can tell.
        KeyUse Against(string stored) =>
            stored == entry || stored == key ? KeyUse.Retry
            : stored.Length > key.Length && stored[key.Length] == ' ' && stored.StartsWith(key, StringComparison.Ordinal) ? KeyUse.Reused
            : KeyUse.New;
    }

    /// <summary>
    /// A rework's key as the turn keeps it: the key, a space (never in a key, which is visible ASCII) and a print of the
    /// request (its kind, and for a resend a hash of the new input), so a reused key can be told from a retry.
    /// </summary>
    public static string KeyEntry(string key, ReworkRequest request) => request.Kind == ReworkKind.Resend
        ? $"{key} resend:{IdempotencyEntry.Hash(request.Input ?? ""):x16}"
        : $"{key} {request.Kind.ToString().ToLowerInvariant()}";

    // ---------------------------------------------------------------- checks

    /// <summary>Only the latest committed turn of the live timeline can be reworked or switched, and never while turns are pending.</summary>
    public static void CheckLatest(SessionState s, TurnRecord stored)
    {
        if (s.Pending.Count > 0)
            throw Problems.Conflict("turns_pending", $"{s.Pending.Count} turn(s) are queued or running; try again once they have finished.");
        var live = stored.Turn.Seq >= 1 && stored.Turn.Seq <= s.LastSeq && s.OrdinalOfSeq(stored.Turn.Seq) == stored.Ordinal;
        if (!live || stored.Turn.Seq != s.LastSeq)
            throw Problems.Conflict("not_latest_turn", $"Only the latest turn (seq {s.LastSeq}) can be regenerated, continued, resent or switched.");
    }

    private static void CheckHistory(WorldMemory memory, int seq)
    {
        if (seq - 1 < memory.FloorSeq)
            throw Problems.Conflict("memory_history_compacted", $"Memory history before turn {memory.FloorSeq} was compacted; turn {seq} can no longer change.");
    }

    // ---------------------------------------------------------------- rework: accept, prepare, settle

    /// <summary>
    /// The pending record that reworks <paramref name="stored"/> (checked by <see cref="CheckLatest"/>), with the
    /// header changed for it: queued, no longer counted, its tone no longer in force.
    /// </summary>
    public static TurnRecord Accept(SessionState s, TurnRecord stored, WorldMemory memory, ReworkRequest request)
    {
        var seq = stored.Turn.Seq;
        CheckHistory(memory, seq);
        var set = Captured(stored, memory);
        if (request.Kind != ReworkKind.Continue && set.Items.Count >= MaxAlternatives)
            throw Problems.Conflict("too_many_alternatives", $"Turn {seq} already has {set.Items.Count} alternatives (at most {MaxAlternatives}).");
        if (request.Kind == ReworkKind.Continue && stored.Turn.Status != TurnStatus.Completed)
            throw Problems.Conflict("turn_not_completed", "Only a completed turn can be continued.");

        var old = stored.Turn;
        var input = request.Kind == ReworkKind.Resend ? request.Input! : old.Input;
        var parsed = InterventionParser.Parse(input);
        var queued = new TurnView
        {
            TurnId = old.TurnId,
            Seq = seq,
            Input = input,
            // What the narrator is asked: a fresh take (numbered, so neither the model nor a response cache answers
            // with the same text), or the narration so far to be carried on.
            StoryInput = request.Kind == ReworkKind.Continue
                ? ContinuationPrompt(old)
                : $"{parsed.StoryText}\n\n(Alternative take {set.Items.Count + 1}: narrate this moment afresh, differently from before.)",
            Interventions = request.Kind == ReworkKind.Continue ? [] : parsed.Interventions,
            Narrative = request.Kind == ReworkKind.Continue ? old.Narrative : "",
            Status = TurnStatus.Queued,
            Provider = s.Llm.Provider,
            Model = s.Llm.Model,
            Speaker = old.Speaker,
            CreatedAt = DateTime.UtcNow,
        };
        var pending = stored with
        {
            Turn = queued,
            Context = null,
            Alternatives = set,
            Rework = new PendingRework
            {
                Kind = request.Kind,
                IdempotencyKey = request.IdempotencyKey is { } key ? KeyEntry(key, request) : null,
                BaseNarrative = request.Kind == ReworkKind.Continue ? old.Narrative : null,
            },
        };
        s.Pending.Add(pending);
        if (old.Status == TurnStatus.Completed) s.TurnCount--;
        // A fresh take replays the turn's markers, its tone among them; a continuation carries on under the tone the
        // turn set, so it stays in force (and in the prompt) while the continuation runs.
        if (request.Kind != ReworkKind.Continue) s.Tones.RemoveAll(t => t.Seq == seq);
        s.UpdatedAt = queued.CreatedAt;
        return pending;
    }

    /// <summary>Before the narrator runs: memory as of the turn before (regenerate, resend) or with the chosen
    /// alternative's changes (continue), whatever this activation held before.</summary>
    public static void Prepare(WorldMemory memory, TurnRecord running)
    {
        var set = running.Alternatives!;
        memory.Reinstate(running.Turn.Seq, running.Rework!.Kind == ReworkKind.Continue ? set.Items[set.Chosen].Memory : null);
    }

    /// <summary>
    /// The record to store for a finished rework, and the turn to announce. A new take becomes the chosen
    /// alternative; a continuation extends the chosen one; a failed attempt leaves the turn (and memory) as it was
    /// and is announced as failed.
    /// </summary>
    public static (TurnRecord Stored, TurnView Announced) Settle(TurnRecord finished, WorldMemory memory)
    {
        var set = finished.Alternatives!;
        var rework = finished.Rework!;
        var attempt = finished.Turn;
        var seq = attempt.Seq;
        List<string> keys = rework.IdempotencyKey is { } key ? [.. set.Keys, key] : set.Keys;
        if (keys.Count > MaxKeys) keys = keys[^MaxKeys..];
        var before = set.Items[set.Chosen];

        if (attempt.Status != TurnStatus.Completed)
        {
            memory.Reinstate(seq, before.Memory);
            var kept = Chosen(finished, set with { Keys = keys }, set.Chosen);
            return (kept, attempt with { StoryInput = before.Turn!.StoryInput, Narrative = rework.BaseNarrative ?? "" });
        }

        if (rework.Kind == ReworkKind.Continue)
        {
            var basis = before.Turn!;
            var extended = attempt with
            {
                StoryInput = basis.StoryInput,
                Interventions = basis.Interventions,
                Narrative = basis.Narrative.TrimEnd() + ContinuationJoin + attempt.Narrative.TrimStart(),
                MemoryUpdates = [.. basis.MemoryUpdates, .. attempt.MemoryUpdates],
                OocReply = attempt.OocReply ?? basis.OocReply,
                CreatedAt = basis.CreatedAt,
            };
            var items = set.Items.ToList();
            items[set.Chosen] = new StoredAlternative();
            var stored = finished with
            {
                Turn = extended,
                Alternatives = items.Count == 1 && keys.Count == 0 ? null : set with { Items = items, Keys = keys },
                Rework = null,
            };
            return (stored, View(stored));
        }

        var taken = finished with
        {
            Turn = attempt with { StoryInput = InterventionParser.Parse(attempt.Input).StoryText },
            Alternatives = new AlternativeSet { Chosen = set.Items.Count, Items = [.. set.Items, new StoredAlternative()], Keys = keys },
            Rework = null,
        };
        return (taken, View(taken));
    }

    /// <summary>The header after a rework's commit: off the queue, counted again, what the attempt cost added.</summary>
    public static void Committed(SessionState s, TurnRecord stored, TurnView attempt)
    {
        s.Pending.RemoveAll(p => p.Ordinal == stored.Ordinal);
        Count(s, stored.Turn, +1);
        s.Usage = s.Usage.Add(attempt.Usage);
        s.LastTurnAt = attempt.CompletedAt;
        s.UpdatedAt = DateTime.UtcNow;
        s.StoredBytes += SessionTenancy.StoredBytesOf(attempt);
    }

    // ---------------------------------------------------------------- choice

    /// <summary>
    /// Makes alternative <paramref name="index"/> (0-based, checked) the one that counts: memory and header follow
    /// it. Returns the record to store (unchanged when it is already chosen).
    /// </summary>
    public static TurnRecord Choose(SessionState s, TurnRecord stored, WorldMemory memory, int index)
    {
        var set = stored.Alternatives;
        if (set is null || set.Chosen == index) return stored;
        var seq = stored.Turn.Seq;
        CheckHistory(memory, seq);
        var captured = Captured(stored, memory);
        // An imported alternative carries no memory changes of its own (null): the turn's current ones stay.
        memory.Reinstate(seq, captured.Items[index].Memory ?? captured.Items[set.Chosen].Memory);
        Count(s, stored.Turn, -1);
        var chosen = Chosen(stored, captured, index);
        Count(s, chosen.Turn, +1);
        s.UpdatedAt = DateTime.UtcNow;
        return chosen;
    }

    // ---------------------------------------------------------------- helpers

    /// <summary>The record's alternatives with the chosen slot filled from the record and from memory.</summary>
    private static AlternativeSet Captured(TurnRecord stored, WorldMemory memory)
    {
        var set = stored.Alternatives ?? new AlternativeSet { Items = [new StoredAlternative()] };
        var items = set.Items.ToList();
        items[set.Chosen] = new StoredAlternative { Turn = stored.Turn, Context = stored.Context, Memory = memory.RevisionsAt(stored.Turn.Seq) };
        return set with { Items = items };
    }

    /// <summary>A record whose turn is alternative <paramref name="index"/> of a fully captured set (its slot emptied).</summary>
    private static TurnRecord Chosen(TurnRecord record, AlternativeSet captured, int index)
    {
        var items = captured.Items.ToList();
        var target = items[index];
        items[index] = new StoredAlternative();
        return record with
        {
            Turn = target.Turn!,
            Context = target.Context,
            Alternatives = items.Count == 1 && captured.Keys.Count == 0 ? null : captured with { Chosen = index, Items = items },
            Rework = null,
        };
    }

    /// <summary>A live turn's share of the header: completed turns are counted and their tone is in force.</summary>
    private static void Count(SessionState s, TurnView turn, int sign)
    {
        if (turn.Status != TurnStatus.Completed) return;
        s.TurnCount += sign;
        s.Tones.RemoveAll(t => t.Seq == turn.Seq);
        if (sign > 0 && InterventionPlanner.ToneOf(turn) is { } tone) s.Tones.Add(new ToneChange { Seq = turn.Seq, Tone = tone });
    }

    private static string ContinuationPrompt(TurnView turn) =>
        $"{turn.StoryInput}\n\n(The narration of this moment so far, to be continued from exactly where it stops, without repeating any of it:)\n{turn.Narrative}";
}
