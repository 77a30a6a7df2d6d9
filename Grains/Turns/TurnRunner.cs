using System.Diagnostics;
using System.Globalization;
using System.Text;
using Loom.Errors;
using Loom.Events;
using Loom.Interventions;
using Loom.Llm;
using Loom.Lore;
using Loom.Memory;
using Loom.Prompt;
using Loom.Sessions;
using Loom.Telemetry;
using Loom.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Loom.Turns;

/// <summary>
/// Runs one turn: interventions → recall → prompt → narrate → remember, and returns it finished (completed or
/// failed) for the session to commit. Narration has one method for turns and rolling summaries: streamed when a
/// watcher or a due summary waits on its text, asked for whole otherwise. Stateless: everything per session comes in the <see cref="TurnContext"/>.
/// </summary>
public sealed partial class TurnRunner
{
    /// <summary>Newest summaries the prompt carries verbatim; older ones compete in retrieval like any entity.</summary>
    private const int PromptSummaries = 2;

    /// <summary>Headings and joins the prompt assembler adds around summaries and memory.</summary>
    private const int ContextOverheadTokens = 40;

    private readonly IGrainFactory _grains;
    private readonly PromptAssembler _prompts;
    private readonly LorePlanner _lore; // lore (issue 13)
    private readonly InterventionPlanner _interventions;
    private readonly RollingSummarizer _summarizer;
    private readonly ITokenCounter _tokens;
    private readonly MemoryOptions _memoryOptions;
    private readonly LoomMetrics _metrics;
    private readonly ILogger<TurnRunner> _logger;
    /// <summary>Memory tokens a prompt may carry before summaries: the retrieval budget, capped by the prompt's context budget.</summary>
    private readonly int _memoryTokens;
    private readonly int _contextTokens;
    // Grain references are immutable; building one resolves its interface and codecs by reflection (a profile of
    // session creates put 3-5 % of the gateway's CPU there), so the worker's is built once per silo.
    private ILlmGrain? _llm;

    public TurnRunner(IGrainFactory grains, PromptAssembler prompts, InterventionPlanner interventions, RollingSummarizer summarizer,
        ITokenCounter tokens, IOptions<MemoryOptions> memory, IOptions<PromptOptions> prompt, LoomMetrics metrics, ILogger<TurnRunner> logger,
        LorePlanner lore)
    {
        _lore = lore; // lore (issue 13)
        _grains = grains;
        _prompts = prompts;
        _interventions = interventions;
        _summarizer = summarizer;
        _tokens = tokens;
        _memoryOptions = memory.Value;
        _metrics = metrics;
        _logger = logger;
        _memoryTokens = _memoryOptions.TokenBudget;
        _contextTokens = prompt.Value.MemoryTokens - ContextOverheadTokens;
    }

    /// <summary>Every provider was at its concurrency limit with a full queue: the turn stays queued and runs later.</summary>
    public static bool IsDeferrable(Exception ex) => ex is LlmCallException { Code: LlmErrorCodes.Overloaded };

    /// <summary>
    /// The turn was cut off by the cluster, not failed by the narrator: the activation is stopping, or the LLM
    /// worker's stream was dropped (its silo shutting down or the enumerator expiring). Such a turn is run again,
    /// never marked failed, so a graceful drain or a silo loss costs a player nothing.
    /// </summary>
    public static bool IsInterrupted(Exception ex, CancellationToken stopping) =>
        stopping.IsCancellationRequested || ex is EnumerationAbortedException;

