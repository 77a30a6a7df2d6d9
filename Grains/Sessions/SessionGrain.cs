using System.Diagnostics;
using System.Runtime.CompilerServices;
using Loom.Budgets;
using Loom.Errors;
using Loom.Events;
using Loom.Interventions;
using Loom.Llm;
using Loom.Memory;
using Loom.Multiplayer;
using Loom.Quotas;
using Loom.Security;
using Loom.Storage;
using Loom.Telemetry;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Storage;

namespace Loom.Sessions;

/// <summary>
/// A play session, conducted: this grain keeps the queue, the pump, the commit order and the API; the work is done
/// by plain classes (<see cref="TurnRunner"/> runs a turn, <see cref="TurnJournal"/> holds the turns,
/// <see cref="SessionMemoryStore"/> the memory rows, <see cref="SessionAuditLog"/> the audit log,
/// <see cref="SessionTenancy"/> what the owner is owed). Requests (submit, reads, watch) are short; the turns run in a
/// background pump on this activation's scheduler, so reads and submits interleave with a running turn while turns
/// of the session still run strictly one at a time, in order. A turn is acknowledged only once the header that
/// queues it is durably written (its narration may start meanwhile, see <see cref="TurnAcceptance"/>); it is committed
/// in one transaction: journal record, memory delta, audit entries, the owner's pending usage and the header together
/// (<see cref="GrainRows{THeader}"/>).
/// </summary>
// Sessions go to the silo with the fewest activations: Orleans' default (resource-optimized, preferring the silo that
// received the call) put 94 % of one gateway's new sessions on one of two silos (docs/performance.md, cluster runs).
[Orleans.Placement.ActivationCountBasedPlacement]
public sealed partial class SessionGrain : Grain, ISessionGrain, ISessionSeedGrain, IRemindable, IMayHoldNothing
{
    private const string PumpReminder = "pump";
    /// <summary>The header row's name (the grain storage state name the session has always used).</summary>
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(15);
    /// <summary>Bounded label for metrics: how the session came to be.</summary>
    private const string SessionType = "story";

    private readonly GrainRows<SessionState> _state;
    private readonly TurnJournal _journal;
    private readonly SessionMemoryStore _memory;
    private readonly SessionAuditLog _audit;
    private readonly SessionTenancy _tenancy;
    private readonly TurnContext _turns;
    private readonly TurnRunner _runner;
    private readonly TurnOptions _options;
    private readonly ILlmSettingsResolver _llm;
    private readonly LlmResilienceOptions _resilience;
    private readonly LoomMetrics _metrics;
    private readonly LocalSessions _local;
    /// <summary>Why this activation is going (set when its deactivation starts).</summary>
    private string? _deactivation;
    private readonly ILogger<SessionGrain> _logger;
    private readonly SessionEventHub _events = new();
    private readonly TurnWaiters _waiters = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly SessionFounder _founder;
    private Task? _pump;
    private Task? _reminderRegistration;
    // Trace context of the request that submitted each queued turn (in memory only: a reactivated queue starts new traces).
    private readonly Dictionary<string, ActivityContext> _turnTraces = new(StringComparer.Ordinal);
    private readonly Action<Exception, TimeSpan> _storageRetrying;
    /// <summary>The turn whose accept (header write) is in flight: queued in memory, narrated maybe, not yet acknowledged.</summary>
    private TurnAcceptance? _accepting;
    /// <summary>Turns the player stopped before they finished (failed as <c>cancelled</c> when the pump reaches them).</summary>
    private readonly HashSet<string> _cancelled = new(StringComparer.Ordinal);
    /// <summary>The running turn and what cuts its narration off (a stop, or its accept failing).</summary>
    private (string TurnId, CancellationTokenSource Stop)? _running;
    /// <summary>Set when a deactivation stopped waiting for the pump: whatever it finishes later is not committed from here.</summary>
    private bool _abandoned;
    /// <summary>With a read replica, the owner's list reads this session's row there while it is idle (see IOwnerGrain.SessionIdle).</summary>
    private readonly IReplicaRowReader _replica;
    private readonly Guid _activation = Guid.NewGuid();

