using System.Globalization;
using System.Text;
using Loom.Errors;
using Loom.Events;
using Loom.Interventions;
using Loom.Sessions;
using Loom.Storage;

namespace Loom.Turns;

/// <summary>
/// A session's turns for one activation: the pending queue in the header and the committed records, one row each
/// ("session.turn.{ordinal}"). Reads see a stored turn as the live timeline does (one a rollback took off it reads
/// as retconned) and the running turn with the narrative streamed so far.
/// </summary>
public sealed class TurnJournal(IGrainRowStore rows, GrainRows<SessionState> header, int recentTurns)
{
    /// <summary>Records read per round trip when walking the journal.</summary>
    private const int Batch = 64;

    private readonly RecordStore<TurnRecord> _records = new(rows, header.Grain, "session.turn", recentTurns * 2);
    private List<TurnView>? _recent;
    /// <summary>Narrative streamed so far for the running turn (for readers and watchers that join mid-turn).</summary>
    private StringBuilder? _live;

    private SessionState S => header.State;

    public Task<TurnRecord?> ReadAsync(long ordinal) => _records.ReadAsync(ordinal);

    public void Put(RowUnit unit, TurnRecord record) => _records.Put(unit, record.Ordinal, record);

    /// <summary>A new turn for <paramref name="input"/>, to be queued after the last one (markers parsed, not yet applied).</summary>
    public static TurnRecord Queued(SessionState s, string input, string? idempotencyKey)
    {
        var parsed = InterventionParser.Parse(input);
        var ordinal = s.NextOrdinal;
        return new TurnRecord
        {
            Ordinal = ordinal,
            IdempotencyKey = idempotencyKey,
            Turn = new TurnView
            {
                TurnId = TurnIds.New(ordinal),
                Seq = s.LastSeq + 1,
                Input = input,
                StoryInput = parsed.StoryText,
                Interventions = parsed.Interventions,
                Status = TurnStatus.Queued,
                Provider = s.Llm.Provider,
                Model = s.Llm.Model,
                CreatedAt = DateTime.UtcNow,
            },
        };
    }

    /// <summary>What a watcher that cannot be replayed to sees first: the pending turns as they are now.</summary>
    public IEnumerable<SessionEvent> Snapshot()
    {
        foreach (var pending in S.Pending)
        {
            var type = pending.Turn.Status == TurnStatus.Running ? SessionEventTypes.TurnStarted : SessionEventTypes.TurnQueued;
            yield return new SessionEvent { Id = "", Type = type, TurnId = pending.Turn.TurnId, Turn = CurrentView(pending) };
        }
    }

    // ---------------------------------------------------------------- the running turn's narrative

    public void StartLive() => _live = new StringBuilder();

    public void AppendLive(string text) => _live?.Append(text);

    public void EndLive() => _live = null;

    /// <summary>The pending turn as a reader sees it now (the running one with the narrative streamed so far).</summary>
    public TurnView CurrentView(TurnRecord pending) =>
        pending.Turn.Status == TurnStatus.Running && _live is { } live
            ? pending.Turn with { Narrative = live.ToString() }
            : pending.Turn;

    /// <summary>A stored turn as readers see it: one that a rollback took off the live timeline is retconned.</summary>
    public TurnView Present(TurnRecord stored)
    {
        var seq = stored.Turn.Seq;
        var live = seq >= 1 && seq <= S.LastSeq && S.OrdinalOfSeq(seq) == stored.Ordinal;
        var view = Timeline.TurnAlternatives.View(stored);
        return live || view.Status == TurnStatus.Retconned ? view : view with { Status = TurnStatus.Retconned };
    }

    // ---------------------------------------------------------------- lookups

