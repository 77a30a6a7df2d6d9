using Loom.Errors;

namespace Loom.Turns;

/// <summary>Callers waiting for a turn to finish (long-poll reads, support reads); the pump resolves them after the commit.</summary>
public sealed class TurnWaiters
{
    private readonly Dictionary<string, List<TaskCompletionSource<TurnView>>> _waiters = new(StringComparer.Ordinal);

    /// <summary>Waits until <paramref name="turnId"/> is committed; false when <paramref name="timeout"/> passed first.</summary>
    public async Task<(bool Finished, TurnView? Turn)> WaitAsync(string turnId, TimeSpan timeout)
    {
        var waiter = new TaskCompletionSource<TurnView>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_waiters.TryGetValue(turnId, out var list)) _waiters[turnId] = list = [];
        list.Add(waiter);
        try
        {
            // WaitAsync drops its timer as soon as the turn finishes (a bare Task.Delay would linger for the whole timeout).
            return (true, await waiter.Task.WaitAsync(timeout));
        }
        catch (TimeoutException)
        {
        }
        list.Remove(waiter);
        if (list.Count == 0) _waiters.Remove(turnId);
        return (false, null);
    }

    public void Finished(TurnView turn)
    {
        if (_waiters.Remove(turn.TurnId, out var waiters)) foreach (var w in waiters) w.TrySetResult(turn);
    }

    /// <summary>The session is gone: every waiter gets its 404.</summary>
    public void FailAll(string sessionId)
    {
        foreach (var list in _waiters.Values)
            foreach (var w in list)
                w.TrySetException(Problems.NotFound("Session", sessionId));
        _waiters.Clear();
    }
}
