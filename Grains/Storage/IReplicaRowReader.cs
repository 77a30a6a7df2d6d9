namespace Loom.Storage;

/// <summary>
/// Reads from the PostgreSQL read replica (<c>Loom:Storage:ReadConnectionString</c>) for reads that do not belong to a
/// live grain, so they never load the primary. What it returns is the replica's view, which may lag the primary: a
/// caller checks each row's version against one it knows to be current before using it.
/// </summary>
public interface IReplicaRowReader
{
    /// <summary>False when no replica is configured: callers then read through the grains, as without one.</summary>
    bool Enabled { get; }

    /// <summary>The header row <paramref name="name"/> of each grain that has one with a payload, in one query.</summary>
    Task<IReadOnlyDictionary<GrainId, StoredRow>> ReadHeadersAsync(IReadOnlyList<GrainId> grains, string name, CancellationToken cancellationToken = default);

    /// <summary>The replica as of one moment (one read-only REPEATABLE READ transaction), for reading many rows of a
    /// grain that agree with each other, e.g. a session's export. Its writes throw.</summary>
    Task<IReplicaRows> OpenAsync(CancellationToken cancellationToken = default);
}

/// <summary>Rows as the replica had them when <see cref="IReplicaRowReader.OpenAsync"/> was called; read-only.</summary>
public interface IReplicaRows : IGrainRowStore, IAsyncDisposable;

/// <summary>No replica configured.</summary>
public sealed class NoReplicaRowReader : IReplicaRowReader
{
    public bool Enabled => false;

    public Task<IReadOnlyDictionary<GrainId, StoredRow>> ReadHeadersAsync(IReadOnlyList<GrainId> grains, string name, CancellationToken cancellationToken = default) =>
        throw NotConfigured();

    public Task<IReplicaRows> OpenAsync(CancellationToken cancellationToken = default) => throw NotConfigured();

    private static InvalidOperationException NotConfigured() => new("No read replica is configured (Loom:Storage:ReadConnectionString).");
}
