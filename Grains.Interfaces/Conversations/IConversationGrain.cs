namespace Loom.Conversations;

/// <summary>
/// The OpenAI-compatible view of one session (key: the session id from <see cref="ConversationIds.SessionId"/>). Clients
/// resend the whole conversation on every request; this grain matches it against the session's timeline and decides
/// what the request means (a new turn, a retry, a regenerate, an edit of the past). Requests of one conversation are
/// handled one at a time, so two copies of the same request never make two turns.
/// </summary>
public interface IConversationGrain : IGrainWithStringKey
{
    /// <summary>Creates a named session on first use (owned by the caller, playing the request's world), or checks that the caller
    /// owns or joined a session given by id; either must play the request's world.</summary>
    Task<ConversationTarget> Open(ConversationRequest request);

    /// <summary>Maps the conversation onto the session and queues (or finds) the turn that answers it.</summary>
    Task<ConversationStep> Continue(ConversationRequest request);
}
