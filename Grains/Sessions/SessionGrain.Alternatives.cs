using System.Globalization;
using Loom.Events;
using Loom.Errors;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Sessions;

/// <summary>
/// Alternatives of the latest turn and the story tree, conducted: the rules live in <see cref="TurnAlternatives"/>
/// and <see cref="StoryTree"/>. A rework (regenerate, continue, resend) is accepted like a turn (durably queued,
/// then run by the pump and committed in one transaction); a choice commits the journal record, memory, audit and
/// header in one transaction.
/// </summary>
public sealed partial class SessionGrain
{
    public async Task<TurnView> Rework(string ownerId, string turnId, ReworkRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var stored = await ReworkTargetAsync(turnId);
        var keyUse = request.IdempotencyKey is { } key ? TurnAlternatives.UseOf(stored, key, request) : TurnAlternatives.KeyUse.New;
        if (keyUse == TurnAlternatives.KeyUse.Reused) throw Problems.IdempotencyKeyReused();
        if (keyUse == TurnAlternatives.KeyUse.Retry)
        {
            // A retry of an accepted rework: answer with the turn as it is now, and make sure the rework runs.
            EnsurePump();
            return stored.Rework is null ? _journal.Present(stored) : _journal.CurrentView(stored);
        }
        if (S.Status != SessionStatus.Active)
            throw Problems.Conflict("session_not_active", $"The session is {S.Status.ToString().ToLowerInvariant()}; set it active to play.");
        if (request.Kind == ReworkKind.Resend)
        {
            // A resend puts new words in a turn's place; in a shared session words go through the room (turn order, the
            // intervention policy, the speaker's name), which a rework does not. Regenerate and continue keep the words.
            if (S.Shared)
                throw Problems.Conflict("resend_in_shared_session", "A shared session's turns are sent through its room: roll back to the turn before and play the new words instead.");
            _options.CheckInput(request.Input);
        }
        TurnAlternatives.CheckLatest(S, stored);
        if (request.Kind != ReworkKind.Continue) await RequireRetconsAllowedAsync();
        await _tenancy.CheckBudgetAsync();
        await _tenancy.CheckStorageQuotaAsync();

        var memory = await _memory.GetAsync();
        await _memory.SettledAsync();
        var (count, chosen) = TurnAlternatives.CountOf(stored);
        var queued = TurnAlternatives.Accept(S, stored, memory, request);
        var unit = _state.Begin();
        _audit.Stage(unit, _audit.Entry(request.Kind.ToString().ToLowerInvariant(), request.Reason, stored.Turn.Seq, new(StringComparer.Ordinal)
        {
            ["turnId"] = turnId,
            ["alternatives"] = count.ToString(CultureInfo.InvariantCulture),
            ["chosen"] = chosen.ToString(CultureInfo.InvariantCulture),
        }));
        if (!S.ReminderRegistered && _reminderRegistration is not { IsCompleted: false }) _reminderRegistration = RegisterPumpReminderAsync();
        await WriteHeaderOrRevertAsync(unit);
        _journal.ForgetRecent();

        var view = _journal.CurrentView(queued);
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnQueued, TurnId = turnId, Turn = view });
        EnsurePump();
        return view;
    }

    public async Task<TurnView> Choose(string ownerId, string turnId, ChoiceRequest request)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(request);
        var stored = await ReworkTargetAsync(turnId);
        var (count, chosen) = TurnAlternatives.CountOf(stored);
        if (request.Alternative < 1 || request.Alternative > count)
            throw Problems.Invalid("alternative", $"alternative must be between 1 and {count}.");
        if (stored.Rework is null && request.Alternative == chosen) return _journal.Present(stored); // already so: nothing to do
        TurnAlternatives.CheckLatest(S, stored);
        await RequireRetconsAllowedAsync();

        var memory = await _memory.GetAsync();
        await _memory.SettledAsync();
        var switched = TurnAlternatives.Choose(S, stored, memory, request.Alternative - 1);
        await _memory.RefreshEmbeddingsQuietlyAsync(memory);
        var unit = _state.Begin();
        _journal.Put(unit, switched);
        _memory.Stage(unit, memory);
        _audit.Stage(unit, _audit.Entry("choice", request.Reason, stored.Turn.Seq, new(StringComparer.Ordinal)
        {
            ["turnId"] = turnId,
            ["from"] = chosen.ToString(CultureInfo.InvariantCulture),
            ["to"] = request.Alternative.ToString(CultureInfo.InvariantCulture),
        }));
        try
        {
            await WriteHeaderOrRevertAsync(unit);
        }
        catch
        {
            // Memory holds the switch that storage did not take: read it again from the rows.
            _memory.Reset();
            throw;
        }
        _journal.ForgetRecent();

        var view = _journal.Present(switched);
        if (view.MemoryUpdates.Count > 0)
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.MemoryUpdated, TurnId = turnId, Memory = view.MemoryUpdates });
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnChosen, TurnId = turnId, Turn = view });
        return view;
    }

    public async Task<StoryTreeView> GetTree(string ownerId)
    {
        Require(ownerId);
        var records = await _journal.CommittedAsync(S.NextOrdinal);
        var audit = await _audit.AllAsync();
        return StoryTree.Build(SessionId, S, records, audit, _journal.Present);
    }

    /// <summary>The turn a rework or choice names: its pending rework, or its committed record (404 otherwise).</summary>
    private async Task<TurnRecord> ReworkTargetAsync(string turnId)
    {
        if (!TurnIds.TryGetOrdinal(turnId, out var ordinal) || ordinal >= S.NextOrdinal) throw Problems.NotFound("Turn", turnId);
        var record = S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) ?? await _journal.ReadAsync(ordinal);
        return record?.Turn.TurnId == turnId ? record : throw Problems.NotFound("Turn", turnId);
    }

    /// <summary>Replacing what the latest turn said is a retcon: refused (403) where the world or session forbids retcons.</summary>
    private async Task RequireRetconsAllowedAsync()
    {
        if (!_turns.PolicyOf(await _turns.CanonAsync()).RetconAllowed)
            throw Problems.Forbidden("retcon_not_allowed", "Regenerating or switching a turn rewrites the story, and retcons are not allowed in this session.");
    }

    // ---------------------------------------------------------------- the pump's hooks

    private async Task PrepareReworkAsync(TurnRecord running)
    {
        var memory = await _memory.GetAsync();
        // Reads show the rework as it goes (the turn it replaces is committed, its memory is taken out meanwhile).
        _memory.TurnChanging(readSeq: null);
        TurnAlternatives.Prepare(memory, running);
        // Readers that join mid-continuation see the narrative so far, then what streams.
        if (running.Rework!.BaseNarrative is { } basis) _journal.AppendLive(basis.TrimEnd() + "\n\n");
    }

    private async Task<(TurnRecord Stored, TurnView Announced)> SettleReworkAsync(TurnRecord finished)
    {
        var memory = await _memory.GetAsync();
        var settled = TurnAlternatives.Settle(finished, memory);
        if (settled.Announced.Status != TurnStatus.Completed) await _memory.RefreshEmbeddingsQuietlyAsync(memory);
        return settled;
    }

    private void ApplyReworkCommitted(TurnRecord stored, TurnView attempt)
    {
        TurnAlternatives.Committed(S, stored, attempt);
        _journal.ForgetRecent();
        _tenancy.ReportStoredBytes(force: false);
    }
}
