namespace Loom.Turns;

/// <summary>
/// A submitted turn whose accept (the header write that makes it durable) is still in flight. The pump may start
/// narrating it meanwhile, so the write no longer sits in front of the model call; the turn is committed only once
/// the accept has landed. If the accept fails the turn is withdrawn: its narration is cancelled and nothing of it is
/// committed (the submitter gets the storage error; watchers get <c>turn.failed</c>).
/// </summary>
public sealed class TurnAcceptance(string turnId, CancellationToken stopping) : IDisposable
{
    private readonly TaskCompletionSource<bool> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _narration = CancellationTokenSource.CreateLinkedTokenSource(stopping);

    public string TurnId => turnId;

    /// <summary>Cancels the turn's narration when the accept fails (and when the activation stops).</summary>
    public CancellationToken Narration => _narration.Token;

    /// <summary>True once the accept landed; false when it failed and the turn was withdrawn.</summary>
    public Task<bool> Landed => _settled.Task;

    /// <summary>True when the accept failed (as opposed to the activation stopping).</summary>
    public bool Withdrawn => _settled.Task.IsCompleted && !_settled.Task.Result;

    /// <summary>Set when the pump narrates the turn: the pump then disposes it, otherwise the submit does.</summary>
    public bool Taken { get; private set; }

    public TurnAcceptance Take()
    {
        Taken = true;
        return this;
    }

    public void Settle(bool landed)
    {
        _settled.TrySetResult(landed);
        if (!landed) _narration.Cancel();
    }

    public void Dispose() => _narration.Dispose();
}