    /// <summary>
    /// Runs <paramref name="running"/> (already marked running and announced). Returns it completed or failed; throws
    /// when it was interrupted or deferred (it then runs again, and its memory changes are undone).
    /// </summary>
    public async Task<TurnRecord> RunAsync(TurnContext session, TurnRecord running)
    {
        var clock = Stopwatch.StartNew();
        var s = session.State;
        var turn = running.Turn;
        WorldMemory? memory = null;
        Task<SummaryOutcome>? summarizing = null;
        CancellationTokenSource? summaryCancel = null;
        try
        {
            session.Step = "canon";
            var canon = await session.CanonAsync();
            session.Step = "memory";
            memory = await session.Memory.GetAsync();
            // Markers act first: an edit is in memory before the narrator is asked.
            if (InterventionPlanner.MayChangeMemory(turn)) session.Memory.TurnChanging(readSeq: turn.Seq - 1);
            var plan = _interventions.Plan(memory, session.PolicyOf(canon), turn);
            // A summary due after this turn folds turns that left the window before it, which this turn's answer does not
            // change: the narrator writes it while this turn's answer streams, so the player waits about one model call,
            // not two. It is asked once the narration has its first text (and so its provider slot): under a tight
            // concurrency limit the summary queues behind the narration, never the other way round.
            var due = _summarizer.Due(turn.Seq, memory.LastSummarizedSeq);
            void StartSummary()
            {
                if (due is not { } range || summarizing is not null) return;
                summaryCancel = CancellationTokenSource.CreateLinkedTokenSource(session.Stopping);
                summarizing = SummarizeAsync(session, range, summaryCancel);
            }
            // Turns that left the recent window and are summarized reach the prompt through summaries and memory.
            var window = _memoryOptions.RecentWindowTurns;
            session.Step = "recall";
            var history = Unsummarized(await session.Journal.RecentAsync(), memory, window);
            var recall = await RecallAsync(session, memory, turn.StoryInput, history.TakeLast(window).ToList());
            _metrics.Stage(TurnStages.MemoryRecall, clock.Elapsed.TotalSeconds);
            var assembling = Stopwatch.GetTimestamp();
            // lore (issue 13): timed effects read the recent live turns, not only the unsummarized ones.
            var lore = _lore.Plan(LoreBook.Of(canon), LoreScan.ForTurn(session.SessionId, turn, await session.Journal.RecentAsync()));
            var prompt = _prompts.Assemble(new PromptRequest
            {
                Lore = lore, // lore (issue 13)
                Opening = history.Count == 0 || history[0].Seq == 1 ? s.Opening : null, // greetings (issue 13): while turn 1 is in view
                CanonFiles = canon.Files ?? [],
                History = history.Select(t => new PromptTurn(t.StoryInput, t.Narrative)).ToList(),
                Input = turn.StoryInput,
                Memory = recall.Memory,
                Summaries = recall.Summaries,
                Tone = plan.Tone ?? s.CurrentTone() ?? "",
                Intent = plan.Intent,
                OutOfCharacter = plan.OutOfCharacter,
                Retcons = plan.Retcons,
                Players = running.Players ?? "", // multiplayer hook: who plays, in shared sessions
            });
            _metrics.StageSince(TurnStages.PromptAssembly, assembling);

            session.Step = "narrate";
            var llmStarted = Stopwatch.GetTimestamp();
            string answer;
            LlmChunk? final;
            using (LoomTelemetry.ActivitySource.StartActivity(TurnSpans.Llm))
            {
                (answer, final) = await NarrateAsync(session, Request(session, prompt.Messages, s.Llm.MaxTokens), turn.TurnId, session.Stopping,
                    due is null ? null : StartSummary);
            }
            _metrics.StageSince(TurnStages.LlmTotal, llmStarted);

            var usage = UsageOf(final, prompt.PromptTokens, estimatedCompletionTokens: 0);
            session.Step = "remember";
            var remembering = Stopwatch.GetTimestamp();
            StartSummary(); // an answer without text
            var remembered = await RememberAsync(session, memory, answer, turn.Seq, summarizing);
            _metrics.StageSince(TurnStages.MemoryApply, remembering);
            // A summary the narrator wrote during this turn is paid for by this turn.
            usage = usage.Add(remembered.SummaryUsage);
            var provider = final?.Provider ?? s.Llm.Provider;
            var model = final?.Model ?? s.Llm.Model;
            // The seed's per-turn KPIs: cost, and the share of billed completion tokens the player gets as narrative.
            _metrics.TurnCompleted(provider ?? "unknown", model ?? "unknown", usage.CostUsd, usage.CompletionTokens, _tokens.Count(remembered.Narrative));
            return running with
            {
                Turn = turn with
                {
                    Status = TurnStatus.Completed,
                    Narrative = remembered.Narrative,
                    Interventions = plan.Interventions,
                    OocReply = remembered.Ooc,
                    MemoryUpdates = [.. plan.Applied, .. remembered.Applied],
                    MemoryUsed = recall.Used,
                    Lore = lore.Fired, // lore (issue 13)
                    Warnings = [.. turn.Warnings, .. remembered.Warnings],
                    Usage = usage,
                    Provider = provider,
                    Model = model,
                    CompletedAt = DateTime.UtcNow,
                    LatencyMs = clock.ElapsedMilliseconds,
                    Retries = final?.Retries ?? 0,
                    Fallbacks = final?.Fallbacks ?? 0,
                },
                Context = TurnContexts.Of(canon, prompt, _prompts.Options, lore, recall.Used, history, turn.StoryInput, recall.Scores), // context viewer (issue 13)
            };
        }
        catch (Exception ex) when (IsInterrupted(ex, session.Stopping) || IsDeferrable(ex))
        {
            // Not the narrator's fault: the turn runs again (here after a pause, or on the next activation). Its markers'
            // changes leave memory meanwhile: a cancel while it waits, or a read, must not see them as if it had run. With
            // them gone, edits need not wait for the retry (a rework keeps its hold: it took the committed turn's memory out).
            session.Memory.ForgetTurn(memory, turn.Seq);
            if (running.Rework is null) session.Memory.Settled();
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
            if (ex is not LlmCallException) LogTurnFault(ex, session.SessionId, turn.TurnId);
            session.Memory.ForgetTurn(memory, turn.Seq);
            return running with
            {
                Turn = turn with
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
            // A turn that ended without taking its summary (failed, interrupted) stops the summary's model call; the block
            // is due again after the next turn. (The summary's own task disposes the source once it has ended.)
            if (summarizing is { IsCompleted: false }) summaryCancel!.Cancel();
        }
    }

    // ---------------------------------------------------------------- narrate

    private static LlmRequest Request(TurnContext session, List<LlmMessage> messages, int? maxTokens) => new()
    {
        Provider = session.State.Llm.Provider!,
        Model = session.State.Llm.Model!,
        Temperature = session.State.Llm.Temperature,
        MaxTokens = maxTokens,
        Messages = messages,
        SessionId = session.SessionId,
    };

    /// <summary>
    /// One narrator answer. A turn (<paramref name="liveTurnId"/>) streams when its session is listened to — watchers see
    /// it as it comes (the narrative only: the memory block at the end of the answer is held back) — or when something
    /// waits for its first text (<paramref name="onFirstText"/>: a due summary, which must queue behind the narration's
    /// provider slot). Otherwise it is asked for whole: one grain call instead of one per chunk the provider sends
    /// (docs/performance.md). A turn's first token is timed either way.
    /// </summary>
    private async Task<(string Answer, LlmChunk? Final)> NarrateAsync(TurnContext session, LlmRequest request, string? liveTurnId, CancellationToken cancellation,
        Action? onFirstText = null)
    {
        var llm = _llm ??= _grains.GetGrain<ILlmGrain>(0);
        if (liveTurnId is null || (onFirstText is null && !session.Events.Listened))
        {
            var whole = await llm.Complete(request, cancellation);
            if (liveTurnId is not null && whole.FirstText is { } first) _metrics.Stage(TurnStages.LlmFirstToken, first.TotalSeconds);
            return (whole.Text, whole.Final);
        }

        var answer = new StringBuilder();
        var filter = new StreamingNarrativeFilter();
        var started = Stopwatch.GetTimestamp();
        var firstToken = true;
        LlmChunk? final = null;
        await foreach (var chunk in llm.Stream(request, cancellation))
        {
            if (chunk.Text.Length > 0)
            {
                answer.Append(chunk.Text);
                if (firstToken)
                {
                    firstToken = false;
                    _metrics.StageSince(TurnStages.LlmFirstToken, started);
                    onFirstText?.Invoke();
                }
                Show(session, liveTurnId, filter.Push(chunk.Text));
            }
            if (chunk.Final) final = chunk;
        }
        Show(session, liveTurnId, filter.Complete());
        return (answer.ToString(), final);
    }

    private static void Show(TurnContext session, string turnId, string text)
    {
        if (text.Length == 0) return;
        session.Journal.AppendLive(text);
        session.Events.Publish(new SessionEvent { Id = "", Type = SessionEventTypes.TurnDelta, TurnId = turnId, Text = text });
    }

    /// <summary>An LLM call's usage as the provider reported it in its final chunk, or our estimates (marked) when it did not.</summary>
    private static Usage UsageOf(LlmChunk? final, long estimatedPromptTokens, long estimatedCompletionTokens) => new()
    {
        PromptTokens = final?.PromptTokens ?? estimatedPromptTokens,
        CompletionTokens = final?.CompletionTokens ?? estimatedCompletionTokens,
        CachedTokens = final?.CachedTokens ?? 0,
        Estimated = final?.UsageEstimated ?? true,
        CostUsd = final?.CostUsd ?? 0m,
    };

    // ---------------------------------------------------------------- recall

    /// <summary>What a turn's prompt gets from memory: the retrieved lines, the newest summaries, and the ids used.</summary>
    private sealed record Recall(string Memory, string Summaries, List<string> Used, List<MemoryScore> Scores);

    /// <summary>Committed turns not yet folded into a summary: the prompt carries them verbatim (at least the window).</summary>
    private static List<TurnView> Unsummarized(IReadOnlyList<TurnView> recent, WorldMemory memory, int window)
    {
        var last = memory.LastSummarizedSeq;
        var unsummarized = recent.Where(t => t.Seq > last).ToList();
        return unsummarized.Count >= window ? unsummarized : [.. recent.TakeLast(window)];
    }

    private async Task<Recall> RecallAsync(TurnContext session, WorldMemory memory, string input, IReadOnlyList<TurnView> window)
    {
        var summaries = memory.Summaries()
            .OrderBy(s => ToSeq(s)).ThenBy(s => s.EntityId, StringComparer.Ordinal)
            .TakeLast(PromptSummaries)
            .ToList();
        var summaryText = string.Join("\n", summaries.Select(s => s.Content.ReplaceLineEndings(" ")).Where(c => c.Length > 0));
        var budget = Math.Min(_memoryTokens, _contextTokens - (summaryText.Length == 0 ? 0 : _tokens.Count(summaryText) + summaries.Count));
        // The story's pieces, not one joined text: the name scan reads them in order (a joined copy was ~5 % of a turn's bytes).
        var recentStory = new List<string>(window.Count * 2);
        foreach (var t in window)
        {
            recentStory.Add(t.StoryInput);
            recentStory.Add(t.Narrative);
        }
        var exclude = summaries.Select(s => s.EntityId).ToHashSet(StringComparer.Ordinal);
        var retrieval = budget > 0
            ? await memory.RetrieveAsync(input, recentStory, budget, session.Stopping, exclude)
            : MemoryRetrieval.Empty;
        // The body without a heading: the assembler puts its own heading over it.
        return new Recall(retrieval.Body, summaryText, [.. summaries.Select(s => s.EntityId), .. retrieval.EntityIds], retrieval.Scores);

        static int ToSeq(MemoryEntity summary) =>
            summary.Attributes.TryGetValue(RollingSummarizer.ToSeqAttribute, out var to)
            && int.TryParse(to, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    // ---------------------------------------------------------------- remember

    private readonly record struct Remembered(string Narrative, List<MemoryOp> Applied, List<string> Warnings, string? Ooc, Usage SummaryUsage);

    /// <summary>
    /// Splits the narrator's answer, applies its memory operations (and a summary when one is due) as turn
    /// <paramref name="seq"/>. A broken or missing block never fails the turn: the narrative stays, a warning says why.
    /// </summary>
    private async Task<Remembered> RememberAsync(TurnContext session, WorldMemory memory, string answer, int seq, Task<SummaryOutcome>? summarizing)
    {
        var warnings = new List<string>();
        var split = MemoryBlockParser.Split(answer, _memoryOptions);
        if (split.Warning is not null) warnings.Add(split.Warning);
        else if (answer.IndexOf(MemoryBlockParser.FenceOpen, StringComparison.OrdinalIgnoreCase) < 0)
            warnings.Add("memory block: missing; nothing was recorded in memory for this turn");

        session.Memory.TurnChanging(readSeq: seq - 1);
        var applied = new List<MemoryOp>();
        try
        {
            applied.AddRange(memory.Apply(split.Ops, seq));
        }
        catch (LoomProblemException problem)
        {
            warnings.Add($"memory block: {problem.Detail}");
        }
        var summaryUsage = Usage.Zero;
        if (summarizing is not null)
        {
            var summary = await summarizing;
            if (summary.Interrupted) throw new OperationCanceledException(session.Stopping);
            var failure = summary.Failure;
            if (failure is null)
            {
                try
                {
                    applied.AddRange(memory.Apply([summary.Op!], seq));
                    summaryUsage = summary.Usage;
                    if (summary.Warning is not null) warnings.Add(summary.Warning);
                }
                catch (Exception ex)
                {
                    failure = ex;
                }
            }
            if (failure is not null)
            {
                // Not worth the narrated turn: the same block is due again after the next turn.
                LogSummaryFailed(failure, session.SessionId, seq);
                warnings.Add("memory: the rolling summary was deferred to a later turn");
            }
        }
        if (!await session.Memory.RefreshAfterTurnAsync(memory))
            warnings.Add("memory: embeddings could not be refreshed; vector search catches up later");
        return new Remembered(split.Narrative, applied, warnings, split.Ooc, summaryUsage);
    }

    /// <summary>A due rolling summary as the turn takes it: its op (with usage and a warning), or why there is none.</summary>
    private sealed record SummaryOutcome(MemoryOp? Op, Usage Usage, string? Warning, Exception? Failure = null, bool Interrupted = false);

    /// <summary>
    /// Every N turns, the oldest unsummarized block of turns that left the recent window (<paramref name="range"/>,
    /// committed turns), summarized by the session's narrator (the offline one summarizes extractively). If the
    /// narrator fails, the block is summarized extractively and the turn says so: the turns are the source either way,
    /// nothing is made up. Never throws: any other failure is handed to the turn, which defers the block. It owns
    /// <paramref name="cancel"/> and disposes it when it ends.
    /// </summary>
    private async Task<SummaryOutcome> SummarizeAsync(TurnContext session, SummaryRange range, CancellationTokenSource cancel)
    {
        try
        {
            var records = await session.Journal.ReadLiveAsync(Enumerable.Range(range.FromSeq, range.ToSeq - range.FromSeq + 1));
            var turns = records
                .Where(r => r.Turn.Status == TurnStatus.Completed)
                .Select(r => new TurnText(r.Turn.Seq, r.Turn.StoryInput, r.Turn.Narrative))
                .ToList();
            if (session.State.Llm.Provider == LlmProviders.Offline || turns.Count == 0)
                return new SummaryOutcome(_summarizer.CreateOp(range, _summarizer.Summarize(turns)), Usage.Zero, null);

            string? warning;
            var usage = Usage.Zero;
            try
            {
                (var text, usage, var servedBy) = await SummarizeWithNarratorAsync(session, turns, cancel.Token);
                if (servedBy == LlmProviders.Offline)
                    // The fallback chain ended at the offline narrator, whose "summary" is invented prose, not a summary.
                    warning = $"memory: the narrator fell back to the offline narrator for the summary of turns {range.FromSeq}-{range.ToSeq}; summarized extractively";
                else if (text.Length > 0)
                    return new SummaryOutcome(_summarizer.CreateOp(range, text), usage, null);
                else
                    warning = $"memory: the narrator's summary of turns {range.FromSeq}-{range.ToSeq} was empty; summarized extractively";
            }
            catch (LlmCallException ex)
            {
                warning = $"memory: the narrator could not summarize turns {range.FromSeq}-{range.ToSeq} ({ex.Code}); summarized extractively";
            }
            return new SummaryOutcome(_summarizer.CreateOp(range, _summarizer.Summarize(turns)), usage, warning);
        }
        catch (OperationCanceledException)
        {
            return new SummaryOutcome(null, Usage.Zero, null, Interrupted: true);
        }
        catch (Exception ex)
        {
            return new SummaryOutcome(null, Usage.Zero, null, Failure: ex);
        }
        finally
        {
            cancel.Dispose();
        }
    }

    private async Task<(string Text, Usage Usage, string? ServedBy)> SummarizeWithNarratorAsync(TurnContext session, IReadOnlyList<TurnText> turns, CancellationToken cancellation)
    {
        var instruction = _summarizer.BuildInstruction(turns);
        List<LlmMessage> messages =
        [
            new LlmMessage { Role = LlmRole.System, Content = "You keep the chronicle of an interactive story. Follow the instructions exactly." },
            new LlmMessage { Role = LlmRole.User, Content = instruction },
        ];
        // Room for the summary the instruction asks for (about four characters a token), not the turn's limit.
        var (answer, final) = await NarrateAsync(session, Request(session, messages, Math.Max(64, _memoryOptions.MaxSummaryChars / 3)), liveTurnId: null, cancellation);
        // A model that answers in the narration format anyway: keep the prose, drop the memory block.
        var text = MemoryBlockParser.Split(answer, _memoryOptions).Narrative.Trim();
        return (text, UsageOf(final, _tokens.Count(instruction), _tokens.Count(text)), final?.Provider);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: turn {TurnId} failed")]
    private partial void LogTurnFault(Exception ex, string sessionId, string turnId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: summary after turn {Seq} failed")]
    private partial void LogSummaryFailed(Exception ex, string sessionId, int seq);
}
