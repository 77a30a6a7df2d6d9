using System.Globalization;
using System.Text;
using Loom.Errors;
using Loom.Events;
using Loom.Llm;
using Loom.Memory;
using Loom.Prompt;
using Loom.Text;
using Loom.Timeline;
using Loom.Turns;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Loom.Storage;

namespace Loom.Sessions;

/// <summary>
/// World memory of the session: loaded lazily from its rows, fed by each turn's memory block, retrieved into the next
/// prompts, edited through the API.
/// <para>
/// Storage: shard rows ("memory.shard.i", a stable hash slice of the entities with their history and vectors) plus
/// delta rows ("memory.delta.n", the entities one write changed). A turn appends one delta, so its write costs what
/// it changed, not what memory holds; every <see cref="MemoryOptions.DeltasPerSnapshot"/> deltas the dirty shards are
/// rewritten (each marked with the delta number it includes), then "memory.manifest.0" moves past the old deltas
/// and they are deleted, all in the commit that stores the changes. Loading reads the manifest, the shards and the
/// deltas from the manifest's mark until the first missing one.
/// </para>
/// Crash consistency: a turn's memory rows commit in the same transaction as its journal record and header. Rows of
/// an uncommitted turn can still be found (older builds wrote memory first, and a rollback writes the header before
/// memory); memory keeps history per seq, so loading rolls it back to the last committed seq and the re-run turn
/// applies again.
/// </summary>
public sealed partial class SessionGrain
{
    private const string MemoryShardPrefix = "memory.shard";
    private const string MemoryDeltaPrefix = "memory.delta";
    private const string MemoryManifestPrefix = "memory.manifest";

    /// <summary>Delta rows read per round trip when loading.</summary>
    private const int DeltaReadBatch = 32;

    /// <summary>Newest summaries the prompt carries verbatim; older ones compete in retrieval like any entity.</summary>
    private const int PromptSummaries = 2;

    /// <summary>Headings and joins the prompt assembler adds around summaries and memory.</summary>
    private const int ContextOverheadTokens = 40;

    private Task<WorldMemory>? _memoryLoad;
    private RecordStore<MemoryShard>? _shards;
    private RecordStore<MemoryDelta>? _deltas;
    private RecordStore<MemoryManifest>? _manifest;

    /// <summary>Live delta rows are numbered [_firstDelta, _nextDelta); known once memory is loaded.</summary>
    private long _firstDelta;
    private long _nextDelta;

    /// <summary>Set while a turn's memory changes are applied but the turn is not committed yet; edits wait for it.</summary>
    private TaskCompletionSource? _memoryInFlight;

    private WorldMemoryFactory MemoryFactory => _memoryFactory;

    private MemoryOptions MemoryOptions => MemoryFactory.Options;

    /// <summary>Seq of the newest committed turn on the live timeline.</summary>
    private int CommittedSeq => S.LastSeq - S.Pending.Count;

    /// <summary>Shard rows to read or clear: the configured count, or more if an older configuration wrote more.</summary>
    private int StoredShardCount => Math.Max(S.MemoryShards, MemoryOptions.ShardCount);

    private RecordStore<MemoryShard> Shards => _shards ??= new RecordStore<MemoryShard>(
        _rows, this.GetGrainId(), MemoryShardPrefix,
        // Every shard stays cached with its ETag, so writing one never needs a read first.
        cacheSize: Math.Max(StoredShardCount, 1));

    private RecordStore<MemoryDelta> Deltas => _deltas ??= new RecordStore<MemoryDelta>(
        _rows, this.GetGrainId(), MemoryDeltaPrefix,
        cacheSize: DeltaReadBatch);

    private RecordStore<MemoryManifest> Manifest => _manifest ??= new RecordStore<MemoryManifest>(
        _rows, this.GetGrainId(), MemoryManifestPrefix, cacheSize: 1);

    // ---------------------------------------------------------------- API