    public async Task<TurnView?> FindAsync(string turnId)
    {
        if (!TurnIds.TryGetOrdinal(turnId, out var ordinal) || ordinal >= S.NextOrdinal) return null;
        if (S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) is { } pending)
        {
            return pending.Turn.TurnId == turnId ? CurrentView(pending) : null;
        }
        var stored = await _records.ReadAsync(ordinal);
        return stored?.Turn.TurnId == turnId ? Present(stored) : null;
    }

    /// <summary>The turn an idempotency key in the window already made, or null when the key is new.</summary>
    public async Task<TurnView?> FindByKeyAsync(string key)
    {
        var hash = IdempotencyEntry.Hash(key);
        foreach (var entry in S.RecentKeys)
        {
            if (entry.Key is not null)
            {
                if (entry.Key != key) continue;
                return await FindAsync(entry.TurnId!) ?? throw Problems.NotFound("Turn", entry.TurnId!);
            }
            if (entry.KeyHash != hash) continue;
            if (await FindByOrdinalAsync(entry.Ordinal, key) is { } found) return found;
            // Otherwise two keys share 64 bits of their hash: not this one.
        }
        foreach (var ordinal in S.Keys.Candidates(key))
        {
            if (await FindByOrdinalAsync(ordinal, key) is { } found) return found;
            // Otherwise two keys share 32 bits of their hash: not this one.
        }
        return null;
    }

    private async Task<TurnView?> FindByOrdinalAsync(long ordinal, string key)
    {
        if (S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) is { } pending)
        {
            return pending.IdempotencyKey == key ? CurrentView(pending) : null;
        }
        return await _records.ReadAsync(ordinal) is { } stored && stored.IdempotencyKey == key ? Present(stored) : null;
    }

    /// <summary>
    /// A page of turns: the live timeline by seq (cursor: the last seq), or every turn ever made in journal order
    /// (cursor "o{ordinal}"), whose page reads at most <c>limit</c> journal positions whatever the header claims.
    /// </summary>
    public async Task<TurnList> ListAsync(TurnQuery query)
    {
        var limit = Math.Clamp(query.Limit, 1, 200);
        var items = new List<TurnView>(limit);
        string? next = null;

        if (!query.IncludeRetconned)
        {
            var from = Math.Max(1, (query.AfterSeq ?? 0) + 1);
            var to = Math.Min(S.LastSeq, from + limit - 1);
            var committedUpTo = S.CommittedSeq();
            var stored = await _records.ReadManyAsync(Enumerable.Range(from, Math.Max(0, Math.Min(to, committedUpTo) - from + 1)).Select(S.OrdinalOfSeq));
            items.AddRange(stored.Select(Timeline.TurnAlternatives.View));
            items.AddRange(S.Pending.Where(p => p.Turn.Seq >= from && p.Turn.Seq <= to).Select(CurrentView));
            if (to < S.LastSeq) next = to.ToString(CultureInfo.InvariantCulture);
            return new TurnList { Items = items, Next = next };
        }

        // A missing committed record is the journal's end (journals have no gaps).
        var journalEnd = S.JournalEnd();
        var start = Math.Max(0, query.AfterOrdinal is { } after ? after + 1 : 0);
        var end = Math.Min(S.NextOrdinal, start + limit);
        var ordinal = start;
        for (; ordinal < end; ordinal++)
        {
            TurnView? turn;
            if (S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) is { } pending)
            {
                turn = CurrentView(pending); // a queued turn, or a rework of a committed one in progress
            }
            else if (ordinal >= journalEnd)
            {
                turn = null;
            }
            else if (await _records.ReadAsync(ordinal) is { } stored)
            {
                turn = Present(stored);
            }
            else
            {
                ordinal = journalEnd - 1;
                continue;
            }
            if (turn is not null && (query.AfterSeq is null || turn.Seq > query.AfterSeq)) items.Add(turn);
        }
        if (ordinal < S.NextOrdinal) next = TurnQuery.OrdinalCursor(ordinal - 1);
        return new TurnList { Items = items, Next = next };
    }

    // ---------------------------------------------------------------- the recent window

    /// <summary>The newest committed, completed turns (cached; the prompt's history comes from here).</summary>
    public async Task<List<TurnView>> RecentAsync()
    {
        if (_recent is not null) return _recent;
        var committedUpTo = S.CommittedSeq();
        var from = Math.Max(1, committedUpTo - recentTurns + 1);
        var records = await _records.ReadManyAsync(Enumerable.Range(from, Math.Max(0, committedUpTo - from + 1)).Select(S.OrdinalOfSeq));
        _recent = records.Select(r => r.Turn).Where(t => t.Status == TurnStatus.Completed).ToList();
        return _recent;
    }

    /// <summary>A completed turn joins the recent window (when it is cached).</summary>
    public void Completed(TurnView turn)
    {
        if (_recent is null) return;
        _recent.Add(turn);
        if (_recent.Count > recentTurns) _recent.RemoveAt(0);
    }

    /// <summary>The timeline changed under the cached window (rollback, restore): read it again when needed.</summary>
    public void ForgetRecent() => _recent = null;

    /// <summary>Completed turns among the committed live seqs given.</summary>
    public async Task<List<TurnRecord>> ReadLiveAsync(IEnumerable<int> seqs) =>
        await _records.ReadManyAsync(seqs.Where(s => s <= S.CommittedSeq()).Select(S.OrdinalOfSeq));

    // ---------------------------------------------------------------- walks bounded by what the session holds

    /// <summary>
    /// Committed records at positions [0, n), read a batch at a time up to the first missing one. A journal has no
    /// gaps below its first pending turn, so this costs what the session holds even if a header's counter claims more.
    /// </summary>
    public async Task<List<TurnRecord>> CommittedAsync(long claimedEnd)
    {
        var records = new List<TurnRecord>();
        for (long from = 0; from < claimedEnd; from += Batch)
        {
            var batch = Numbers.Range(from, Math.Min(claimedEnd, from + Batch)).ToList();
            var read = await Task.WhenAll(batch.Select(_records.ReadAsync));
            foreach (var record in read)
            {
                if (record is null) return records;
                records.Add(record);
            }
        }
        return records;
    }

    /// <summary>Live turns 1..<paramref name="toSeq"/>, a batch at a time, up to the first missing one (as above: what
    /// the session holds bounds the walk, not what <see cref="SessionState.LastSeq"/> claims).</summary>
    public async Task<List<TurnRecord>> LiveAsync(int toSeq)
    {
        var records = new List<TurnRecord>(Math.Min(toSeq, Batch));
        for (var from = 1; from <= toSeq; from += Batch)
        {
            var batch = Enumerable.Range(from, Math.Min(Batch, toSeq - from + 1)).Select(S.OrdinalOfSeq).ToList();
            var read = await Task.WhenAll(batch.Select(_records.ReadAsync));
            foreach (var record in read)
            {
                if (record is null) return records;
                records.Add(record);
            }
        }
        return records;
    }

    /// <summary>
    /// Stages the erase of every journal record: the pending turns' (a commit cut off before its header may have left
    /// one) and the committed ones, found as <see cref="CommittedAsync"/> finds them.
    /// </summary>
    public async Task StageEraseAsync(RowUnit unit)
    {
        foreach (var pending in S.Pending) _records.Delete(unit, pending.Ordinal);
        var journalEnd = S.JournalEnd();
        long end = 0;
        for (long from = 0; from < journalEnd && end == from; from += Batch)
        {
            var batch = Numbers.Range(from, Math.Min(journalEnd, from + Batch)).ToList();
            var read = await Task.WhenAll(batch.Select(_records.ReadAsync));
            var present = Array.FindIndex(read, r => r is null);
            end = from + (present < 0 ? read.Length : present);
        }
        for (long ordinal = 0; ordinal < end; ordinal++) _records.Delete(unit, ordinal);
    }
}
