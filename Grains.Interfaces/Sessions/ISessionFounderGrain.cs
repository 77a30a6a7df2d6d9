namespace Loom.Sessions;

/// <summary>
/// Creates sessions under fresh ids (stateless worker on the calling silo): the session's rows are written and the
/// session activates on its first use. Call it through <see cref="NewSession.CreateAsync"/>.
/// </summary>
public interface ISessionFounderGrain : IGrainWithIntegerKey
{
    /// <summary>Creates session <paramref name="sessionId"/>, an id no session has had; durable when it answers.</summary>
    Task<SessionInfo> Create(string sessionId, SessionSpec spec);
}
