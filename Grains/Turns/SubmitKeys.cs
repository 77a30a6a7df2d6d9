namespace Loom.Turns;

/// <summary>
/// What the <c>Idempotency-Key</c> of a submit names. In a shared session every member's client picks its keys on its
/// own, so a member's key is kept under the member: two clients that both count "1", "2", ... never answer each other's
/// turns. The owner's key is kept as sent, so a session that became shared still knows a retry of a submit made before.
/// </summary>
public static class SubmitKeys
{
    // Keys are visible ASCII (the gateway checks), so the separator cannot occur in a member id's scope by accident.
    private const char Separator = '\u001f';

    /// <summary>The key the session files the turn under, or null without one.</summary>
    public static string? Of(TurnSubmission submission, string ownerId) =>
        submission is { IdempotencyKey: { } key, Speaker: { } speaker } && !string.Equals(speaker, ownerId, StringComparison.Ordinal)
            ? string.Concat(speaker, Separator.ToString(), key)
            : submission.IdempotencyKey;

    /// <summary>
    /// Whether <paramref name="submission"/> repeats the turn its key already names (the same input), rather than reusing
    /// the key for a new one. A member renamed since sent the same words under another name.
    /// </summary>
    public static bool IsRetry(TurnSubmission submission, TurnView seen) =>
        string.Equals(seen.Input, submission.Input, StringComparison.Ordinal)
        || (submission.Words is { } words && string.Equals(seen.Speaker, submission.Speaker, StringComparison.Ordinal)
            && seen.Input.EndsWith(string.Concat(": ", words), StringComparison.Ordinal));
}
