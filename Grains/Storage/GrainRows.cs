namespace Loom.Storage;

/// <summary>
/// A grain's header row plus the rows committed with it, for one activation. Changes are staged in
/// <see cref="RowUnit"/>s and made durable together with the header in one transaction; commits run one at a time
/// and every commit carries all units not yet durable, so a header write never lands without the rows that the
/// in-memory header already counts (e.g. a journal record whose turn the header shows as committed).
/// </summary>
public sealed class GrainRows<THeader>(IGrainRowStore store, GrainId grain, string headerName) where THeader : class, new()
{
    private readonly List<RowUnit> _outstanding = [];
    private readonly SemaphoreSlim _gate = new(1, 1);
    private int? _version;

    public THeader State { get; set; } = new();

    public GrainId Grain => grain;

    /// <summary>The header's stored version as last read or written (null before it exists); every commit raises it.</summary>
    public int? Version => _version;

    public async Task ReadHeaderAsync()
    {
        var row = await store.ReadAsync(grain, headerName);
        _version = row?.Version;
        State = row?.Payload is { } payload ? store.Deserialize<THeader>(payload) : new THeader();
    }

    public RowUnit Begin() => new(store, grain);

    /// <summary>Writes the header with every outstanding unit (a header-only write when <paramref name="unit"/> is null).</summary>
    public Task CommitAsync(RowUnit? unit = null) => CommitCoreAsync(unit, clear: false);

    /// <summary>
    /// Commits until the write lands (e.g. while PostgreSQL restarts), backing off up to 2 s, or until
    /// <paramref name="stopping"/> fires (then <see cref="OperationCanceledException"/>). A stale version is not
    /// retried: a retry after an ambiguous failure that did land meets it, and the caller steps aside.
    /// </summary>
    public async Task CommitUntilDurableAsync(RowUnit unit, CancellationToken stopping, Action<Exception, TimeSpan> retrying)
    {
        var delay = TimeSpan.FromMilliseconds(100);
        while (true)
        {
            try
            {
                await CommitAsync(unit);
                return;
            }
            catch (Exception ex) when (ex is not Orleans.Storage.InconsistentStateException)
            {
                if (stopping.IsCancellationRequested) throw new OperationCanceledException("Deactivating", ex);
                retrying(ex, delay);
                await Task.Delay(delay);
                delay = TimeSpan.FromMilliseconds(Math.Min(delay.TotalMilliseconds * 2, 2000));
            }
        }
    }

    /// <summary>Clears the header (payload NULL, version kept growing) together with the unit's rows.</summary>
    public Task ClearAsync(RowUnit? unit = null) => CommitCoreAsync(unit, clear: true);

    /// <summary>Drops a unit that will not be committed (its owner undoes its in-memory effects).</summary>
    public void Abandon(RowUnit unit)
    {
        if (!_outstanding.Remove(unit)) return;
        foreach (var undo in unit.Abandoned) undo();
    }

    public async Task<T?> ReadAsync<T>(string name) where T : class =>
        await store.ReadAsync(grain, name) is { Payload: { } payload } ? store.Deserialize<T>(payload) : null;

    public async Task<List<T>> ReadManyAsync<T>(IReadOnlyList<string> names)
    {
        if (names.Count == 0) return [];
        var rows = await store.ReadManyAsync(grain, names);
        return rows.Select(r => store.Deserialize<T>(r.Payload!)).ToList();
    }

    private async Task CommitCoreAsync(RowUnit? unit, bool clear)
    {
        if (unit is { IsCommitted: false } && !_outstanding.Contains(unit)) _outstanding.Add(unit);
        await _gate.WaitAsync();
        try
        {
            var units = _outstanding.ToList();
            var rows = new Dictionary<(GrainId, string), RowWrite>();
            foreach (var staged in units)
                foreach (var row in staged.Rows)
                {
                    // Later units win; a row written and then deleted is deleted.
                    rows.Remove((row.Grain, row.Name));
                    rows[(row.Grain, row.Name)] = row;
                }
            var fenced = !(clear && _version is null);
            var version = await store.CommitAsync(new RowCommit
            {
                Grain = grain,
                HeaderName = fenced ? headerName : null,
                HeaderPayload = clear ? null : store.Serialize(State),
                ExpectedVersion = _version,
                Rows = [.. rows.Values],
            });
            if (fenced) _version = version;
            foreach (var committed in units)
            {
                _outstanding.Remove(committed);
                committed.IsCommitted = true;
                foreach (var done in committed.Committed) done();
            }
        }
        finally
        {
            _gate.Release();
        }
    }
}

/// <summary>Rows staged to be committed with a header; serialized when staged, so later changes to the objects do not leak in.</summary>
public sealed class RowUnit(IGrainRowStore store, GrainId grain)
{
    internal List<RowWrite> Rows { get; } = [];
    internal List<Action> Committed { get; } = [];
    internal List<Action> Abandoned { get; } = [];
    internal bool IsCommitted { get; set; }

    public void Put<T>(string name, T value) => Rows.Add(new RowWrite(grain, name, store.Serialize(value)));

    /// <summary>A row of another grain written in the same transaction (e.g. the owner's pending usage).</summary>
    public void Put<T>(GrainId other, string name, T value) => Rows.Add(new RowWrite(other, name, store.Serialize(value)));

    public void Delete(string name) => Rows.Add(new RowWrite(grain, name, null));

    public void Delete(GrainId other, string name) => Rows.Add(new RowWrite(other, name, null));

    /// <summary>Runs once the unit is durable.</summary>
    public void OnCommitted(Action action) => Committed.Add(action);

    /// <summary>Runs if the unit is abandoned instead.</summary>
    public void OnAbandoned(Action action) => Abandoned.Add(action);
}
