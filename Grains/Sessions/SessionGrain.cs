using System.Diagnostics;
using System.Runtime.CompilerServices;
using System.Text;
using Loom.Errors;
using Loom.Text;
using Loom.Budgets;
using Loom.Events;
using Loom.Interventions;
using Loom.Llm;
using Loom.Memory;
using Loom.Prompt;
using Loom.Quotas;
using Loom.Security;
using Loom.Telemetry;
using Loom.Timeline;
using Loom.Turns;
using Loom.Worlds;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Loom.Storage;
using Orleans.Storage;

namespace Loom.Sessions;

/// <summary>
/// A play session. Requests (submit, reads, watch) are short; the turns themselves run in a background pump
/// on this activation's scheduler, so reads and submits interleave with a running turn while turns of the
/// session still run strictly one at a time, in order. A turn is acknowledged only once the header that
/// queues it is durably written; it is committed in one transaction: journal record, memory delta, audit entries,
/// the owner's pending usage and the header together (<see cref="GrainRows{THeader}"/>).
/// </summary>
public sealed partial class SessionGrain : Grain, ISessionGrain, IRemindable
{
    private const string PumpReminder = "pump";
    /// <summary>The header row's name (the grain storage state name the session has always used).</summary>
    private const string HeaderRow = "session";
    private static readonly TimeSpan HeartbeatEvery = TimeSpan.FromSeconds(15);

    private readonly IGrainRowStore _rows;
    private GrainRows<SessionState> _state = null!;
    private readonly TurnOptions _options;
    private readonly QuotaOptions _quotas;
    private readonly PromptAssembler _prompts;
    private readonly CanonCache _canons;
    private readonly ILlmSettingsResolver _llm;
    private readonly WorldMemoryFactory _memoryFactory;
    private readonly RollingSummarizer _summarizer;
    private readonly ITokenCounter _tokens;
    private readonly int _memoryContextTokens;
    private readonly BudgetOptions _budgets;
    private readonly LlmResilienceOptions _resilience;
    private readonly LoomMetrics _metrics;
    private readonly ILogger<SessionGrain> _logger;
    private readonly SessionEventHub _events = new();
    private readonly Dictionary<string, List<TaskCompletionSource<TurnView>>> _waiters = new();
    private readonly CancellationTokenSource _stopping = new();

    private RecordStore<TurnRecord> _journal = null!;
    private Task? _pump;
    // Trace context of the request that submitted each queued turn (in memory only: a reactivated queue starts new traces).
    private readonly Dictionary<string, ActivityContext> _turnTraces = new(StringComparer.Ordinal);
    private CanonVersion? _canon;
    private List<TurnView>? _recent;
    /// <summary>Narrative streamed so far for the running turn (for watchers that join mid-turn).</summary>
    private StringBuilder? _liveNarrative;

    public SessionGrain(
        IGrainRowStore rows,
        IOptions<TurnOptions> options,
        IOptions<QuotaOptions> quotas,
        PromptAssembler prompts,
        CanonCache canons,
        ILlmSettingsResolver llm,
        WorldMemoryFactory memoryFactory,
        RollingSummarizer summarizer,
        ITokenCounter tokens,
        IOptions<PromptOptions> prompt,
        IOptions<BudgetOptions> budgets,
        IOptions<LlmOptions> llmOptions,
        LoomMetrics metrics,
        ILogger<SessionGrain> logger)
    {
        _rows = rows;
        _options = options.Value;
        _quotas = quotas.Value;
        _prompts = prompts;
        _canons = canons;
        _llm = llm;
        _memoryFactory = memoryFactory;
        _summarizer = summarizer;
        _tokens = tokens;
        _memoryContextTokens = prompt.Value.MemoryTokens;
        _budgets = budgets.Value;
        _resilience = llmOptions.Value.Resilience;
        _metrics = metrics;
        _logger = logger;
    }

    private SessionState S => _state.State;
    private string SessionId => this.GetPrimaryKeyString();

