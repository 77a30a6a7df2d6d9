namespace Loom;

/// <summary>A grain that can be asked about an id that names nothing (a probed id, a first write refused).</summary>
public interface IMayHoldNothing
{
    /// <summary>True while the activation holds nothing worth keeping in memory.</summary>
    bool HoldsNothing { get; }
}

/// <summary>
/// Retires activations that hold nothing, so ids probed by a client do not keep empty activations in memory until idle
/// collection (docs/security.md, bounded work). Such an activation stays until nobody asked it for
/// <see cref="Linger"/>, so the calls already queued for it or on their way are answered by it. Deactivating at once
/// forwarded them to a new activation that went as well, and after Orleans' forward limit they were rejected: a burst
/// of reads of one unknown id answered 503 instead of 404.
/// </summary>
public static class EmptyActivations
{
    /// <summary>How long an empty activation stays after it was last asked. A burst of calls arrives within it; a
    /// prober of N distinct ids a second keeps about N × this many activations.</summary>
    public static readonly TimeSpan Linger = TimeSpan.FromMilliseconds(250);

    /// <summary>Grain-level call filter body: after each call (failed ones too) an empty activation retires.</summary>
    public static async Task InvokeAsync<TGrain>(IIncomingGrainCallContext context, TGrain grain)
        where TGrain : IGrainBase, IMayHoldNothing
    {
        try
        {
            await context.Invoke();
        }
        finally
        {
            Retire(grain);
        }
    }

    /// <summary>
    /// Deactivates the activation once it was not asked for <see cref="Linger"/>, if it still holds nothing then (a
    /// create in between keeps it). One pending retirement per activation; call it on the activation's own scheduler.
    /// </summary>
    public static void Retire<TGrain>(TGrain grain) where TGrain : IGrainBase, IMayHoldNothing
    {
        if (!grain.HoldsNothing) return;
        var context = grain.GrainContext;
        if (context.GetComponent<Retirement>() is { } pending)
        {
            pending.Timer?.Change(Linger, Timeout.InfiniteTimeSpan); // still being asked: linger from this call on
            return;
        }
        var retirement = new Retirement();
        context.SetComponent(retirement);
        retirement.Timer = grain.RegisterGrainTimer(static (state, _) =>
        {
            var (grain, retirement) = state;
            retirement.Timer?.Dispose();
            grain.GrainContext.SetComponent<Retirement>(null);
            if (grain.HoldsNothing) grain.DeactivateOnIdle();
            return Task.CompletedTask;
        }, (grain, retirement), new GrainTimerCreationOptions(Linger, Timeout.InfiniteTimeSpan));
    }

    /// <summary>The pending retirement of one activation, kept as a component of its grain context.</summary>
    private sealed class Retirement
    {
        public IGrainTimer? Timer { get; set; }
    }
}
