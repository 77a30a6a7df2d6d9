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
}

/// <summary>No replica configured.</summary>
public sealed class NoReplicaRowReader : IReplicaRowReader
{
    public bool Enabled => false;

    public Task<IReadOnlyDictionary<GrainId, StoredRow>> ReadHeadersAsync(IReadOnlyList<GrainId> grains, string name, CancellationToken cancellationToken = default) =>
        throw new InvalidOperationException("No read replica is configured (Loom:Storage:ReadConnectionString).");
}
