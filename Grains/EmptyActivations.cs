namespace Loom;

/// <summary>A grain that can be asked about an id that names nothing (a probed id, a first write refused).</summary>
public interface IMayHoldNothing
{
    /// <summary>True while the activation holds nothing worth keeping in memory.</summary>
    bool HoldsNothing { get; }
}

/// <summary>
/// Grain-level call filter body for <see cref="IMayHoldNothing"/> grains: after each call (failed ones too) an
/// activation that holds nothing goes once idle, so ids probed by a client do not keep empty activations in memory
/// until idle collection (docs/security.md, bounded work).
/// </summary>
public static class EmptyActivations
{
    public static async Task InvokeAsync<TGrain>(IIncomingGrainCallContext context, TGrain grain)
        where TGrain : IGrainBase, IMayHoldNothing
    {
        try
        {
            await context.Invoke();
        }
        finally
        {
            if (grain.HoldsNothing) grain.DeactivateOnIdle();
        }
    }
}