    public SessionGrain(
        IGrainRowStore rows,
        TurnRunner runner,
        CanonCache canons,
        SessionFounder founder,
        ILlmSettingsResolver llm,
        WorldMemoryFactory memoryFactory,
        IOptions<TurnOptions> options,
        IOptions<QuotaOptions> quotas,
        IOptions<BudgetOptions> budgets,
        IOptions<LlmOptions> llmOptions,
        IReplicaRowReader replica,
        LoomMetrics metrics,
        LocalSessions local,
        ILogger<SessionGrain> logger)
    {
        _replica = replica;
        _options = options.Value;
        _runner = runner;
        _llm = llm;
        _resilience = llmOptions.Value.Resilience;
        _metrics = metrics;
        _local = local;
        _logger = logger;
        _state = new GrainRows<SessionState>(rows, this.GetGrainId(), SessionRows.Header);
        _journal = new TurnJournal(rows, _state, _options.RecentTurnsCached);
        _memory = new SessionMemoryStore(SessionId, rows, _state, memoryFactory, logger);
        _audit = new SessionAuditLog(rows, _state);
        _tenancy = new SessionTenancy(this, SessionId, _state, GrainFactory, quotas.Value, budgets.Value, logger);
        _storageRetrying = (ex, delay) => LogStorageRetry(ex, SessionId, delay.TotalMilliseconds);
        _turns = new TurnContext(SessionId, _state, _journal, _memory, _events, canons, _stopping.Token);
        _founder = founder;
    }