    public async Task<MemoryPage> ListMemory(string ownerId, MemoryListQuery query)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 200);
        var memory = await MemoryAsync();
        var items = memory.List(query.Type, query.Query, limit + 1, query.After).ToList();
        var next = items.Count > limit ? items[limit - 1].EntityId : null;
        if (items.Count > limit) items.RemoveAt(limit);
        return new MemoryPage { Items = items, Next = next };
    }

    public async Task<MemoryEntity> GetMemory(string ownerId, string entityId)
    {
        Require(ownerId);
        var memory = await MemoryAsync();
        return memory.Get(entityId) ?? throw Problems.NotFound("Memory entity", entityId);
    }

    public async Task<List<ScoredEntity>> SearchMemory(string ownerId, string query, SearchMode mode, int limit)
    {
        Require(ownerId);
        var memory = await MemoryAsync();
        return [.. await memory.SearchAsync(query, mode, Math.Clamp(limit, 1, 200))];
    }

    public async Task<MemoryEntity> PutMemory(string ownerId, string entityId, MemoryEdit edit)
    {
        Require(ownerId);
        ArgumentNullException.ThrowIfNull(edit);
        if (!EntityIds.TryParse(entityId, out var idType))
            throw Problems.Invalid("entityId", "entityId must be type:name-in-lower-case, e.g. character:mira.");
        if (edit.Type != idType)
            throw Problems.Invalid("type", $"type must be {EntityIds.TypeName(idType)} for entity '{entityId}'.");
        if (string.IsNullOrWhiteSpace(edit.Name)) throw Problems.Invalid("name", "name must not be empty.");
        await RequireEditsAllowedAsync();

        var memory = await MemoryAsync();
        await MemorySettledAsync();
        var attributes = edit.Attributes;
        if (attributes is not null && memory.Get(entityId) is { } existing)
        {
            // PUT replaces the attribute map: keys it leaves out are removed (an empty value removes a key).
            attributes = new Dictionary<string, string>(attributes, StringComparer.Ordinal);
            foreach (var key in existing.Attributes.Keys) attributes.TryAdd(key, "");
        }
        var op = new MemoryOp
        {
            Op = MemoryOpNormalizer.Upsert,
            EntityId = entityId,
            Type = edit.Type,
            Name = edit.Name,
            Content = edit.Content,
            Attributes = attributes,
        };
        // Invalid content is refused (422) before anything changes.
        var seq = EditSeq(memory);
        var previous = memory.History(entityId);
        var applied = memory.Apply([op], seq);
        var entity = memory.Get(entityId)!;
        await PersistEditAsync(memory, entityId, previous, applied, Audit("memory.put", edit.Reason, seq, new(StringComparer.Ordinal)
        {
            ["entityId"] = entityId,
            ["type"] = EntityIds.TypeName(edit.Type),
            ["name"] = entity.Name,
            ["version"] = entity.Version.ToString(CultureInfo.InvariantCulture),
        }));
        return entity;
    }

    public async Task DeleteMemory(string ownerId, string entityId, string? reason)
    {
        Require(ownerId);
        await RequireEditsAllowedAsync();
        var memory = await MemoryAsync();
        await MemorySettledAsync();
        if (memory.Get(entityId) is not { } existing) throw Problems.NotFound("Memory entity", entityId);
        var seq = EditSeq(memory);
        var previous = memory.History(entityId);
        var applied = memory.Apply(
            [new MemoryOp { Op = MemoryOpNormalizer.Delete, EntityId = entityId, Type = existing.Type, Name = existing.Name }],
            seq);
        await PersistEditAsync(memory, entityId, previous, applied, Audit("memory.delete", reason, seq, new(StringComparer.Ordinal)
        {
            ["entityId"] = entityId,
            ["type"] = EntityIds.TypeName(existing.Type),
            ["name"] = existing.Name,
        }));
    }

    /// <summary>World edits through the API follow the same explicit policy as inline markers.</summary>
    private async Task RequireEditsAllowedAsync()
    {
        if (!PolicyOf(await CanonAsync()).InterventionsAllowed)
            throw Problems.Forbidden("interventions_not_allowed", "World edits are not allowed in this session (interventionsAllowed is false).");
    }

    /// <summary>An edit belongs to the state after the last committed turn (rollback to that turn keeps it).</summary>
    private int EditSeq(WorldMemory memory) => Math.Max(CommittedSeq, memory.HeadSeq);

    /// <summary>
    /// Stores an API edit (memory, audit, header). If any write fails the caller gets the error and the edit is
    /// undone in the activation too; the next memory write stores the entity as it was before.
    /// </summary>
    private async Task PersistEditAsync(WorldMemory memory, string entityId, IReadOnlyList<EntityRevision> previous,
        IReadOnlyList<MemoryOp> applied, AuditEntry audit)
    {
        try
        {
            await RefreshEmbeddingsQuietlyAsync(memory);
            var unit = _state.Begin();
            StageMemory(unit, memory);
            StageAudit(unit, [audit]);
            await WriteHeaderOrRevertAsync(unit);
        }
        catch
        {
            memory.Restore(entityId, previous);
            throw;
        }
        if (applied.Count > 0)
            Publish(new SessionEvent { Id = "", Type = SessionEventTypes.MemoryUpdated, Memory = [.. applied] });
    }

    private async Task MemorySettledAsync()
    {
        while (_memoryInFlight is { } inFlight) await inFlight.Task;
    }

    private void MemorySettled()
    {
        _memoryInFlight?.TrySetResult();
        _memoryInFlight = null;
    }

    // ---------------------------------------------------------------- load and store

    /// <summary>The session's memory, loaded on first use (concurrent callers share one load; a failed load is retried).</summary>
    private async Task<WorldMemory> MemoryAsync()
    {
        var load = _memoryLoad ??= LoadMemoryAsync();
        try
        {
            return await load;
        }
        catch
        {
            if (ReferenceEquals(_memoryLoad, load)) _memoryLoad = null;
            throw;
        }
    }

    private async Task<WorldMemory> LoadMemoryAsync()
    {
        if (!S.Exists)
        {
            _firstDelta = _nextDelta = 0;
            return MemoryFactory.Create();
        }
        var manifest = Manifest.ReadAsync(0);
        var shards = Shards.ReadManyAsync(Enumerable.Range(0, StoredShardCount).Select(i => (long)i));
        var first = (await manifest)?.FirstDelta ?? 0;
        var deltas = await ReadDeltasAsync(first);
        var memory = MemoryFactory.Load(await shards, deltas);
        _firstDelta = first;
        _nextDelta = first + deltas.Count;
        var committed = CommittedSeq;
        if (memory.HeadSeq > committed)
        {
            // Rows of a turn that died before its journal record: drop its changes; the turn runs again.
            LogMemoryRolledBack(SessionId, memory.HeadSeq, committed);
            memory.RollbackTo(committed);
        }
        return memory;
    }

    /// <summary>Deltas from <paramref name="first"/> on, up to the first missing one (read a batch at a time).</summary>
    private async Task<List<MemoryDelta>> ReadDeltasAsync(long first)
    {
        var deltas = new List<MemoryDelta>();
        for (var start = first; ; start += DeltaReadBatch)
        {
            // Missing rows are skipped in the answer, so the first gap shows as a number out of step.
            var batch = await Deltas.ReadManyAsync(Enumerable.Range(0, DeltaReadBatch).Select(k => start + k));
            for (var k = 0; k < DeltaReadBatch; k++)
            {
                if (k >= batch.Count || batch[k].Number != start + k) return deltas;
                deltas.Add(batch[k]);
            }
        }
    }

    /// <summary>
    /// Stages memory changes into the unit that commits them (with the header): one delta row with the entities
    /// changed since the last write, or, when <see cref="MemoryOptions.DeltasPerSnapshot"/> deltas have piled up (or
    /// the shard count changed), a snapshot of the dirty shards, the manifest past the old deltas and their deletion.
    /// </summary>
    private void StageMemory(RowUnit unit, WorldMemory memory)
    {
        if (memory.NeedsSnapshot || (memory.HasChanges && _nextDelta - _firstDelta >= MemoryOptions.DeltasPerSnapshot))
            StageSnapshot(unit, memory);
        else if (memory.HasChanges)
            StageDelta(unit, memory);
    }

    private void StageDelta(RowUnit unit, WorldMemory memory)
    {
        var delta = memory.TakeChanges();
        delta.Number = _nextDelta++;
        Deltas.Put(unit, delta.Number, delta);
        unit.OnAbandoned(() =>
        {
            // Not durable: the next write carries these entities again.
            memory.MarkChanged(delta);
            _nextDelta = delta.Number;
        });
    }

    private void StageSnapshot(RowUnit unit, WorldMemory memory)
    {
        var through = _nextDelta;
        var obsolete = _firstDelta;
        var dirty = memory.TakeDirtyShards();
        foreach (var shard in dirty)
        {
            shard.ThroughDelta = through;
            Shards.Put(unit, shard.Index, shard);
        }
        Manifest.Put(unit, 0, new MemoryManifest { FirstDelta = through });
        for (var n = obsolete; n < through; n++) Deltas.Delete(unit, n);
        var count = MemoryOptions.ShardCount;
        // After a change of ShardCount every shard was rewritten above; rows beyond the new count are stale.
        for (var i = count; i < S.MemoryShards; i++) Shards.Delete(unit, i);
        var shardsBefore = S.MemoryShards;
        S.MemoryShards = count;
        _firstDelta = through;
        unit.OnAbandoned(() =>
        {
            // Not durable: keep them dirty so the next write is a snapshot again.
            memory.MarkDirty(dirty);
            _firstDelta = obsolete;
            S.MemoryShards = shardsBefore;
        });
    }

    private async Task StageMemoryEraseAsync(RowUnit unit)
    {
        for (var i = 0; i < StoredShardCount; i++) Shards.Delete(unit, i);
        long first, next;
        if (_memoryLoad is { IsCompletedSuccessfully: true })
        {
            (first, next) = (_firstDelta, _nextDelta);
        }
        else
        {
            // Not loaded: find the live deltas the way a load would.
            first = (await Manifest.ReadAsync(0))?.FirstDelta ?? 0;
            next = first + (await ReadDeltasAsync(first)).Count;
        }
        for (var n = first; n < next; n++) Deltas.Delete(unit, n);
        Manifest.Delete(unit, 0);
        _memoryLoad = null;
    }

    // ---------------------------------------------------------------- during a turn

    /// <summary>What a turn's prompt gets from memory: the retrieved block, the newest summaries, and the ids used.</summary>
    private sealed record Recall(string Memory, string Summaries, List<string> Used);

    /// <summary>Committed turns not yet folded into a summary: the prompt carries them verbatim (at least the window).</summary>
    private static List<TurnView> Unsummarized(IReadOnlyList<TurnView> recent, WorldMemory memory, int window)
    {
        var last = memory.LastSummarizedSeq;
        var unsummarized = recent.Where(t => t.Seq > last).ToList();
        return unsummarized.Count >= window ? unsummarized : [.. recent.TakeLast(window)];
    }

    private async Task<Recall> RecallAsync(WorldMemory memory, string input, IReadOnlyList<TurnView> window)
    {
        var summaries = memory.List(EntityType.Summary, null, int.MaxValue)
            .OrderBy(s => ToSeq(s)).ThenBy(s => s.EntityId, StringComparer.Ordinal)
            .TakeLast(PromptSummaries)
            .ToList();
        var summaryText = string.Join("\n", summaries.Select(s => s.Content.ReplaceLineEndings(" ")).Where(c => c.Length > 0));
        var tokens = _tokens;
        var contextBudget = _memoryContextTokens;
        var budget = Math.Min(MemoryOptions.TokenBudget,
            contextBudget - ContextOverheadTokens - (summaryText.Length == 0 ? 0 : tokens.Count(summaryText) + summaries.Count));
        var recentStory = string.Join("\n", window.Select(t => t.StoryInput + "\n" + t.Narrative));
        var exclude = summaries.Select(s => s.EntityId).ToHashSet(StringComparer.Ordinal);
        var retrieval = budget > 0
            ? await memory.RetrieveAsync(input, recentStory, budget, _stopping.Token, exclude)
            : MemoryRetrieval.Empty;
        // The assembler puts its own heading over the block.
        var block = retrieval.Block.StartsWith(MemoryRenderer.Heading, StringComparison.Ordinal)
            ? retrieval.Block[MemoryRenderer.Heading.Length..]
            : retrieval.Block;
        return new Recall(block, summaryText, [.. summaries.Select(s => s.EntityId), .. retrieval.EntityIds]);

        static int ToSeq(MemoryEntity summary) =>
            summary.Attributes.TryGetValue(RollingSummarizer.ToSeqAttribute, out var to)
            && int.TryParse(to, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : 0;
    }

    /// <summary>
    /// Splits the narrator's answer, applies its memory operations (and a summary when one is due) as turn
    /// <paramref name="seq"/>. A broken or missing block never fails the turn: the narrative stays, a warning says why.
    /// </summary>
    private async Task<(string Narrative, List<MemoryOp> Applied, List<string> Warnings, string? Ooc, Usage SummaryUsage)> RememberAsync(
        WorldMemory memory, string answer, int seq)
    {
        var warnings = new List<string>();
        var split = MemoryBlockParser.Split(answer, MemoryOptions);
        if (split.Warning is not null) warnings.Add(split.Warning);
        else if (answer.IndexOf(MemoryBlockParser.FenceOpen, StringComparison.OrdinalIgnoreCase) < 0)
            warnings.Add("memory block: missing; nothing was recorded in memory for this turn");

        _memoryInFlight ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
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
        try
        {
            if (await DueSummaryAsync(memory, seq) is { } summary)
            {
                applied.AddRange(memory.Apply([summary.Op], seq));
                summaryUsage = summary.Usage;
                if (summary.Warning is not null) warnings.Add(summary.Warning);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // Not worth the narrated turn: the same block is due again after the next turn.
            LogSummaryFailed(ex, SessionId, seq);
            warnings.Add("memory: the rolling summary was deferred to a later turn");
        }
        if (!await RefreshEmbeddingsQuietlyAsync(memory))
            warnings.Add("memory: embeddings could not be refreshed; vector search catches up later");
        return (split.Narrative, applied, warnings, split.Ooc, summaryUsage);
    }

    /// <summary>
    /// Every N turns, the oldest unsummarized block of turns that left the recent window, summarized by the session's
    /// narrator (the offline one summarizes extractively). If the narrator fails, the block is summarized
    /// extractively and the turn says so: the turns are the source either way, nothing is made up.
    /// </summary>
    private async Task<(MemoryOp Op, Usage Usage, string? Warning)?> DueSummaryAsync(WorldMemory memory, int seq)
    {
        var summarizer = _summarizer;
        if (summarizer.Due(seq, memory.LastSummarizedSeq) is not { } range) return null;
        var seqs = Enumerable.Range(range.FromSeq, range.ToSeq - range.FromSeq + 1).Where(s => s <= CommittedSeq);
        var records = await _journal.ReadManyAsync(seqs.Select(OrdinalOfSeq));
        var turns = records
            .Where(r => r.Turn.Status == TurnStatus.Completed)
            .Select(r => new TurnText(r.Turn.Seq, r.Turn.StoryInput, r.Turn.Narrative))
            .ToList();
        if (S.Llm.Provider == LlmProviders.Offline || turns.Count == 0)
            return (summarizer.CreateOp(range, summarizer.Summarize(turns)), Usage.Zero, null);

        string? warning;
        var usage = Usage.Zero;
        try
        {
            (var text, usage) = await SummarizeWithNarratorAsync(summarizer, turns);
            if (text.Length > 0) return (summarizer.CreateOp(range, text), usage, null);
            warning = $"memory: the narrator's summary of turns {range.FromSeq}-{range.ToSeq} was empty; summarized extractively";
        }
        catch (LlmCallException ex)
        {
            warning = $"memory: the narrator could not summarize turns {range.FromSeq}-{range.ToSeq} ({ex.Code}); summarized extractively";
        }
        return (summarizer.CreateOp(range, summarizer.Summarize(turns)), usage, warning);
    }

    private async Task<(string Text, Usage Usage)> SummarizeWithNarratorAsync(RollingSummarizer summarizer, IReadOnlyList<TurnText> turns)
    {
        var instruction = summarizer.BuildInstruction(turns);
        var request = new LlmRequest
        {
            Provider = S.Llm.Provider!,
            Model = S.Llm.Model!,
            Temperature = S.Llm.Temperature,
            // Room for the summary the instruction asks for (about four characters a token), not the turn's limit.
            MaxTokens = Math.Max(64, MemoryOptions.MaxSummaryChars / 3),
            Messages =
            [
                new LlmMessage { Role = LlmRole.System, Content = "You keep the chronicle of an interactive story. Follow the instructions exactly." },
                new LlmMessage { Role = LlmRole.User, Content = instruction },
            ],
            SessionId = SessionId,
        };
        var answer = new StringBuilder();
        LlmChunk? final = null;
        await foreach (var chunk in GrainFactory.GetGrain<ILlmGrain>(0).Stream(request, _stopping.Token))
        {
            answer.Append(chunk.Text);
            if (chunk.Final) final = chunk;
        }
        // A model that answers in the narration format anyway: keep the prose, drop the memory block.
        var text = MemoryBlockParser.Split(answer.ToString(), MemoryOptions).Narrative.Trim();
        var tokens = _tokens;
        return (text, UsageOf(final, tokens.Count(instruction), tokens.Count(text)));
    }

    /// <summary>Embeds changed entities now so stored shards carry vectors; on failure searches embed them later.</summary>
    private async Task<bool> RefreshEmbeddingsQuietlyAsync(WorldMemory memory)
    {
        try
        {
            await memory.RefreshEmbeddingsAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogEmbeddingsFailed(ex, SessionId);
            return false;
        }
    }

    /// <summary>A turn that failed after applying memory must leave no trace in it.</summary>
    private void ForgetTurnMemory(WorldMemory? memory, int seq)
    {
        if (memory is null || memory.HeadSeq < seq) return;
        try
        {
            memory.RollbackTo(seq - 1);
        }
        catch (LoomProblemException ex)
        {
            // Below the compaction floor (cannot happen with HistoryTurns >= 1): reload the durable state instead.
            LogMemoryForgetFailed(ex, SessionId, seq);
            _memoryLoad = null;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: memory held changes of turn {HeadSeq} beyond committed turn {CommittedSeq}; rolled back")]
    private partial void LogMemoryRolledBack(string sessionId, int headSeq, int committedSeq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: summary after turn {Seq} failed")]
    private partial void LogSummaryFailed(Exception ex, string sessionId, int seq);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: could not undo memory changes of failed turn {Seq}")]
    private partial void LogMemoryForgetFailed(Exception ex, string sessionId, int seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: refreshing memory embeddings failed")]
    private partial void LogEmbeddingsFailed(Exception ex, string sessionId);
}
