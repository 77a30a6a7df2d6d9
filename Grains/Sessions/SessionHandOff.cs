using Microsoft.Extensions.Logging;
using Orleans.Runtime;

namespace Loom.Sessions;

/// <summary>Silo-internal: a session leaving a silo that stops gracefully (see <see cref="SessionHandOff"/>).</summary>
[Alias("Loom.Sessions.ISessionHandOffGrain")]
public interface ISessionHandOffGrain : IGrainWithStringKey
{
    /// <summary>Starts no further turn, waits up to <paramref name="turnLimit"/> for the running one, then moves to <paramref name="target"/>.</summary>
    [Alias("HandOff"), AlwaysInterleave] // reads and submits go on while the running turn finishes (submits queue for the next silo)
    Task HandOff(SiloAddress target, TimeSpan turnLimit);
}

/// <summary>
/// On a graceful stop (SIGTERM, a rolling upgrade), before the silo tells the cluster it is leaving, each session on it
/// finishes its running turn and then migrates to another active silo. Without this, Orleans' shutdown deactivates
/// every session at once: a turn half narrated is cut off and narrated again from the start elsewhere, so its player
/// waits for two narrations plus the move. Queued turns stay queued and run on the new activation. Bounded by a
/// share of the shutdown budget; what is not handed off by then is deactivated as before.
/// </summary>
public sealed partial class SessionHandOff(
    LocalSessions sessions,
    IGrainFactory grains,
    IClusterMembershipService membership,
    ILocalSiloDetails silo,
    TimeProvider time,
    TimeSpan budget,
    bool silosWarmUp,
    ILogger<SessionHandOff> logger) : ILifecycleParticipant<ISiloLifecycle>
{
    // Active stops first: the silo is still Active in the membership table (so its stateless LLM workers still serve the
    // running turns) and nothing has started deactivating grains yet.
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(SessionHandOff), ServiceLifecycleStage.Active, _ => Task.CompletedTask, HandOffAsync);

    private async Task HandOffAsync(CancellationToken cancellationToken)
    {
        var targets = HandOffTargets.Choose(membership.CurrentSnapshot.Members.Values, silo.SiloAddress, time.GetUtcNow().UtcDateTime, leaveOutNewest: !silosWarmUp);
        var ids = sessions.Snapshot();
        if (targets.Count == 0 || ids.Count == 0) return; // alone (embedded, or the last silo): nowhere to go
        var started = time.GetTimestamp();
        // Spread over the others; a turn's remaining narration gets most of the budget, the move the rest.
        var turnLimit = budget * 0.8;
        var moves = ids.Select((id, i) => grains.GetGrain<ISessionHandOffGrain>(id).HandOff(targets[i % targets.Count], turnLimit));
        try
        {
            await Task.WhenAll(moves).WaitAsync(budget, cancellationToken);
            LogHandedOff(logger, ids.Count, targets.Count, time.GetElapsedTime(started).TotalMilliseconds);
        }
        catch (Exception ex)
        {
            LogHandOffIncomplete(logger, ex, ids.Count, sessions.Count, budget.TotalSeconds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Handed {Sessions} sessions off to {Silos} other silos in {Milliseconds:F0} ms (those idle for a minute are deactivated, not moved)")]
    private static partial void LogHandedOff(ILogger logger, int sessions, int silos, double milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hand-off of {Sessions} sessions incomplete within {Seconds:F1} s ({Left} still here); the rest are deactivated by the shutdown")]
    private static partial void LogHandOffIncomplete(ILogger logger, Exception ex, int sessions, int left, double seconds);
}
