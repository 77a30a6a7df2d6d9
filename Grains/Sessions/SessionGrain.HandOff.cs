using Orleans.Runtime.Placement;

namespace Loom.Sessions;

// Leaving a stopping silo without cutting off the running turn (see SessionHandOff).
public sealed partial class SessionGrain : ISessionHandOffGrain
{
    /// <summary>Set when this silo stops: the pump starts no further turn; queued turns run after the move.</summary>
    private bool _handingOff;

    public async Task HandOff(SiloAddress target, TimeSpan turnLimit)
    {
        if (S.Pending.Count == 0 && _pump is not { IsCompleted: false } && DateTime.UtcNow - S.UpdatedAt >= HandOffTargets.IdleAfter)
        {
            // Nobody is playing here: the session reloads wherever it is next used. Moving it would only add its reload
            // to the silos that take the playing sessions, while they run those sessions' turns.
            DeactivateOnIdle();
            return;
        }
        _handingOff = true;
        if (_pump is { IsCompleted: false } pump) await Task.WhenAny(pump, Task.Delay(turnLimit));
        // Past the limit the move cancels the turn, which stays queued and runs again there, as a plain deactivation would.
        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        MigrateOnIdle();
    }
}
