using Loom.Telemetry;
using Microsoft.Extensions.Logging;

namespace Loom.Storage.Rows;

/// <summary>
/// Copies SQLite's write-ahead log into the database off the commit path. The writer turns SQLite's automatic
/// checkpoint off (it ran inside whichever COMMIT crossed 1,000 log pages, and every accept and commit queued behind
/// that transaction waited for the copy and its fsync: accept p95 209 ms at 100 users, 4 ms without it). This runs a
/// PASSIVE checkpoint on its own connection once about as much has been written since the last one: it never waits
/// for readers or the writer, and once it has copied the whole log the next transaction starts the log over. Under
/// writes without a pause the log may never be wholly copied at one moment, so past <see cref="RestartFrames"/> a
/// RESTART checkpoint holds the writer for the few frames the passive ones left and starts the log over.
/// </summary>
internal sealed partial class SqliteCheckpointer(StorageDatabase database, StorageMetrics metrics, ILogger logger,
    long thresholdBytes = SqliteCheckpointer.ThresholdBytes, long restartFrames = SqliteCheckpointer.RestartFrames)
{
    /// <summary>Payload bytes between checkpoints (a log page holds one 1 KiB page plus headers: ~2x the payload).</summary>
    public const long ThresholdBytes = 512 * 1024;

    /// <summary>Log frames (pages) past which a checkpoint makes the log start over even if it holds the writer.</summary>
    public const long RestartFrames = 16_384;

    private long _sinceLast;
    private int _running;

    /// <summary>The checkpoint in flight, or the last one (tests and shutdown wait on it).</summary>
    public Task Last { get; private set; } = Task.CompletedTask;

    /// <summary>Counts a transaction's payload; starts a checkpoint in the background when enough was written.</summary>
    public void Written(long bytes)
    {
        if (Interlocked.Add(ref _sinceLast, bytes) >= thresholdBytes) TryStart();
    }

    private void TryStart()
    {
        if (Interlocked.CompareExchange(ref _running, 1, 0) == 0) Last = Task.Run(RunAsync);
    }

    /// <summary>Checkpoints until less than the threshold was written during the last one (one run at a time).</summary>
    private async Task RunAsync()
    {
        try
        {
            do
            {
                Interlocked.Exchange(ref _sinceLast, 0);
                await using var connection = database.CreateConnection();
                await connection.OpenAsync();
                var logFrames = await CheckpointAsync(connection, "PASSIVE");
                if (logFrames >= restartFrames) await CheckpointAsync(connection, "RESTART");
            }
            while (Volatile.Read(ref _sinceLast) >= thresholdBytes);
        }
        catch (Exception ex)
        {
            // Nothing is lost: the log keeps every commit, and the next threshold tries again.
            LogCheckpointFailed(ex);
            Volatile.Write(ref _running, 0);
            return;
        }
        Volatile.Write(ref _running, 0);
        // A write that crossed the threshold after the last check but before the flag dropped found it still set.
        if (Volatile.Read(ref _sinceLast) >= thresholdBytes) TryStart();
    }

    /// <summary>Runs one checkpoint; returns the frames in the log (its second column).</summary>
    private async Task<long> CheckpointAsync(System.Data.Common.DbConnection connection, string mode)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"PRAGMA wal_checkpoint({mode})";
        await using var reader = await command.ExecuteReaderAsync();
        metrics.Operation(StorageOperation.Checkpoint);
        return await reader.ReadAsync() ? reader.GetInt64(1) : 0;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SQLite checkpoint failed; the write-ahead log keeps growing until the next one succeeds")]
    private partial void LogCheckpointFailed(Exception ex);
}
