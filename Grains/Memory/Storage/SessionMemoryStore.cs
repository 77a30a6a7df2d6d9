using Loom.Errors;
using Loom.Sessions;
using Loom.Storage;
using Microsoft.Extensions.Logging;

namespace Loom.Memory;

/// <summary>
/// A session's world memory in its rows, for one activation: loaded lazily, staged into the commit that makes
/// its changes durable.
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
public sealed partial class SessionMemoryStore
{
    private const string ShardPrefix = "memory.shard";
    private const string DeltaPrefix = "memory.delta";
    private const string ManifestPrefix = "memory.manifest";
    /// <summary>What every memory row's name starts with.</summary>
    private const string MemoryRowPrefix = "memory.";

    /// <summary>Delta rows read per round trip when loading.</summary>
    private const int DeltaReadBatch = 32;

    private readonly GrainRows<SessionState> _header;
    private readonly WorldMemoryFactory _factory;
    private readonly ILogger _logger;
    private readonly IGrainRowStore _rows;
    private readonly string _sessionId;
    private RecordStore<MemoryShard>? _shards;
    private RecordStore<MemoryDelta>? _deltas;
    private RecordStore<MemoryManifest>? _manifest;
    private Task<WorldMemory>? _load;

    /// <summary>A session created in this activation: its memory has no rows yet, so the first use builds it empty.</summary>
    private bool _startsEmpty;

    /// <summary>Live delta rows are numbered [_firstDelta, _nextDelta); known once memory is loaded.</summary>
    private long _firstDelta;
    private long _nextDelta;

    /// <summary>Set while a turn's memory changes are applied but the turn is not committed yet; edits wait for it.</summary>
    private TaskCompletionSource? _inFlight;
    private int? _readSeq;

    public SessionMemoryStore(string sessionId, IGrainRowStore rows, GrainRows<SessionState> header, WorldMemoryFactory factory, ILogger logger)
    {
        _sessionId = sessionId;
        _rows = rows;
        _header = header;
        _factory = factory;
        _logger = logger;
    }

    public MemoryOptions Options => _factory.Options;

    private SessionState S => _header.State;

    private string SessionId => _sessionId;

    /// <summary>Shard rows to read or clear: the configured count, or more if an older configuration wrote more.</summary>
    private int StoredShardCount => Math.Max(S.MemoryShards, Options.ShardCount);

    // Every shard stays cached with its ETag, so writing one never needs a read first.
    private RecordStore<MemoryShard> Shards => _shards ??= new RecordStore<MemoryShard>(
        _rows, _header.Grain, ShardPrefix, cacheSize: Math.Max(StoredShardCount, 1));

    private RecordStore<MemoryDelta> Deltas => _deltas ??= new(_rows, _header.Grain, DeltaPrefix, cacheSize: DeltaReadBatch);

    private RecordStore<MemoryManifest> Manifest => _manifest ??= new(_rows, _header.Grain, ManifestPrefix, cacheSize: 1);

    /// <summary>
    /// A brand-new session's memory is empty: its first turn need not read rows that cannot exist yet, and the
    /// create need not build the (empty) indexes a session that never plays would not use.
    /// </summary>
    public void StartEmpty()
    {
        _firstDelta = _nextDelta = 0;
        _startsEmpty = true;
        _load = null;
    }

    /// <summary>Forgets the loaded memory (the next use reloads it from storage).</summary>
    public void Reset()
    {
        _startsEmpty = false;
        _load = null;
    }

    /// <summary>The loaded memory when it is ready now, without waiting or loading.</summary>
    public WorldMemory? Loaded => _load is { IsCompletedSuccessfully: true } load ? load.Result : null;

    /// <summary>The session's memory, loaded on first use (concurrent callers share one load; a failed load is retried).</summary>
    public async Task<WorldMemory> GetAsync()
    {
        var load = _load ??= _startsEmpty ? Task.FromResult(_factory.Create()) : LoadAsync();
        try
        {
            return await load;
        }
        catch
        {
            if (ReferenceEquals(_load, load)) _load = null;
            throw;
        }
    }

