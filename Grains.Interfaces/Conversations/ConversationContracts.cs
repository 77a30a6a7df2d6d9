using System.Security.Cryptography;
using System.Text;
using Loom.Security;
using Loom.Turns;

namespace Loom.Conversations;

/// <summary>One message of a chat conversation as an OpenAI-compatible client sends it (content already flattened to text).</summary>
[GenerateSerializer, Alias("loom.ConversationMessage")]
public sealed record ConversationMessage
{
    /// <summary>system, developer, user or assistant (others are refused by the gateway).</summary>
    [Id(0)] public required string Role { get; init; }
    [Id(1)] public required string Content { get; init; }
}

/// <summary>A chat request: who calls, which session (by the client's name for it), which world, and the whole conversation.</summary>
[GenerateSerializer, Alias("loom.ConversationRequest")]
public sealed record ConversationRequest
{
    [Id(0)] public required Caller Caller { get; init; }
    /// <summary>The client's name for the session (OpenAI <c>user</c> or <c>X-Loom-Session</c>).</summary>
    [Id(1)] public required string SessionName { get; init; }
    [Id(2)] public required string WorldId { get; init; }
    [Id(3)] public List<ConversationMessage> Messages { get; init; } = [];
    /// <summary>An existing session named by its id (<c>X-Loom-Session-Id</c>): one the caller owns or joined. Never
    /// created; <see cref="SessionName"/> is then that id.</summary>
    [Id(4)] public string? SessionId { get; init; }
    /// <summary>The gateway's deadline for this request (<see cref="Loom.Turns.TurnSubmission.NotAfter"/>): a copy that
    /// arrives later changes nothing.</summary>
    [Id(5)] public DateTime? NotAfter { get; init; }

    /// <summary>The conversation grain's key: the named session, or the session the caller's name derives to.</summary>
    public string ConversationKey => SessionId ?? ConversationIds.SessionId(Caller.OwnerId, SessionName);
}

/// <summary>The session a chat request plays, and whose authority the gateway reads it under (the owner's, for a member).</summary>
[GenerateSerializer, Alias("loom.ConversationTarget")]
public sealed record ConversationTarget
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public required string ActingOwnerId { get; init; }
}

/// <summary>What a chat request did to the session.</summary>
public enum ConversationAction
{
    /// <summary>The last user message became a new turn.</summary>
    Submitted,
    /// <summary>The same request arrived again while its turn was still queued or running: that turn answers it.</summary>
    Attached,
    /// <summary>The client asked for the last reply again: that turn was retconned and its input played again.</summary>
    Regenerated,
    /// <summary>The client dropped or edited later messages: the session rolled back to the common point, then played the input.</summary>
    Rewound,
}

/// <summary>The answer of <see cref="IConversationGrain.Continue"/>: the turn that answers the request.</summary>
[GenerateSerializer, Alias("loom.ConversationStep")]
public sealed record ConversationStep
{
    [Id(0)] public required string SessionId { get; init; }
    [Id(1)] public required string TurnId { get; init; }
    [Id(2)] public ConversationAction Action { get; init; }
    /// <summary>Set for <see cref="ConversationAction.Regenerated"/> and <see cref="ConversationAction.Rewound"/>.</summary>
    [Id(3)] public int? RolledBackToSeq { get; init; }
    /// <summary>A reply regenerated beside the old one: how many alternatives the turn has once the new one is in.</summary>
    [Id(4)] public int? AlternativesAfter { get; init; }

    /// <summary>
    /// Whether <paramref name="turn"/>, read once the step's turn finished, is the reply the step asked for. A failed
    /// regenerate leaves the turn as it was (completed, the old reply); a wait that began after that failure reads the
    /// old reply, and only the count of alternatives tells the two apart.
    /// </summary>
    public bool IsAnswer(TurnView turn) =>
        AlternativesAfter is not { } after || turn.Status != TurnStatus.Completed || (turn.Alternatives?.Count ?? 1) >= after;
}

public static class ConversationIds
{
    /// <summary>Longest client-chosen session name.</summary>
    public const int MaxNameLength = 200;

    /// <summary>
    /// The session a client's name stands for. Derived from the owner and the name, so the same name of two owners is two
    /// sessions (nobody reaches another's story by guessing a name) and no lookup table is needed; the "c" prefix keeps these
    /// apart from ids made by <c>POST /api/sessions</c>.
    /// </summary>
    public static string SessionId(string ownerId, string name)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(ownerId + "\n" + name));
        const string alphabet = "abcdefghijkmnpqrstuvwxyz23456789";
        var id = new StringBuilder("c", 21);
        for (var i = 0; i < 20; i++) id.Append(alphabet[digest[i] % alphabet.Length]);
        return id.ToString();
    }
}