    private SessionState S => _state.State;
    private string SessionId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _metrics.SessionActivated();
        try
        {
            await _state.ReadHeaderAsync();
        }
        catch (Exception ex) when (StorageFaults.IsOutage(ex))
        {
            // Named while the cause is known: activation failures reach callers without call filters, SQLSTATE stripped.
            throw Problems.StorageUnavailable();
        }
        // Before anything is written: from now on the owner's list reads this session here, not from the replica.
        if (_replica.Enabled && S.Exists)
        {
            await GrainFactory.GetGrain<IOwnerGrain>(S.OwnerId).SessionLive(SessionId, _activation);
            await TakeInSupportReadsAsync();
        }
        if (S.Exists && S.Pending.Count > 0)
        {
            await ReconcileHeadAsync();
            EnsurePump();
        }
        _local.Activated(SessionId); // only once activated: a failed activation is never deactivated
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _metrics.SessionDeactivated();
        _local.Deactivated(SessionId);
        _deactivation = reason.ReasonCode.ToString();
        _stopping.Cancel();
        _tenancy.ReportStoredBytes(force: true);
        if (_pump is { IsCompleted: false } pump)
        {
            // The running turn is not committed; it stays queued and resumes on the next activation. Bounded: while this
            // waits, the session's callers wait too, and a step that ignores cancellation must not hold them (and the
            // silo's drain) for the whole deactivation timeout.
            var drained = await Task.WhenAny(pump, Task.Delay(PumpDrainLimit, cancellationToken)) == pump;
            if (!drained)
            {
                _abandoned = true;
                LogPumpAbandoned(SessionId, _running?.TurnId, _turns.Step, PumpDrainLimit.TotalSeconds);
            }
        }
        _events.CompleteAll();
        // A session moving to another silo (a hand-off) lives on there: its reminder stays, and the calls that queue
        // behind the move do not wait for a reminder read, delete and header write that the next turn would undo.
        if (reason.ReasonCode == DeactivationReasonCode.Migrating) return;
        // Reminder calls are bounded here: while a silo shuts down its reminder service may already be gone, and a call
        // that waits for it holds the whole drain (a SIGTERM drain once took the host's full 20 s). A reminder left
        // behind is harmless: it wakes the session, which finds nothing pending and unregisters it then.
        try
        {
            if (_reminderRegistration is { } registering) await registering.WaitAsync(ReminderCleanupLimit, cancellationToken);
            if (S.Exists && S.Pending.Count == 0 && S.ReminderRegistered)
            {
                if (await this.GetReminder(PumpReminder).WaitAsync(ReminderCleanupLimit, cancellationToken) is { } reminder)
                    await this.UnregisterReminder(reminder).WaitAsync(ReminderCleanupLimit, cancellationToken);
                S.ReminderRegistered = false;
                await _state.CommitAsync().WaitAsync(ReminderCleanupLimit, cancellationToken);
            }
        }
        catch (Exception ex)
        {
            LogReminderCleanupFailed(ex, SessionId);
            return; // a bounded write may still land: the header's last version is not known, so the owner is not told
        }
        await ReportIdleAsync(cancellationToken);
    }

    /// <summary>With a read replica: support reads answered from it while the session was idle join its audit log now,
    /// before anything else is written. If that write fails they stay where they are for the next activation.</summary>
    private async Task TakeInSupportReadsAsync()
    {
        var unit = _state.Begin();
        var taken = await _audit.StagePendingAsync(unit);
        if (taken == 0) return;
        try
        {
            await WriteHeaderOrRevertAsync(unit, undo: () => S.NextAudit -= taken);
        }
        catch (Exception ex)
        {
            LogSupportReadsNotTaken(ex, SessionId, taken);
        }
    }

    /// <summary>With a read replica: tells the owner the header version this activation leaves behind, unless a write may
    /// still be landing (an abandoned turn). Best effort: an owner that is not told lists the session through its grain.</summary>
    private async Task ReportIdleAsync(CancellationToken cancellationToken)
    {
        if (!_replica.Enabled || _abandoned || !S.Exists || _state.Version is not { } version) return;
        try
        {
            await GrainFactory.GetGrain<IOwnerGrain>(S.OwnerId).SessionIdle(SessionId, _activation, version).WaitAsync(ReminderCleanupLimit, cancellationToken);
        }
        catch (Exception ex)
        {
            LogIdleReportFailed(ex, SessionId);
        }
    }

    private static readonly TimeSpan ReminderCleanupLimit = TimeSpan.FromSeconds(2);
    /// <summary>How long a deactivation waits for the running turn to stop (its queue entry survives either way).</summary>
    private static readonly TimeSpan PumpDrainLimit = TimeSpan.FromSeconds(3);

    // ---------------------------------------------------------------- lifecycle of the session

    /// <summary>A create under a chosen name (a conversation's session); fresh ids go to <see cref="SessionFounderGrain"/>.</summary>
    public async Task<SessionInfo> Create(SessionSpec spec)
    {
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");
        return await FoundAsync(() => _founder.FoundAsync(SessionId, spec, _state, _memory));
    }

    /// <summary>
    /// Runs a call that brings this session into being (create, import, a fork's restore). If it fails, nothing or not
    /// all of it was stored: this activation's memory may be ahead of storage, or hold nothing (see <see cref="Unknown"/>),
    /// so it goes and the next call reads what is stored.
    /// </summary>
    private async Task<SessionInfo> FoundAsync(Func<Task<SessionInfo>> found)
    {
        try
        {
            return await found();
        }
        catch
        {
            DeactivateOnIdle();
            throw;
        }
    }

    public Task<SessionInfo> GetInfo(string ownerId)
    {
        Require(ownerId);
        return Task.FromResult(Info());
    }

    public async Task<SessionInfo> Update(string ownerId, SessionPatch patch)
    {
        Require(ownerId);
        var undo = S.Snapshot();
        S.Apply(patch);
        S.UpdatedAt = DateTime.UtcNow;
        await WriteHeaderOrRevertAsync(undo: undo);
        if (S.Status == SessionStatus.Active) EnsurePump();
        return Info();
    }

    public async Task Delete(string ownerId, bool permanent)
    {
        Require(ownerId);
        if (!permanent)
        {
            var undo = S.Snapshot();
            S.Status = SessionStatus.Archived;
            S.UpdatedAt = DateTime.UtcNow;
            await WriteHeaderOrRevertAsync(undo: undo);
            return;
        }

        // Erase: close the room (members lose access before anything else goes), stop the pump, then remove every
        // journal, memory and audit row with the header in one transaction, then the owner's index entry.
        if (S.Shared) await GrainFactory.GetGrain<ISessionRoomGrain>(SessionId).Close(ownerId);
        _stopping.Cancel();
        if (_pump is { IsCompleted: false } pump) await pump.ContinueWith(_ => { }, TaskScheduler.Current);
        var erase = _state.Begin();
        await _journal.StageEraseAsync(erase);
        await _memory.StageEraseAsync(erase);
        await _audit.StageEraseAsync(erase);
        var owner = GrainFactory.GetGrain<IOwnerGrain>(ownerId);
        OwnerIndexRows.StageRemoval(erase, owner.GetGrainId(), SessionId);
        if (S.ReminderRegistered && await this.GetReminder(PumpReminder) is { } reminder) await this.UnregisterReminder(reminder);
        await _state.ClearAsync(erase);
        _state.State = new SessionState();
        await owner.Remove(SessionId);
        _waiters.FailAll(SessionId);
        _events.CompleteAll();
        DeactivateOnIdle();
    }

    public Task Wake()
    {
        if (S.Exists) EnsurePump();
        return Task.CompletedTask;
    }

    /// <summary>
    /// Registers the reminder that guards the queue against silo loss (it reactivates the session elsewhere), beside
    /// the accept rather than before it: the accepted turn is durable in the header either way, and the reminder
    /// table's write (not part of the group commit) no longer delays the first turn of every activation. The flag
    /// is stored with the next header write; a failure is retried by the next submit.
    /// </summary>
    private async Task RegisterPumpReminderAsync()
    {
        try
        {
            await this.RegisterOrUpdateReminder(PumpReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            S.ReminderRegistered = true;
        }
        catch (Exception ex)
        {
            LogReminderFailed(ex, SessionId);
        }
    }

    public async Task ReceiveReminder(string reminderName, TickStatus status)
    {
        if (reminderName != PumpReminder) return;
        if (S.Exists && S.Pending.Count > 0)
        {
            EnsurePump();
            return;
        }
        if (await this.GetReminder(PumpReminder) is { } reminder) await this.UnregisterReminder(reminder);
        if (S.Exists && S.ReminderRegistered)
        {
            S.ReminderRegistered = false;
            await _state.CommitAsync();
        }
    }

    // ---------------------------------------------------------------- turns: submit and read

    public async Task<TurnView> Submit(string ownerId, TurnSubmission submission)
    {
        Require(ownerId);
        if (S.Shared && submission.Speaker is null) throw Loom.Multiplayer.RoomProblems.SubmitThroughRoom(SessionId); // multiplayer
        var key = SubmitKeys.Of(submission, S.OwnerId);
        if (key is not null && await _journal.FindByKeyAsync(key) is { } seen)
        {
            // The same key with another input is a key reused for a new turn, not a retry: answering the old turn would
            // drop this input without a word.
            if (!SubmitKeys.IsRetry(submission, seen)) throw Problems.IdempotencyKeyReused();
            // A retry after an ambiguous write that did commit: make sure the queued turn runs.
            EnsurePump();
            return seen;
        }
        // Past its deadline its client gave up on it and retried with the same key; that retry may already be outside the
        // key window, so queueing this one would play the input twice.
        Problems.ThrowIfSubmitExpired(submission.NotAfter);
        if (S.Status != SessionStatus.Active)
        {
            throw Problems.Conflict("session_not_active", $"The session is {S.Status.ToString().ToLowerInvariant()}; set it active to play.");
        }
        var input = submission.Input;
        _options.CheckInput(input);
        if (S.Pending.Count >= _options.MaxPending)
        {
            throw Problems.TooMany("queue_full", $"The session already has {S.Pending.Count} pending turns.", retryAfterSeconds: 5);
        }
        await _tenancy.CheckBudgetAsync();
        await _tenancy.CheckStorageQuotaAsync();

        var record = TurnJournal.Queued(S, input, key);
        // multiplayer hook: who played the turn, and the players block its prompt shows
        record = record with { Players = submission.Players, Turn = record.Turn with { Speaker = submission.Speaker } };

        if (!S.ReminderRegistered && _reminderRegistration is not { IsCompleted: false }) _reminderRegistration = RegisterPumpReminderAsync();
        var keysBefore = S.SnapshotKeys();
        S.Enqueue(record, _options.IdempotencyWindow);
        var accepting = Stopwatch.GetTimestamp();
        // The pump may narrate the turn while its accept is written (the model call no longer waits for the write);
        // it commits the turn only once the accept has landed.
        var acceptance = new TurnAcceptance(record.Turn.TurnId);
        _accepting = acceptance;
        if (Activity.Current is { } submitting) _turnTraces[record.Turn.TurnId] = submitting.Context;
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnQueued, TurnId = record.Turn.TurnId, Turn = record.Turn });
        var write = WriteHeaderOrRevertAsync(undo: () => S.Unqueue(record, keysBefore));
        EnsurePump();
        try
        {
            await write;
            acceptance.Settle(landed: true);
        }
        catch (Exception ex)
        {
            acceptance.Settle(landed: false);
            StopRunning(record.Turn.TurnId);
            _turnTraces.Remove(record.Turn.TurnId);
            PublishWithdrawn(record.Turn, ex);
            throw;
        }
        finally
        {
            _accepting = null;
        }
        _metrics.StageSince(TurnStages.Accept, accepting);
        return record.Turn;
    }

    public async Task<TurnView> GetTurn(string ownerId, string turnId)
    {
        Require(ownerId);
        return await _journal.FindAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
    }

    // context viewer (issue 13)
    public async Task<TurnContextView> GetTurnContext(string ownerId, string turnId)
    {
        Require(ownerId);
        var turn = await _journal.FindAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
        var stored = S.Pending.Any(p => p.Turn.TurnId == turnId) || !TurnIds.TryGetOrdinal(turnId, out var ordinal) ? null : await _journal.ReadAsync(ordinal);
        return stored?.Context is { } context
            ? new TurnContextView { TurnId = turn.TurnId, Seq = turn.Seq, Status = turn.Status, Context = context }
            : throw new LoomProblemException(404, "context_unavailable", "Context not available",
                $"Turn '{turnId}' has no recorded context: it is still queued, failed before its prompt was built, or was played by an older version.");
    }

    public Task<TurnList> ListTurns(string ownerId, TurnQuery query)
    {
        Require(ownerId);
        return _journal.ListAsync(query);
    }

    public async Task<TurnView> WaitForTurn(string ownerId, string turnId, TimeSpan timeout)
    {
        Require(ownerId);
        var turn = await _journal.FindAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
        if (turn.Status.IsFinished() || timeout <= TimeSpan.Zero) return turn;
        var (finished, done) = await _waiters.WaitAsync(turnId, timeout);
        return finished ? done! : await _journal.FindAsync(turnId) ?? turn;
    }

    public async Task<TurnView> CancelTurn(string ownerId, string turnId)
    {
        Require(ownerId);
        if (S.Pending.FirstOrDefault(p => p.Turn.TurnId == turnId) is not { } pending)
        {
            var turn = await _journal.FindAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
            throw Problems.Conflict("turn_finished", $"Turn '{turnId}' is already {turn.Status.ToString().ToLowerInvariant()}: there is nothing to stop.");
        }
        _cancelled.Add(turnId);
        if (!StopRunning(turnId)) EnsurePump();
        return await _journal.FindAsync(turnId) ?? pending.Turn;
    }

    /// <summary>Cuts off the narration of <paramref name="turnId"/> if it is the running turn (a stop, a failed accept).</summary>
    private bool StopRunning(string turnId)
    {
        if (_running is not { } running || running.TurnId != turnId) return false;
        running.Stop.Cancel();
        return true;
    }

    /// <summary>A turn the player stopped: failed as <c>cancelled</c>, committed in its place in the story like any failed turn.</summary>
    private static TurnRecord Cancelled(TurnRecord turn) => turn with
    {
        Turn = turn.Turn with
        {
            Status = TurnStatus.Failed,
            CompletedAt = DateTime.UtcNow,
            Error = new TurnError { Code = TurnError.CancelledCode, Message = "Stopped before the narrator finished; nothing of it was kept." },
        },
    };

    public async IAsyncEnumerable<SessionEvent> Watch(string ownerId, string? lastEventId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Require(ownerId);
        await foreach (var ev in _events.WatchAsync(lastEventId, _journal.Snapshot, HeartbeatEvery, cancellationToken)) yield return ev;
    }

    // ---------------------------------------------------------------- the pump

    private void EnsurePump()
    {
        if (_pump is { IsCompleted: false } || _stopping.IsCancellationRequested || _handingOff) return;
        if (S.Pending.Count == 0 || S.Status != SessionStatus.Active) return;
        _pump = PumpAsync();
    }

    private async Task PumpAsync()
    {
        // Yield first so the request that started the pump answers before the first turn runs.
        await Task.Yield();
        // Each turn's span hangs off the request that submitted it, not off whichever request started the pump.
        Activity.Current = null;
        while (!_stopping.IsCancellationRequested && !_handingOff && S.Pending.Count > 0 && S.Status == SessionStatus.Active)
        {
            var queued = S.Pending[0];
            // A turn whose accept is still being written is narrated now and committed once the accept has landed.
            var acceptance = _accepting is { } a && a.TurnId == queued.Turn.TurnId ? a : null;
            _turnTraces.Remove(queued.Turn.TurnId, out var submittedBy);
            using var span = LoomTelemetry.StartTurn(submittedBy, SessionId, queued.Turn.TurnId);
            try
            {
                TurnRecord finished;
                var deferred = false;
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
                _running = (queued.Turn.TurnId, stop);
                _turns.BeginTurn(stop.Token);
                try
                {
                    finished = _cancelled.Contains(queued.Turn.TurnId) ? Cancelled(queued) : await RunTurnAsync(queued);
                    if (finished.Turn.Status == TurnStatus.Failed) LoomTelemetry.TurnFailed(span, finished.Turn.Error?.Code);
                }
                catch (Exception) when (acceptance is { Withdrawn: true })
                {
                    continue; // its accept failed: the submit withdrew it and reported why
                }
                catch (Exception) when (_cancelled.Contains(queued.Turn.TurnId) && !_stopping.IsCancellationRequested)
                {
                    finished = Cancelled(S.Pending[0]); // stopped by the player: the runner already forgot its memory changes
                }
                catch (OperationCanceledException)
                {
                    // Deactivating: the turn stays queued and runs again on the next activation.
                    if (_deactivation is { } reason) LogTurnInterrupted(SessionId, queued.Turn.TurnId, reason);
                    if (await IsHeadAsync(queued, acceptance)) S.Pending[0] = queued;
                    return;
                }
                catch (Exception ex) when (TurnRunner.IsDeferrable(ex) || TurnRunner.IsInterrupted(ex, _stopping.Token))
                {
                    if (!await IsHeadAsync(queued, acceptance)) continue;
                    deferred = true; // a stop that arrives while it waits must still find it when the pump comes back
                    try { await DeferTurnAsync(queued, ex); } catch (OperationCanceledException) { return; }
                    continue;
                }
                finally
                {
                    _turns.EndTurn();
                    _running = null;
                    if (!deferred) _cancelled.Remove(queued.Turn.TurnId);
                }
                if (!await IsHeadAsync(queued, acceptance))
                {
                    // Narrated, then withdrawn (its accept failed late): its memory changes were never committed. They are
                    // taken back in place, not reloaded: the accept usually failed because the database is down, and a
                    // reload then would leave memory unreadable until it is back. A rework rewrote committed history,
                    // which only the rows still hold.
                    if (queued.Rework is null) _memory.ForgetTurn(_memory.Loaded, queued.Turn.Seq);
                    else _memory.Reset();
                    continue;
                }
                // A deactivation gave up on this pump: the activation is gone and the next one runs the turn again.
                if (_abandoned) return;
                try
                {
                    // Once narrated, a turn is only ever committed (retried), never narrated a second time here.
                    await CommitAsync(finished);
                }
                catch (InconsistentStateException ex)
                {
                    // Another activation wrote this session: ours is stale. Step aside; the survivor carries on.
                    LogStaleActivation(ex, SessionId);
                    DeactivateOnIdle();
                    return;
                }
                catch (OperationCanceledException)
                {
                    S.Pending[0] = queued;
                    return;
                }
            }
            finally
            {
                // Readers see the live narrative only on a running turn; by now it is committed, re-queued or deferred.
                _journal.EndLive();
                _memory.Settled();
            }
        }
    }

    /// <summary>
    /// Whether <paramref name="queued"/> is still the head of the queue, once its accept (if still in flight) has
    /// settled: a failed accept withdraws the turn, and nothing of it may be committed or queued again.
    /// </summary>
    private async Task<bool> IsHeadAsync(TurnRecord queued, TurnAcceptance? acceptance)
    {
        if (acceptance is not null && !await acceptance.Landed) return false;
        return S.Pending.Count > 0 && S.Pending[0].Ordinal == queued.Ordinal;
    }

    /// <summary>Tells watchers that a turn they saw queued (and maybe started) is gone: storage did not accept it.</summary>
    private void PublishWithdrawn(TurnView turn, Exception ex)
    {
        var problem = ex as LoomProblemException;
        var withdrawn = turn with
        {
            Status = TurnStatus.Failed,
            CompletedAt = DateTime.UtcNow,
            Error = new TurnError
            {
                Code = problem?.Code ?? (StorageFaults.IsOutage(ex) ? "storage_unavailable" : "not_accepted"),
                Message = "The turn was not accepted: storage did not take it, so it was not played. Send it again.",
            },
        };
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnFailed, TurnId = turn.TurnId, Turn = withdrawn });
    }

    /// <summary>Marks the head of the queue running, announces it and hands it to the runner (the pump ends its live narrative).</summary>
    private async Task<TurnRecord> RunTurnAsync(TurnRecord queued)
    {
        var started = DateTime.UtcNow;
        var running = queued with { Turn = queued.Turn with { Status = TurnStatus.Running, StartedAt = started } };
        S.Pending[0] = running;
        _journal.StartLive();
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnStarted, TurnId = running.Turn.TurnId, Turn = running.Turn });
        _metrics.Stage(TurnStages.QueueWait, (started - queued.Turn.CreatedAt).TotalSeconds);
        if (running.Rework is not null) await PrepareReworkAsync(running); // alternatives
        return await _runner.RunAsync(_turns, running);
    }

    /// <summary>Every narrator was overloaded: the turn goes back to the head of the queue and runs again after a pause.</summary>
    private async Task DeferTurnAsync(TurnRecord queued, Exception ex)
    {
        S.Pending[0] = queued;
        var delay = (ex as LlmCallException)?.RetryAfter ?? _resilience.OverloadRetryDelay;
        LogTurnDeferred(SessionId, queued.Turn.TurnId, delay.TotalMilliseconds);
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnQueued, TurnId = queued.Turn.TurnId, Turn = queued.Turn });
        await Task.Delay(delay, _stopping.Token);
    }

    /// <summary>
    /// One transaction: memory delta, journal record, audit entries, the owner's pending usage and the header. It is
    /// retried until it lands; a retry after an ambiguous failure that did land meets a stale version and steps aside.
    /// </summary>
    private async Task CommitAsync(TurnRecord finished)
    {
        // alternatives: a rework stores the turn with all its alternatives and announces what the attempt made
        var (stored, turn) = finished.Rework is null ? (finished, finished.Turn) : await SettleReworkAsync(finished);
        using (LoomTelemetry.ActivitySource.StartActivity(TurnSpans.Commit))
        {
            var commitStarted = Stopwatch.GetTimestamp();
            var unit = _state.Begin();
            _memory.StageLoaded(unit);
            _journal.Put(unit, stored);
            _audit.Stage(unit, InterventionPlanner.AuditOf(finished.Turn, S.OwnerId));
            _tenancy.StageUsage(unit, turn, rework: finished.Rework is not null);
            if (finished.Rework is null) ApplyCommitted(finished);
            else ApplyReworkCommitted(stored, turn);
            await _state.CommitUntilDurableAsync(unit, _stopping.Token, _storageRetrying);
            _metrics.StageSince(TurnStages.Commit, commitStarted);
        }
        // Durable: memory reads show the turn from here on (a watcher told memory.updated reads it), and edits may go.
        _memory.Settled();

        _metrics.TurnCommitted(turn, SessionType);
        // The owner counts the turn before anyone hears it finished: a usage read or budget check after the answer sees it.
        await _tenancy.RecordUsageAsync(turn, rework: finished.Rework is not null);
        if (turn.MemoryUpdates.Count > 0)
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.MemoryUpdated, TurnId = turn.TurnId, Memory = turn.MemoryUpdates });
        Publish(new SessionEvent
        {
            Id = "",
            Type = turn.Status == TurnStatus.Completed ? SessionEventTypes.TurnCompleted : SessionEventTypes.TurnFailed,
            TurnId = turn.TurnId,
            Turn = turn,
        });
        _waiters.Finished(turn);
    }

    /// <summary>The header after a turn's commit: off the queue, counted, its tone in force, its text in the stored size.</summary>
    private void ApplyCommitted(TurnRecord finished)
    {
        S.Committed(finished);
        if (finished.Turn.Status == TurnStatus.Completed) _journal.Completed(finished.Turn);
        _tenancy.ReportStoredBytes(force: false);
    }

    /// <summary>Rows written by older builds, which wrote the journal record before the header: after a crash in
    /// between, the head of the queue may already be committed; finish the commit instead of running the turn twice.</summary>
    private async Task ReconcileHeadAsync()
    {
        var head = S.Pending[0];
        // A rework's record is the committed turn it reworks: never take that for the rework's own commit.
        if (head.Rework is null && await _journal.ReadAsync(head.Ordinal) is { } stored && stored.Turn.Status.IsFinished())
        {
            var unit = _state.Begin();
            _audit.Stage(unit, InterventionPlanner.AuditOf(stored.Turn, S.OwnerId));
            ApplyCommitted(stored);
            await _state.CommitAsync(unit);
        }
        else if (head.Turn.Status == TurnStatus.Running)
        {
            S.Pending[0] = head with { Turn = head.Turn with { Status = TurnStatus.Queued, StartedAt = null } };
        }
    }

    // ---------------------------------------------------------------- helpers

    private void Require(string ownerId)
    {
        if (!S.Exists) throw Unknown();
        if (!string.Equals(S.OwnerId, ownerId, StringComparison.Ordinal)) throw Problems.NotFound("Session", SessionId);
    }

    /// <summary>
    /// The 404 of a session that does not exist. Such an activation holds nothing worth keeping, so it retires shortly
    /// (<see cref="EmptyActivations"/>): a client probing ids must not fill the silo with empty sessions until idle
    /// collection, and a burst of reads of the id is still answered by this activation.
    /// </summary>
    private LoomProblemException Unknown()
    {
        EmptyActivations.Retire(this);
        return Problems.NotFound("Session", SessionId);
    }

    bool IMayHoldNothing.HoldsNothing => !S.Exists;

    private SessionInfo Info() => S.ToInfo(SessionId);

    private void Publish(SessionEvent draft) => _events.Publish(draft);

    /// <summary>
    /// Writes the header (and <paramref name="unit"/>); on failure memory goes back to what storage holds. When the
    /// database is unreachable and the caller can take its change back exactly (<paramref name="undo"/>), that is all:
    /// the activation keeps serving reads from memory and the pump keeps retrying its own commit (a reload would fail,
    /// and dropping the activation left the session unreadable until the database was back). If such a write did land
    /// after all, the next commit meets a newer version and the activation steps aside to reload.
    /// </summary>
    private async Task WriteHeaderOrRevertAsync(RowUnit? unit = null, Action? undo = null)
    {
        try
        {
            await _state.CommitAsync(unit);
        }
        catch (Exception ex)
        {
            // Never keep in memory what storage did not accept: reload the durable truth, then report.
            if (unit is not null) _state.Abandon(unit);
            if (undo is not null && StorageFaults.IsOutage(ex))
            {
                undo();
                LogWriteUndone(ex.GetBaseException().Message, SessionId);
                throw;
            }
            try
            {
                await _state.ReadHeaderAsync();
            }
            catch (Exception reload)
            {
                // Memory now holds what storage may not have (e.g. a queued turn and its idempotency key): drop this
                // activation so the next call reads the durable truth instead of answering from it.
                LogReloadFailed(reload, SessionId);
                DeactivateOnIdle();
            }
            throw;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not register the queue's reminder; the next submit retries")]
    private partial void LogReminderFailed(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: stale activation, deactivating")]
    private partial void LogStaleActivation(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: storage write failed, retrying in {DelayMs} ms")]
    private partial void LogStorageRetry(Exception ex, string sessionId, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: storage not reachable, change not saved; still serving from memory ({Reason})")]
    private partial void LogWriteUndone(string reason, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: {Count} support reads from the replica not yet in the audit log; the next activation retries")]
    private partial void LogSupportReadsNotTaken(Exception ex, string sessionId, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not reload state after a failed write")]
    private partial void LogReloadFailed(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: deactivating without waiting longer than {LimitSeconds} s for turn {TurnId} (step {Step}); it stays queued")]
    private partial void LogPumpAbandoned(string sessionId, string? turnId, string? step, double limitSeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: reminder cleanup failed")]
    private partial void LogReminderCleanupFailed(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: the owner was not told it went idle; its list reads the session through its grain")]
    private partial void LogIdleReportFailed(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: turn {TurnId} cut off by a deactivation ({Reason}); it stays queued and runs again from the start")]
    private partial void LogTurnInterrupted(string sessionId, string turnId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: narrators overloaded, turn {TurnId} runs again in {DelayMs} ms")]
    private partial void LogTurnDeferred(string sessionId, string turnId, double delayMs);
}
