namespace Loom.Sessions;

/// <summary>
/// Creates a session under an id minted for it a moment ago. Nothing is activated: the founder writes the session's
/// rows and the session reads them when it is first used (see <see cref="ISessionFounderGrain"/>).
/// </summary>
public static class NewSession
{
    public static Task<SessionInfo> CreateAsync(IGrainFactory grains, string sessionId, SessionSpec spec) =>
        grains.GetGrain<ISessionFounderGrain>(0).Create(sessionId, spec);
}
