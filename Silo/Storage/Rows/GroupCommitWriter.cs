using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Loom.Storage.Rows;

/// <summary>
/// Silo-local group commit: commits queue here while the previous transaction runs, and the next transaction
/// takes all of them (up to a cap). Each caller's task completes when its own commit is durable. A transaction that
/// fails is split: every commit of it is retried alone, so only the commits that fail alone fail.
/// </summary>
internal sealed partial class GroupCommitWriter : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Func<IReadOnlyList<RowCommit>, Task<int?[]>> _write;
    private readonly int _maxBatch;
    private readonly ILogger _logger;
    private readonly Task _loop;

    public GroupCommitWriter(Func<IReadOnlyList<RowCommit>, Task<int?[]>> write, int maxBatch, ILogger logger)
    {
        _write = write;
        _maxBatch = maxBatch;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>The header's new version; null when it was stale (nothing of the commit was written).</summary>
    public Task<int?> CommitAsync(RowCommit commit)
    {
        var pending = new Pending(commit, new TaskCompletionSource<int?>(TaskCreationOptions.RunContinuationsAsynchronously));
        if (!_queue.Writer.TryWrite(pending)) throw new ObjectDisposedException(nameof(GroupCommitWriter));
        return pending.Done.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop;
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_maxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < _maxBatch && _queue.Reader.TryRead(out var next)) batch.Add(next);
            await FlushAsync(batch);
            batch.Clear();
        }
    }

    private async Task FlushAsync(List<Pending> batch)
    {
        try
        {
            Complete(batch, await _write([.. batch.Select(p => p.Commit)]));
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
                Complete([pending], await _write([pending.Commit]));
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
