using Loom.Errors;
using Loom.Turns;

namespace Loom.Conversations;

/// <summary>What to do with a resent conversation, decided from the session's live timeline.</summary>
public sealed record ConversationPlan
{
    public required ConversationAction Action { get; init; }
    /// <summary>The user message that becomes (or already is) the turn's input.</summary>
    public required string Input { get; init; }
    /// <summary>Roll back to this seq first (Regenerated, Rewound).</summary>
    public int? RollbackToSeq { get; init; }
    /// <summary>The queued or running turn that already answers this request (Attached).</summary>
    public string? AttachTurnId { get; init; }
}

/// <summary>
/// Matches an OpenAI-style conversation (user/assistant pairs ending with a user message) against the session's live
/// turns: the n-th user message is turn n's input and the n-th assistant message its narrative. Pure: no grain calls.
/// <list type="bullet">
/// <item>all earlier pairs match and the session has nothing more: a new turn;</item>
/// <item>... and the newest turn is still queued or running with this input: the same request again (attach);</item>
/// <item>the client holds fewer pairs than the session: it dropped later turns (regenerate, or an edit that truncated
/// the conversation), so the session rolls back to the last common turn and plays the input;</item>
/// <item>an earlier pair differs while later pairs follow it, or the client holds replies LOOM never narrated: the
/// engine cannot adopt text it did not narrate, so the request is refused (409 <c>conversation_diverged</c>).</item>
/// </list>
/// System and developer messages, and assistant messages before the first user message (a front end's greeting), are
/// not story turns and are ignored.
/// </summary>
public static class ConversationPlanner
{
    /// <param name="ownerId">In a shared session, the client's owner: only their own turns are the client's conversation
    /// (other players' turns are story the client never sent), and their turns are never rolled back from here.</param>
    /// <param name="ownsSession">False for a member playing someone else's session: the turns without a speaker (the
    /// owner's, from before it was shared) are then others' turns too.</param>
    public static ConversationPlan Plan(IReadOnlyList<ConversationMessage> messages, IReadOnlyList<TurnView> liveTurns, string? ownerId = null,
        bool ownsSession = true)
    {
        var (pairs, input) = Pairs(messages);
        bool Own(TurnView t) => ownerId is null || t.Speaker == ownerId || (ownsSession && t.Speaker is null);
        var own = liveTurns.Where(Own).ToList();
        var shared = own.Count != liveTurns.Count;
        // Failed turns never reached the client as a reply; they are not part of the conversation.
        var narrated = own.Where(t => t.Status == TurnStatus.Completed).ToList();
        var pending = own.Where(t => !t.Status.IsFinished()).ToList();

        var common = 0;
        while (common < pairs.Count && common < narrated.Count && Same(pairs[common], narrated[common])) common++;

        if (common < pairs.Count)
        {
            var position = common < narrated.Count
                ? $"Reply {common + 1} of the conversation differs from turn {narrated[common].Seq} of the story"
                : $"The conversation holds {pairs.Count} replies but the story has only {narrated.Count}";
            throw Problems.Conflict("conversation_diverged",
                $"{position}. LOOM can rewind the story but cannot adopt text it did not narrate: delete the messages after the " +
                "last one LOOM wrote (or after the one you edited) and send again, or name a new session.");
        }

        if (common == narrated.Count)
        {
            if (pending.Count > 0 && Normalize(InputOf(pending[^1])) == Normalize(input)
                && (shared ? pending[^1].Seq > LastSeq(narrated) : pending[^1].Seq == LastSeq(narrated) + 1))
            {
                return new ConversationPlan { Action = ConversationAction.Attached, Input = input, AttachTurnId = pending[^1].TurnId };
            }
            return new ConversationPlan { Action = ConversationAction.Submitted, Input = input };
        }

        // The client is behind the story: everything after the last common turn goes (kept as retconned turns). In a shared
        // session only from the client's first dropped turn on: others' turns before it are not the client's to drop.
        var toSeq = shared ? narrated[common].Seq - 1 : common == 0 ? 0 : narrated[common - 1].Seq;
        if (shared && liveTurns.Any(t => t.Seq > toSeq && !Own(t)))
        {
            throw Problems.Conflict("conversation_diverged",
                "Other players' turns follow the point this conversation goes back to, and LOOM does not roll back their turns from an " +
                "OpenAI-compatible client: send the conversation as the story has it, or roll back with POST /api/sessions/{id}/rollback.");
        }
        var regenerate = common == narrated.Count - 1 && Normalize(InputOf(narrated[common])) == Normalize(input);
        return new ConversationPlan
        {
            Action = regenerate ? ConversationAction.Regenerated : ConversationAction.Rewound,
            Input = input,
            RollbackToSeq = toSeq,
        };
    }

    private static int LastSeq(List<TurnView> narrated) => narrated.Count > 0 ? narrated[^1].Seq : 0;

    /// <summary>User/assistant pairs before the last user message, and that message.</summary>
    public static (List<(string User, string Assistant)> Pairs, string Input) Pairs(IReadOnlyList<ConversationMessage> messages)
    {
        // Consecutive messages of one role are one message (some front ends split a turn).
        var story = new List<(string Role, string Text)>();
        foreach (var m in messages)
        {
            if (m.Role is not ("user" or "assistant")) continue;
            if (story.Count == 0 && m.Role == "assistant") continue; // a greeting before the story starts
            if (story.Count > 0 && story[^1].Role == m.Role) story[^1] = (m.Role, story[^1].Text + "\n\n" + m.Content);
            else story.Add((m.Role, m.Content));
        }
        if (story.Count == 0 || story[^1].Role != "user")
        {
            throw Problems.Invalid("messages", "messages must end with a user message: it is the turn's input.");
        }
        var pairs = new List<(string, string)>();
        for (var i = 0; i + 1 < story.Count; i += 2) pairs.Add((story[i].Text, story[i + 1].Text));
        return (pairs, story[^1].Text);
    }

    private static bool Same((string User, string Assistant) pair, TurnView turn) =>
        Normalize(pair.User) == Normalize(InputOf(turn)) && Normalize(pair.Assistant) == Normalize(turn.Narrative);

    /// <summary>What the client sent for a turn: a shared session stores "{displayName}: {input}" for a turn with a speaker
    /// (display names hold no ':'), and the client never saw that prefix.</summary>
    public static string InputOf(TurnView turn) =>
        turn.Speaker is not null && turn.Input.IndexOf(": ", StringComparison.Ordinal) is var at and >= 0 ? turn.Input[(at + 2)..] : turn.Input;

    /// <summary>Clients trim and change line endings; neither is an edit.</summary>
    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).Trim();
}
