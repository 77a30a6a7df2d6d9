namespace Loom.Gateway.Endpoints;

/// <summary>
/// The deadline a gateway stamps on each turn submission (<see cref="Loom.Turns.TurnSubmission.NotAfter"/>): its own call
/// deadline, after which it has answered 503 and the client retries with the same key, plus a margin for the clocks of
/// gateway and silo. A submission that reaches its session later is refused there instead of played a second time.
/// </summary>
public sealed class SubmitDeadline(TimeSpan callDeadline)
{
    public static readonly TimeSpan ClockMargin = TimeSpan.FromSeconds(10);

    /// <summary>The deadline of the call a submission travels in.</summary>
    public TimeSpan CallDeadline => callDeadline;

    public DateTime NotAfter() => DateTime.UtcNow + callDeadline + ClockMargin;
}