    /// <summary>A page of entities in id order (cursor: the last id), filtered by type and text.</summary>
    public async Task<MemoryPage> ListAsync(MemoryListQuery query)
    {
        ArgumentNullException.ThrowIfNull(query);
        var limit = Math.Clamp(query.Limit, 1, 200);
        var memory = await GetAsync();
        var items = memory.List(query.Type, query.Query, limit + 1, query.After, ReadSeq).ToList();
        var next = items.Count > limit ? items[limit - 1].EntityId : null;
        if (items.Count > limit) items.RemoveAt(limit);
        return new MemoryPage { Items = items, Next = next };
    }

    /// <summary>A copy of memory as of <paramref name="seq"/> (e.g. for a fork).</summary>
    public WorldMemory CopyAsOf(WorldMemory memory, int seq)
    {
        var copy = _factory.Load(memory.AllShards());
        copy.RollbackTo(seq);
        return copy;
    }

    // ---------------------------------------------------------------- turn changes in flight

    /// <summary>A turn is changing memory: edits through the API wait until it is committed or forgotten, and reads see
    /// memory as it was after turn <paramref name="readSeq"/> (<see cref="ReadSeq"/>; null: as it stands).</summary>
    public void TurnChanging(int? readSeq)
    {
        if (_inFlight is not null) return;
        _inFlight = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _readSeq = readSeq;
    }

    /// <summary>The last turn memory reads show while a turn is changing memory (its changes may still be forgotten);
    /// null when reads show everything.</summary>
    public int? ReadSeq => _inFlight is null ? null : _readSeq;

    public async Task SettledAsync()
    {
        while (_inFlight is { } inFlight) await inFlight.Task;
    }

    public void Settled()
    {
        _inFlight?.TrySetResult();
        _inFlight = null;
    }

    /// <summary>A turn that failed after applying memory must leave no trace in it.</summary>
    public void ForgetTurn(WorldMemory? memory, int seq)
    {
        if (memory is null || memory.HeadSeq < seq) return;
        try
        {
            memory.RollbackTo(seq - 1);
        }
        catch (LoomProblemException ex)
        {
            // Below the compaction floor (cannot happen with HistoryTurns >= 1): reload the durable state instead.
            LogForgetFailed(ex, SessionId, seq);
            Reset();
        }
    }

    private Task? _background;
    private bool _refreshAgain;

    /// <summary>
    /// Embeds what a turn changed: inline for the hashing embedder (microseconds); for a model, after the turn, on the
    /// activation's scheduler but not awaited by it, so the vectors reach storage with the next write (a deactivation
    /// first only means they are made again after the next load). False when an inline refresh failed.
    /// </summary>
    public async Task<bool> RefreshAfterTurnAsync(WorldMemory memory)
    {
        if (memory.EmbedsInline) return await RefreshEmbeddingsQuietlyAsync(memory);
        RefreshInBackground(memory);
        return true;
    }

    /// <summary>One background refresh runs at a time; a call while it runs makes it go round once more.</summary>
    private void RefreshInBackground(WorldMemory memory)
    {
        if (_background is { IsCompleted: false })
        {
            _refreshAgain = true;
            return;
        }
        _background = RefreshUntilCurrentAsync(memory);
    }

    private async Task RefreshUntilCurrentAsync(WorldMemory memory)
    {
        do
        {
            _refreshAgain = false;
            await RefreshEmbeddingsQuietlyAsync(memory);
        }
        while (_refreshAgain);
    }

    /// <summary>Embeds changed entities now so stored shards carry vectors; on failure searches embed them later.</summary>
    public async Task<bool> RefreshEmbeddingsQuietlyAsync(WorldMemory memory)
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

    // ---------------------------------------------------------------- load and store

