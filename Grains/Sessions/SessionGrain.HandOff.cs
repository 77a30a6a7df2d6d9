using Orleans.Runtime.Placement;

namespace Loom.Sessions;

// Leaving a stopping silo without cutting off the running turn (see SessionHandOff).
public sealed partial class SessionGrain : ISessionHandOffGrain
{
    /// <summary>Set when this silo stops: the pump starts no further turn; queued turns run after the move.</summary>
    private bool _handingOff;

    public async Task HandOff(SiloAddress target, TimeSpan turnLimit)
    {
        _handingOff = true;
        if (_pump is { IsCompleted: false } pump) await Task.WhenAny(pump, Task.Delay(turnLimit));
        // Past the limit the move cancels the turn, which stays queued and runs again there, as a plain deactivation would.
        RequestContext.Set(IPlacementDirector.PlacementHintKey, target);
        MigrateOnIdle();
    }
}