    public override async Task OnActivateAsync(CancellationToken cancellationToken)
    {
        _metrics.SessionActivated();
        _state = new GrainRows<SessionState>(_rows, this.GetGrainId(), HeaderRow);
        await _state.ReadHeaderAsync();
        _journal = new RecordStore<TurnRecord>(_rows, this.GetGrainId(), "session.turn", _options.RecentTurnsCached * 2);
        if (S.Exists && S.Pending.Count > 0)
        {
            await ReconcileHeadAsync();
            EnsurePump();
        }
    }

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        _metrics.SessionDeactivated();
        _stopping.Cancel();
        ReportStoredBytes(force: true);
        if (_pump is { IsCompleted: false } pump)
        {
            // The running turn is not committed; it stays queued and resumes on the next activation.
            await Task.WhenAny(pump, Task.Delay(Timeout.Infinite, cancellationToken)).ContinueWith(_ => { }, TaskScheduler.Current);
        }
        _events.CompleteAll();
        if (S.Exists && S.Pending.Count == 0 && S.ReminderRegistered)
        {
            try
            {
                if (await this.GetReminder(PumpReminder) is { } reminder) await this.UnregisterReminder(reminder);
                S.ReminderRegistered = false;
                await _state.CommitAsync();
            }
            catch (Exception ex)
            {
                LogReminderCleanupFailed(ex, SessionId);
            }
        }
    }

    // ---------------------------------------------------------------- lifecycle of the session

    public async Task<SessionInfo> Create(SessionSpec spec)
    {
        if (S.Exists) throw Problems.Conflict("session_exists", $"Session '{SessionId}' already exists.");

        // The world must be playable by the caller (404 like an unknown world otherwise); the session then pins its version.
        var caller = spec.Caller ?? new Caller { OwnerId = spec.OwnerId };
        var canon = await GrainFactory.GetGrain<IWorldGrain>(spec.WorldId).GetCanon(caller, spec.CanonVersion, includeFiles: false);
        await CheckCreateQuotaAsync(spec.OwnerId);
        var llm = _llm.Resolve(WorldLlmDefaults.Apply(spec.Llm, canon.Metadata));
        var name = spec.Name?.Trim();
        if (name is { Length: > 200 }) throw Problems.Invalid("name", "name must be at most 200 characters.");
        EffectivePolicy.Validate(spec.Policy);

        var now = DateTime.UtcNow;
        _state.State = new SessionState
        {
            Exists = true,
            OwnerId = spec.OwnerId,
            Name = string.IsNullOrEmpty(name) ? $"{canon.Title} — {now:yyyy-MM-dd HH:mm}" : name,
            WorldId = spec.WorldId,
            CanonVersion = canon.Version,
            CanonHash = canon.Hash,
            Status = SessionStatus.Active,
            CreatedAt = now,
            UpdatedAt = now,
            Llm = llm,
            Segments = [new TimelineSegment { StartSeq = 1, StartOrdinal = 0 }],
            Policy = spec.Policy,
        };
        await WriteHeaderOrRevertAsync();
        // A new session's memory is empty: its first turn need not read ~100 memory rows that cannot exist yet.
        _memoryLoad = Task.FromResult(MemoryFactory.Create());
        await GrainFactory.GetGrain<IOwnerGrain>(spec.OwnerId).Add(new OwnedSession { SessionId = SessionId, CreatedAt = now });
        _metrics.SessionCreated();
        return Info();
    }

    public Task<SessionInfo> GetInfo(string ownerId)
    {
        Require(ownerId);
        return Task.FromResult(Info());
    }

    public async Task<SessionInfo> Update(string ownerId, SessionPatch patch)
    {
        Require(ownerId);
        if (patch.Name is not null)
        {
            var name = patch.Name.Trim();
            if (name.Length is 0 or > 200) throw Problems.Invalid("name", "name must be 1 to 200 characters.");
            S.Name = name;
        }
        if (patch.Status is { } status)
        {
            if (status == SessionStatus.Archived) throw Problems.Invalid("status", "status must be active, paused or completed (DELETE archives).");
            S.Status = status;
        }
        if (patch.Policy is not null)
        {
            EffectivePolicy.Validate(patch.Policy);
            S.Policy = patch.Policy;
        }
        S.UpdatedAt = DateTime.UtcNow;
        await WriteHeaderOrRevertAsync();
        if (S.Status == SessionStatus.Active) EnsurePump();
        return Info();
    }

    public async Task Delete(string ownerId, bool permanent)
    {
        Require(ownerId);
        if (!permanent)
        {
            S.Status = SessionStatus.Archived;
            S.UpdatedAt = DateTime.UtcNow;
            await WriteHeaderOrRevertAsync();
            return;
        }

        // Erase: stop the pump, then remove every journal, memory and audit row with the header in one transaction,
        // then the owner's index entry.
        _stopping.Cancel();
        if (_pump is { IsCompleted: false } pump) await pump.ContinueWith(_ => { }, TaskScheduler.Current);
        var erase = _state.Begin();
        await StageJournalEraseAsync(erase);
        await StageMemoryEraseAsync(erase);
        StageAuditErase(erase);
        if (S.ReminderRegistered && await this.GetReminder(PumpReminder) is { } reminder) await this.UnregisterReminder(reminder);
        await _state.ClearAsync(erase);
        _state.State = new SessionState();
        await GrainFactory.GetGrain<IOwnerGrain>(ownerId).Remove(SessionId);
        FailWaiters();
        _events.CompleteAll();
        DeactivateOnIdle();
    }

    public Task Wake()
    {
        if (S.Exists) EnsurePump();
        return Task.CompletedTask;
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
        var key = submission.IdempotencyKey;
        if (key is not null && await FindByKeyAsync(key) is { } seen)
        {
            // A retry after an ambiguous write that did commit: make sure the queued turn runs.
            EnsurePump();
            return seen;
        }
        if (S.Status != SessionStatus.Active)
        {
            throw Problems.Conflict("session_not_active", $"The session is {S.Status.ToString().ToLowerInvariant()}; set it active to play.");
        }
        var input = submission.Input;
        if (string.IsNullOrWhiteSpace(input)) throw Problems.Invalid("input", "input must not be empty.");
        if (input.Length > _options.MaxInputChars)
        {
            throw Problems.Invalid("input", $"input must be at most {_options.MaxInputChars} characters (got {input.Length}).");
        }
        if (S.Pending.Count >= _options.MaxPending)
        {
            throw Problems.TooMany("queue_full", $"The session already has {S.Pending.Count} pending turns.", retryAfterSeconds: 5);
        }
        await CheckBudgetAsync();
        await CheckStorageQuotaAsync();

        var parsed = InterventionParser.Parse(input);
        var ordinal = S.NextOrdinal;
        var now = DateTime.UtcNow;
        var record = new TurnRecord
        {
            Ordinal = ordinal,
            IdempotencyKey = key,
            Players = submission.Players, // multiplayer hook
            Turn = new TurnView
            {
                TurnId = TurnIds.New(ordinal),
                Seq = S.LastSeq + 1,
                Input = input,
                StoryInput = parsed.StoryText,
                Interventions = parsed.Interventions,
                Status = TurnStatus.Queued,
                Provider = S.Llm.Provider,
                Model = S.Llm.Model,
                CreatedAt = now,
                Speaker = submission.Speaker, // multiplayer hook
            },
        };

        if (!S.ReminderRegistered)
        {
            // Guards the queue against silo loss: the reminder reactivates the session elsewhere.
            await this.RegisterOrUpdateReminder(PumpReminder, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(1));
            S.ReminderRegistered = true;
        }
        S.NextOrdinal = ordinal + 1;
        S.LastSeq = record.Turn.Seq;
        S.Pending.Add(record);
        if (key is not null)
        {
            S.RecentKeys.Add(new IdempotencyEntry { KeyHash = IdempotencyEntry.Hash(key), Ordinal = ordinal });
            if (S.RecentKeys.Count > _options.IdempotencyWindow) S.RecentKeys.RemoveRange(0, S.RecentKeys.Count - _options.IdempotencyWindow);
        }
        S.UpdatedAt = now;
        await WriteHeaderOrRevertAsync();

        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnQueued, TurnId = record.Turn.TurnId, Turn = record.Turn });
        if (Activity.Current is { } submitting) _turnTraces[record.Turn.TurnId] = submitting.Context;
        EnsurePump();
        return record.Turn;
    }

    public async Task<TurnView> GetTurn(string ownerId, string turnId)
    {
        Require(ownerId);
        return await FindTurnAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
    }

    public async Task<TurnList> ListTurns(string ownerId, TurnQuery query)
    {
        Require(ownerId);
        var limit = Math.Clamp(query.Limit, 1, 200);
        var items = new List<TurnView>(limit);
        string? next = null;

        if (!query.IncludeRetconned)
        {
            var from = Math.Max(1, (query.AfterSeq ?? 0) + 1);
            var to = Math.Min(S.LastSeq, from + limit - 1);
            var committedUpTo = S.LastSeq - S.Pending.Count;
            var stored = await _journal.ReadManyAsync(Enumerable.Range(from, Math.Max(0, Math.Min(to, committedUpTo) - from + 1)).Select(OrdinalOfSeq));
            items.AddRange(stored.Select(r => r.Turn));
            items.AddRange(S.Pending.Where(p => p.Turn.Seq >= from && p.Turn.Seq <= to).Select(CurrentView));
            if (to < S.LastSeq) next = to.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        else
        {
            // Every turn ever made, in journal order; the cursor is a journal position ("o{ordinal}").
            // A page reads at most `limit` journal positions, so its cost is its size whatever the header's counters
            // say; a missing committed record is the journal's end (journals have no gaps).
            var firstPending = S.Pending.Count > 0 ? S.Pending[0].Ordinal : S.NextOrdinal;
            var start = Math.Max(0, query.AfterOrdinal is { } after ? after + 1 : 0);
            var end = Math.Min(S.NextOrdinal, start + limit);
            var ordinal = start;
            for (; ordinal < end; ordinal++)
            {
                TurnView? turn;
                if (ordinal >= firstPending)
                {
                    turn = S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) is { } p ? CurrentView(p) : null;
                }
                else if (await _journal.ReadAsync(ordinal) is { } stored)
                {
                    turn = Present(stored);
                }
                else
                {
                    ordinal = firstPending - 1;
                    continue;
                }
                if (turn is not null && (query.AfterSeq is null || turn.Seq > query.AfterSeq)) items.Add(turn);
            }
            if (ordinal < S.NextOrdinal) next = TurnQuery.OrdinalCursor(ordinal - 1);
        }
        return new TurnList { Items = items, Next = next };
    }

    public async Task<TurnView> WaitForTurn(string ownerId, string turnId, TimeSpan timeout)
    {
        Require(ownerId);
        var turn = await FindTurnAsync(turnId) ?? throw Problems.NotFound("Turn", turnId);
        if (turn.Status.IsFinished() || timeout <= TimeSpan.Zero) return turn;

        var waiter = new TaskCompletionSource<TurnView>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiters.TryGetValue(turnId, out var list)) _waiters[turnId] = list = [];
        list.Add(waiter);
        try
        {
            // WaitAsync drops its timer as soon as the turn finishes (a bare Task.Delay would linger for the whole timeout).
            return await waiter.Task.WaitAsync(timeout);
        }
        catch (TimeoutException)
        {
        }
        list.Remove(waiter);
        if (list.Count == 0) _waiters.Remove(turnId);
        return await FindTurnAsync(turnId) ?? turn;
    }

    public async IAsyncEnumerable<SessionEvent> Watch(string ownerId, string? lastEventId, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        Require(ownerId);
        var (channel, replay) = _events.Subscribe(lastEventId);
        try
        {
            // First item at once: the caller learns the owner check passed before it commits to a stream.
            yield return new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat };
            foreach (var ev in replay ?? Snapshot()) yield return ev;

            while (!cancellationToken.IsCancellationRequested)
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                wait.CancelAfter(HeartbeatEvery);
                bool more;
                try
                {
                    more = await channel.Reader.WaitToReadAsync(wait.Token);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    more = true;
                }
                if (!more) yield break;
                if (!channel.Reader.TryPeek(out _))
                {
                    yield return new SessionEvent { Id = "", Type = SessionEventTypes.Heartbeat };
                    continue;
                }
                while (channel.Reader.TryRead(out var ev)) yield return ev;
            }
        }
        finally
        {
            _events.Unsubscribe(channel);
        }
    }

    // ---------------------------------------------------------------- the pump

    private void EnsurePump()
    {
        if (_pump is { IsCompleted: false } || _stopping.IsCancellationRequested) return;
        if (S.Pending.Count == 0 || S.Status != SessionStatus.Active) return;
        _pump = PumpAsync();
    }

    private async Task PumpAsync()
    {
        // Yield first so the request that started the pump answers before the first turn runs.
        await Task.Yield();
        // Each turn's span hangs off the request that submitted it, not off whichever request started the pump.
        Activity.Current = null;
        while (!_stopping.IsCancellationRequested && S.Pending.Count > 0 && S.Status == SessionStatus.Active)
        {
            var queued = S.Pending[0];
            _turnTraces.Remove(queued.Turn.TurnId, out var submittedBy);
            using var span = LoomTelemetry.StartTurn(submittedBy, SessionId, queued.Turn.TurnId);
            try
            {
                TurnRecord finished;
                try
                {
                    finished = await RunTurnAsync(queued);
                    if (finished.Turn.Status == TurnStatus.Failed) LoomTelemetry.TurnFailed(span, finished.Turn.Error?.Code);
                }
                catch (OperationCanceledException)
                {
                    // Deactivating: the turn stays queued and runs again on the next activation.
                    S.Pending[0] = queued;
                    return;
                }
                catch (Exception ex) when (IsDeferrable(ex) || IsInterrupted(ex))
                {
                    try { await DeferTurnAsync(queued, ex); } catch (OperationCanceledException) { return; }
                    continue;
                }
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
                MemorySettled();
            }
        }
    }

    private async Task<TurnRecord> RunTurnAsync(TurnRecord record)
    {
        var started = DateTime.UtcNow;
        var running = record with { Turn = record.Turn with { Status = TurnStatus.Running, StartedAt = started } };
        S.Pending[0] = running;
        _liveNarrative = new StringBuilder();
        Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnStarted, TurnId = running.Turn.TurnId, Turn = running.Turn });
        var clock = Stopwatch.StartNew();
        _metrics.Stage("queue_wait", (started - record.Turn.CreatedAt).TotalSeconds);
        WorldMemory? memory = null;

        try
        {
            var canon = await CanonAsync();
            memory = await MemoryAsync();
            // Markers act first: an edit is in memory before the narrator is asked.
            var plan = PlanInterventions(memory, canon, running.Turn);
            // Turns that left the recent window and are summarized reach the prompt through summaries and memory.
            var history = Unsummarized(await RecentTurnsAsync(), memory, MemoryOptions.RecentWindowTurns);
            var recall = await RecallAsync(memory, running.Turn.StoryInput, history.TakeLast(MemoryOptions.RecentWindowTurns).ToList());
            var prompt = _prompts.Assemble(new PromptRequest
            {
                CanonFiles = canon.Files ?? [],
                History = history.Select(t => new PromptTurn(t.StoryInput, t.Narrative)).ToList(),
                Input = running.Turn.StoryInput,
                Memory = recall.Memory,
                Summaries = recall.Summaries,
                Tone = plan.Tone ?? CurrentTone ?? "",
                Intent = plan.Intent,
                OutOfCharacter = plan.OutOfCharacter,
                Retcons = plan.Retcons,
                Players = running.Players ?? "", // multiplayer hook
            });
            _metrics.Stage("prompt_assembly", clock.Elapsed.TotalSeconds);
            var llmStarted = clock.Elapsed;
            var firstToken = true;
            var request = new LlmRequest
            {
                Provider = S.Llm.Provider!,
                Model = S.Llm.Model!,
                Temperature = S.Llm.Temperature,
                MaxTokens = S.Llm.MaxTokens,
                Messages = prompt.Messages,
                SessionId = SessionId,
            };

            using var llmSpan = LoomTelemetry.ActivitySource.StartActivity(TurnSpans.Llm);
            var answer = new StringBuilder();
            // Watchers see the narrative only: the memory block at the end of the answer is held back.
            var filter = new StreamingNarrativeFilter();
            LlmChunk? final = null;
            await foreach (var chunk in GrainFactory.GetGrain<ILlmGrain>(0).Stream(request, _stopping.Token))
            {
                if (chunk.Text.Length > 0)
                {
                    if (firstToken)
                    {
                        firstToken = false;
                        _metrics.Stage("llm_first_token", (clock.Elapsed - llmStarted).TotalSeconds);
                    }
                    answer.Append(chunk.Text);
                    Show(filter.Push(chunk.Text));
                }
                if (chunk.Final) final = chunk;
            }
            Show(filter.Complete());

            _metrics.Stage("llm_total", (clock.Elapsed - llmStarted).TotalSeconds);
            var usage = UsageOf(final, prompt.PromptTokens, estimatedCompletionTokens: 0);
            var (narrative, applied, warnings, ooc, summaryUsage) = await RememberAsync(memory, answer.ToString(), running.Turn.Seq);
            // A summary the narrator wrote during this turn is paid for by this turn.
            usage = usage.Add(summaryUsage);
            var done = DateTime.UtcNow;
            return running with
            {
                Turn = running.Turn with
                {
                    Status = TurnStatus.Completed,
                    Narrative = narrative,
                    Interventions = plan.Interventions,
                    OocReply = ooc,
                    MemoryUpdates = [.. plan.Applied, .. applied],
                    MemoryUsed = recall.Used,
                    Warnings = [.. running.Turn.Warnings, .. warnings],
                    Usage = usage,
                    Provider = final?.Provider ?? S.Llm.Provider,
                    Model = final?.Model ?? S.Llm.Model,
                    CompletedAt = done,
                    LatencyMs = clock.ElapsedMilliseconds,
                    Retries = final?.Retries ?? 0,
                    Fallbacks = final?.Fallbacks ?? 0,
                },
            };
        }
        catch (Exception ex) when (IsInterrupted(ex))
        {
            // Not the narrator's fault: the turn runs again (here after a pause, or on the next activation).
            ForgetTurnMemory(memory, running.Turn.Seq);
            throw;
        }
        catch (Exception ex) when (!IsDeferrable(ex))
        {
            // A failed call fails the turn visibly; we never make up a narrative. The session goes on.
            var error = ex switch
            {
                LlmCallException llm => new TurnError { Code = llm.Code, Message = llm.Message },
                LoomProblemException problem => new TurnError { Code = problem.Code, Message = problem.Detail },
                _ => new TurnError { Code = "turn_failed", Message = "The narrator could not produce this turn." },
            };
            if (ex is not LlmCallException) LogTurnFault(ex, SessionId, running.Turn.TurnId);
            ForgetTurnMemory(memory, running.Turn.Seq);
            return running with
            {
                Turn = running.Turn with
                {
                    Status = TurnStatus.Failed,
                    Narrative = "",
                    Error = error,
                    CompletedAt = DateTime.UtcNow,
                    LatencyMs = clock.ElapsedMilliseconds,
                    Retries = (ex as LlmCallException)?.Retries ?? 0,
                    Fallbacks = (ex as LlmCallException)?.Fallbacks ?? 0,
                },
            };
        }
        finally
        {
            _liveNarrative = null;
        }

        void Show(string text)
        {
            if (text.Length == 0) return;
            _liveNarrative!.Append(text);
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnDelta, TurnId = running.Turn.TurnId, Text = text });
        }
    }

    /// <summary>
    /// One transaction: memory delta, journal record, audit entries, the owner's pending usage and the header. It is
    /// retried until it lands; a retry after an ambiguous failure that did land meets a stale version and steps aside.
    /// </summary>
    private async Task CommitAsync(TurnRecord finished)
    {
        using var commitSpan = LoomTelemetry.ActivitySource.StartActivity(TurnSpans.Commit);
        var commitStarted = Stopwatch.GetTimestamp();
        var unit = _state.Begin();
        if (_memoryLoad is { IsCompletedSuccessfully: true } load) StageMemory(unit, await load);
        _journal.Put(unit, finished.Ordinal, finished);
        StageAudit(unit, AuditOf(finished.Turn));
        StageOwnerUsage(unit, finished.Turn);
        ApplyCommitted(finished);
        await RetryStorageAsync(() => _state.CommitAsync(unit));
        _metrics.StageSince("commit", commitStarted);

        var turn = finished.Turn;
        RecordTurnMetrics(turn);
        if (turn.MemoryUpdates.Count > 0)
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.MemoryUpdated, TurnId = turn.TurnId, Memory = turn.MemoryUpdates });
        Publish(new SessionEvent
        {
            Id = "",
            Type = turn.Status == TurnStatus.Completed ? SessionEventTypes.TurnCompleted : SessionEventTypes.TurnFailed,
            TurnId = turn.TurnId,
            Turn = turn,
        });
        if (_waiters.Remove(turn.TurnId, out var waiters)) foreach (var w in waiters) w.TrySetResult(turn);
        await RecordOwnerUsageAsync(turn);
    }

    private void RecordTurnMetrics(TurnView turn)
    {
        var provider = turn.Provider ?? "unknown";
        var status = turn.Status == TurnStatus.Completed ? "completed" : "failed";
        _metrics.TurnProcessed(status, provider, SessionType, (turn.LatencyMs ?? 0) / 1000.0);
        if (turn.Status == TurnStatus.Completed)
        {
            _metrics.Tokens(provider, turn.Model ?? "unknown", turn.Usage.PromptTokens + turn.Usage.CompletionTokens);
            if (turn.Usage.CostUsd > 0) _metrics.Cost(turn.Usage.CostUsd);
        }
        else
        {
            _metrics.Error(turn.Error?.Code ?? "turn_failed", "llm");
        }
    }

    /// <summary>Bounded label for metrics: how the session came to be.</summary>
    private const string SessionType = "story";

    private void ApplyCommitted(TurnRecord finished)
    {
        var turn = finished.Turn;
        S.Pending.RemoveAll(p => p.Ordinal == finished.Ordinal);
        if (turn.Status == TurnStatus.Completed)
        {
            S.TurnCount++;
            S.Usage = S.Usage.Add(turn.Usage);
            if (turn.Interventions.LastOrDefault(i => i.Type == InterventionParser.Tone && i.Status == Applied) is { } tone)
                S.Tones.Add(new ToneChange { Seq = turn.Seq, Tone = tone.Content });
            _recent?.Add(turn);
            if (_recent is { Count: > 0 } recent && recent.Count > _options.RecentTurnsCached) recent.RemoveAt(0);
        }
        S.LastTurnAt = turn.CompletedAt;
        S.UpdatedAt = DateTime.UtcNow;
        S.StoredBytes += StoredBytesOf(turn);
        ReportStoredBytes(force: false);
    }

    /// <summary>Rows written by older builds, which wrote the journal record before the header: after a crash in
    /// between, the head of the queue may already be committed; finish the commit instead of running the turn twice.</summary>
    private async Task ReconcileHeadAsync()
    {
        var head = S.Pending[0];
        if (await _journal.ReadAsync(head.Ordinal) is { } stored && stored.Turn.Status.IsFinished())
        {
            var unit = _state.Begin();
            StageAudit(unit, AuditOf(stored.Turn));
            ApplyCommitted(stored);
            await _state.CommitAsync(unit);
        }
        else if (head.Turn.Status == TurnStatus.Running)
        {
            S.Pending[0] = head with { Turn = head.Turn with { Status = TurnStatus.Queued, StartedAt = null } };
        }
    }

    /// <summary>Retries a storage write (e.g. while PostgreSQL restarts) until it lands or the activation stops.</summary>
    private async Task RetryStorageAsync(Func<Task> write)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await write();
                return;
            }
            catch (Exception ex) when (ex is not InconsistentStateException)
            {
                if (_stopping.IsCancellationRequested) throw new OperationCanceledException("Deactivating", ex);
                LogStorageRetry(ex, SessionId, delay.TotalMilliseconds);
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    // ---------------------------------------------------------------- helpers

    private void Require(string ownerId)
    {
        if (!S.Exists || !string.Equals(S.OwnerId, ownerId, StringComparison.Ordinal))
        {
            throw Problems.NotFound("Session", SessionId);
        }
    }

    private SessionInfo Info() => new()
    {
        SessionId = SessionId,
        Name = S.Name,
        WorldId = S.WorldId,
        CanonVersion = S.CanonVersion,
        Status = S.Status,
        CreatedAt = S.CreatedAt,
        UpdatedAt = S.UpdatedAt,
        TurnCount = S.TurnCount,
        PendingTurns = S.Pending.Count,
        LastTurnAt = S.LastTurnAt,
        Llm = new LlmRef { Provider = S.Llm.Provider ?? "", Model = S.Llm.Model ?? "" },
        Usage = S.Usage,
        Policy = S.Policy,
        Tone = CurrentTone,
        ForkedFrom = S.ForkedFrom,
    };

    /// <summary>A stored turn as readers see it: one that a rollback took off the live timeline is retconned.</summary>
    private TurnView Present(TurnRecord stored)
    {
        var seq = stored.Turn.Seq;
        var live = seq >= 1 && seq <= S.LastSeq && OrdinalOfSeq(seq) == stored.Ordinal;
        return live || stored.Turn.Status == TurnStatus.Retconned ? stored.Turn : stored.Turn with { Status = TurnStatus.Retconned };
    }

    private async Task WriteHeaderOrRevertAsync(RowUnit? unit = null)
    {
        try
        {
            await _state.CommitAsync(unit);
        }
        catch
        {
            // Never keep in memory what storage did not accept: reload the durable truth, then report.
            if (unit is not null) _state.Abandon(unit);
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

    private long OrdinalOfSeq(int seq)
    {
        var segment = S.Segments.Last(s => s.StartSeq <= seq);
        return segment.StartOrdinal + (seq - segment.StartSeq);
    }

    private async Task<TurnView?> FindTurnAsync(string turnId)
    {
        if (!TurnIds.TryGetOrdinal(turnId, out var ordinal) || ordinal >= S.NextOrdinal) return null;
        if (S.Pending.FirstOrDefault(p => p.Ordinal == ordinal) is { } pending)
        {
            return pending.Turn.TurnId == turnId ? CurrentView(pending) : null;
        }
        var stored = await _journal.ReadAsync(ordinal);
        return stored?.Turn.TurnId == turnId ? Present(stored) : null;
    }

    /// <summary>The turn an idempotency key in the window already made, or null when the key is new.</summary>
    private async Task<TurnView?> FindByKeyAsync(string key)
    {
        var hash = IdempotencyEntry.Hash(key);
        foreach (var entry in S.RecentKeys)
        {
            if (entry.Key is not null)
            {
                if (entry.Key != key) continue;
                return await FindTurnAsync(entry.TurnId!) ?? throw Problems.NotFound("Turn", entry.TurnId!);
            }
            if (entry.KeyHash != hash) continue;
            if (S.Pending.FirstOrDefault(p => p.Ordinal == entry.Ordinal) is { } pending)
            {
                if (pending.IdempotencyKey == key) return CurrentView(pending);
            }
            else if (await _journal.ReadAsync(entry.Ordinal) is { } stored && stored.IdempotencyKey == key)
            {
                return Present(stored);
            }
            // Otherwise two keys share 64 bits of their hash: not this one.
        }
        return null;
    }

    /// <summary>The pending turn as a reader sees it now (the running one with the narrative streamed so far).</summary>
    private TurnView CurrentView(TurnRecord pending) =>
        pending.Turn.Status == TurnStatus.Running && _liveNarrative is { } live
            ? pending.Turn with { Narrative = live.ToString() }
            : pending.Turn;

    private async Task<List<TurnView>> RecentTurnsAsync()
    {
        if (_recent is not null) return _recent;
        var committedUpTo = S.LastSeq - S.Pending.Count;
        var from = Math.Max(1, committedUpTo - _options.RecentTurnsCached + 1);
        var records = await _journal.ReadManyAsync(Enumerable.Range(from, Math.Max(0, committedUpTo - from + 1)).Select(OrdinalOfSeq));
        _recent = records.Select(r => r.Turn).Where(t => t.Status == TurnStatus.Completed).ToList();
        return _recent;
    }

    private IEnumerable<SessionEvent> Snapshot()
    {
        foreach (var pending in S.Pending)
        {
            var type = pending.Turn.Status == TurnStatus.Running ? SessionEventTypes.TurnStarted : SessionEventTypes.TurnQueued;
            yield return new SessionEvent { Id = "", Type = type, TurnId = pending.Turn.TurnId, Turn = CurrentView(pending) };
        }
    }

    private void Publish(SessionEvent draft) => _events.Publish(draft);

    private void FailWaiters()
    {
        foreach (var list in _waiters.Values)
            foreach (var w in list)
                w.TrySetException(Problems.NotFound("Session", SessionId));
        _waiters.Clear();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: stale activation, deactivating")]
    private partial void LogStaleActivation(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: turn {TurnId} failed")]
    private partial void LogTurnFault(Exception ex, string sessionId, string turnId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: storage write failed, retrying in {DelayMs} ms")]
    private partial void LogStorageRetry(Exception ex, string sessionId, double delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: could not reload state after a failed write")]
    private partial void LogReloadFailed(Exception ex, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: reminder cleanup failed")]
    private partial void LogReminderCleanupFailed(Exception ex, string sessionId);
}