    private async Task<WorldMemory> LoadAsync()
    {
        if (!S.Exists || S.MemoryUnwritten)
        {
            _firstDelta = _nextDelta = 0;
            return _factory.Create();
        }
        // One range read of every memory row the session has (manifest, shards, deltas): reading them by name took
        // three statements, and a session's first load after a create or an idle spell is on its turn's path.
        MemoryManifest? manifest = null;
        var shards = new SortedDictionary<long, MemoryShard>();
        var stored = new Dictionary<long, MemoryDelta>();
        foreach (var row in await _rows.ListAsync(_header.Grain, MemoryRowPrefix))
        {
            if (row.Payload is not { } payload) continue;
            if (Numbered(row.Name, ManifestPrefix) == 0) manifest = _rows.Deserialize<MemoryManifest>(payload);
            else if (Numbered(row.Name, ShardPrefix) is { } index && index < StoredShardCount) shards[index] = _rows.Deserialize<MemoryShard>(payload);
            else if (Numbered(row.Name, DeltaPrefix) is { } number) stored[number] = _rows.Deserialize<MemoryDelta>(payload);
        }
        var first = manifest?.FirstDelta ?? 0;
        // The live deltas: from the manifest's mark up to the first missing one.
        var deltas = new List<MemoryDelta>();
        for (var n = first; stored.TryGetValue(n, out var delta); n++) deltas.Add(delta);
        var memory = _factory.Load([.. shards.Values], deltas);
        _firstDelta = first;
        _nextDelta = first + deltas.Count;
        var committed = S.CommittedSeq();
        if (memory.HeadSeq > committed)
        {
            // Rows of a turn that died before its journal record: drop its changes; the turn runs again.
            LogRolledBack(SessionId, memory.HeadSeq, committed);
            memory.RollbackTo(committed);
        }
        return memory;
    }

    /// <summary>n for a row named "{prefix}.{n}", else null.</summary>
    private static long? Numbered(string name, string prefix) =>
        name.Length > prefix.Length + 1 && name.StartsWith(prefix, StringComparison.Ordinal) && name[prefix.Length] == '.'
        && long.TryParse(name.AsSpan(prefix.Length + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n)
            ? n : null;

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

    /// <summary>Stages the loaded memory's changes, if memory is loaded (a turn that never touched memory has none).</summary>
    public void StageLoaded(RowUnit unit)
    {
        if (Loaded is { } memory) Stage(unit, memory);
    }

    /// <summary>
    /// Stages memory changes into the unit that commits them (with the header): one delta row with the entities
    /// changed since the last write, or, when <see cref="MemoryOptions.DeltasPerSnapshot"/> deltas have piled up (or
    /// the shard count changed), a snapshot of the dirty shards, the manifest past the old deltas and their deletion.
    /// </summary>
    public void Stage(RowUnit unit, WorldMemory memory)
    {
        if (memory.NeedsSnapshot || (memory.HasChanges && _nextDelta - _firstDelta >= Options.DeltasPerSnapshot))
            StageSnapshot(unit, memory);
        else if (memory.HasChanges)
            StageDelta(unit, memory);
    }

    /// <summary>Stages the shards of a brand-new session (fork or import), which has no deltas yet.</summary>
    public void StageShards(RowUnit unit, IEnumerable<MemoryShard> shards)
    {
        MarkWritten(unit);
        foreach (var shard in shards) Shards.Put(unit, shard.Index, shard);
    }

    /// <summary>Every staging of memory rows passes here: from this commit on, a load must read them.</summary>
    private void MarkWritten(RowUnit unit)
    {
        if (!S.MemoryUnwritten) return;
        S.MemoryUnwritten = false;
        unit.OnAbandoned(() => S.MemoryUnwritten = true);
    }

    private void StageDelta(RowUnit unit, WorldMemory memory)
    {
        MarkWritten(unit);
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
        MarkWritten(unit);
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
        var count = Options.ShardCount;
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

    /// <summary>Stages the deletion of every memory row (shards, live deltas, manifest).</summary>
    public async Task StageEraseAsync(RowUnit unit)
    {
        for (var i = 0; i < StoredShardCount; i++) Shards.Delete(unit, i);
        long first, next;
        if (Loaded is not null)
        {
            (first, next) = (_firstDelta, _nextDelta);
        }
        else if (S.MemoryUnwritten)
        {
            first = next = 0;
        }
        else
        {
            // Not loaded: find the live deltas the way a load would.
            first = (await Manifest.ReadAsync(0))?.FirstDelta ?? 0;
            next = first + (await ReadDeltasAsync(first)).Count;
        }
        for (var n = first; n < next; n++) Deltas.Delete(unit, n);
        Manifest.Delete(unit, 0);
        Reset();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: memory held changes of turn {HeadSeq} beyond committed turn {CommittedSeq}; rolled back")]
    private partial void LogRolledBack(string sessionId, int headSeq, int committedSeq);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: could not undo memory changes of failed turn {Seq}")]
    private partial void LogForgetFailed(Exception ex, string sessionId, int seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: refreshing memory embeddings failed")]
    private partial void LogEmbeddingsFailed(Exception ex, string sessionId);
}
