using Microsoft.Extensions.Logging;

namespace Loom.Storage.Rows;

/// <summary>
/// Silo-local group commit, leader style: a commit that finds no transaction running writes at once on its own
/// thread (no hand-off, so a lone session pays nothing); commits that arrive while a transaction runs queue up and
/// go together in the next one (up to a cap), written by a background leader. Each caller's task completes when
/// its own commit is durable. A transaction that fails is split: every commit of it is retried alone, so only the
/// commits that fail alone fail.
/// </summary>
internal sealed partial class GroupCommitWriter(Func<IReadOnlyList<RowCommit>, Task<int?[]>> write, int maxBatch, ILogger logger)
{
    private readonly Lock _lock = new();
    private readonly List<Pending> _queue = [];
    private bool _writing;

    /// <summary>The header's new version; null when it was stale (nothing of the commit was written).</summary>
    public async Task<int?> CommitAsync(RowCommit commit)
    {
        var pending = new Pending(commit, new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously));
        List<Pending>? batch = null;
        lock (_lock)
        {
            _queue.Add(pending);
            if (!_writing)
            {
                _writing = true;
                batch = TakeBatch();
            }
        }
        if (batch is not null)
        {
            await FlushAsync(batch);
            // Whatever queued meanwhile goes in the next transaction, written in the background: this caller's own
            // commit is durable and it goes on.
            HandOff();
        }
        return await pending.Done.Task;
    }

    private void HandOff()
    {
        lock (_lock)
        {
            if (_queue.Count == 0)
            {
                _writing = false;
                return;
            }
        }
        _ = Task.Run(LeadAsync);
    }

    private async Task LeadAsync()
    {
        while (true)
        {
            List<Pending> batch;
            lock (_lock)
            {
                if (_queue.Count == 0)
                {
                    _writing = false;
                    return;
                }
                batch = TakeBatch();
            }
            await FlushAsync(batch);
        }
    }

    private List<Pending> TakeBatch()
    {
        var count = Math.Min(_queue.Count, maxBatch);
        var batch = _queue.GetRange(0, count);
        _queue.RemoveRange(0, count);
        return batch;
    }

    private async Task FlushAsync(List<Pending> batch)
    {
        try
        {
            Complete(batch, await write([.. batch.Select(p => p.Commit)]));
            return;
        }
        catch (Exception ex) when (batch.Count > 1)
        {
            LogBatchFailed(ex, batch.Count);
        }
        catch (Exception ex)
        {
            batch[0].Done.TrySetException(ex);
            return;
        }
        foreach (var pending in batch)
        {
            try
            {
                Complete([pending], await write([pending.Commit]));
            }
            catch (Exception ex)
            {
                pending.Done.TrySetException(ex);
            }
        }
    }

    private static void Complete(IReadOnlyList<Pending> batch, int?[] versions)
    {
        for (var i = 0; i < batch.Count; i++) batch[i].Done.TrySetResult(versions[i]);
    }

    private sealed record Pending(RowCommit Commit, TaskCompletionSource<int?> Done);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Group commit of {Count} commits failed; writing them one by one")]
    private partial void LogBatchFailed(Exception ex, int count);
}
