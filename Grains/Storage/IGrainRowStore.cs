namespace Loom.Storage;

/// <summary>A grain state row as stored; <see cref="Payload"/> is null after a clear (the row and its version survive).</summary>
public sealed record StoredRow(string Name, byte[]? Payload, int Version);

/// <summary>One row a commit writes, or deletes when <see cref="Payload"/> is null. Its grain may differ from the
/// commit's (a turn also writes its owner's pending usage row).</summary>
public readonly record struct RowWrite(GrainId Grain, string Name, byte[]? Payload);

/// <summary>
/// What one grain makes durable at once: its header row, checked against the version it last read (the optimistic
/// fence that keeps a stale activation out), and the rows that belong with it. All of it lands, or none.
/// </summary>
public sealed class RowCommit
{
    public required GrainId Grain { get; init; }

    /// <summary>The fenced row (e.g. "session"); null commits the rows without a fence.</summary>
    public string? HeaderName { get; init; }

    /// <summary>The header's new payload; null clears it (payload NULL, version bumped).</summary>
    public byte[]? HeaderPayload { get; init; }

    /// <summary>Version the header must still have; null when the header must not exist yet.</summary>
    public int? ExpectedVersion { get; init; }

    public IReadOnlyList<RowWrite> Rows { get; init; } = [];
}

/// <summary>
/// Grain rows in the table Orleans' "loom" grain storage uses (same keys, same payload format), with commits that
/// write a header and its rows in ONE transaction. Commits of many grains may share a transaction (group commit);
/// each caller's task completes when its own commit is durable.
/// </summary>
public interface IGrainRowStore
{
    Task<StoredRow?> ReadAsync(GrainId grain, string name);

    /// <summary>The named rows that exist with a payload, in the order asked.</summary>
    Task<IReadOnlyList<StoredRow>> ReadManyAsync(GrainId grain, IReadOnlyList<string> names);

    /// <summary>Rows of the grain whose name starts with <paramref name="prefix"/> and that hold a payload.</summary>
    Task<IReadOnlyList<StoredRow>> ListAsync(GrainId grain, string prefix);

    /// <summary>Writes the commit atomically and returns the header's new version (0 for an unfenced commit).
    /// Throws <see cref="Orleans.Storage.InconsistentStateException"/> when the header's version is stale: then
    /// nothing of this commit was written.</summary>
    Task<int> CommitAsync(RowCommit commit);

    byte[] Serialize<T>(T value);

    T Deserialize<T>(byte[] payload);
}
