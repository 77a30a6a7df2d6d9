namespace Loom.Turns;

/// <summary>
/// A submitted turn whose accept (the header write that makes it durable) is still in flight. The pump may start
/// narrating it meanwhile, so the write no longer sits in front of the model call; the turn is committed only once
/// the accept has landed. If the accept fails the turn is withdrawn: the submit stops its narration and nothing of it
/// is committed (the submitter gets the storage error; watchers get <c>turn.failed</c>).
/// </summary>
public sealed class TurnAcceptance(string turnId)
{
    private readonly TaskCompletionSource<bool> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public string TurnId => turnId;

    /// <summary>True once the accept landed; false when it failed and the turn was withdrawn.</summary>
    public Task<bool> Landed => _settled.Task;

    /// <summary>True when the accept failed (as opposed to the activation stopping).</summary>
    public bool Withdrawn => _settled.Task.IsCompleted && !_settled.Task.Result;

    public void Settle(bool landed) => _settled.TrySetResult(landed);
}
