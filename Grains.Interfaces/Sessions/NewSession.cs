using Orleans.Runtime;

namespace Loom.Sessions;

/// <summary>
/// Creates a session under an id minted for it a moment ago. No row can exist for such an id, so the session's
/// activation skips reading one: the create's only storage read. Orleans hands the activating call's request context
/// to <c>OnActivateAsync</c>; the marker names the id, so the grains the new session calls while it is created
/// (world, owner) never take it for theirs. Should an id ever collide, the session's first write expects no row and
/// is refused, so nothing stored is overwritten.
/// </summary>
public static class NewSession
{
    private const string ContextKey = "loom.new-session";

    public static async Task<SessionInfo> CreateAsync(IGrainFactory grains, string sessionId, SessionSpec spec)
    {
        RequestContext.Set(ContextKey, sessionId);
        try
        {
            return await grains.GetGrain<ISessionGrain>(sessionId).Create(spec);
        }
        finally
        {
            RequestContext.Remove(ContextKey);
        }
    }

    /// <summary>True while the call that activates <paramref name="sessionId"/> is its create under a fresh id.</summary>
    public static bool IsBeingCreated(string sessionId) =>
        RequestContext.Get(ContextKey) is string marked && string.Equals(marked, sessionId, StringComparison.Ordinal);
}
