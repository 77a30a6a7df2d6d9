using Loom.Conversations;
using Loom.Errors;
using Loom.Turns;

namespace Loom.Tests.OpenAi;

/// <summary>How a resent conversation maps onto the session's live timeline (pure rules, no grains).</summary>
public sealed class ConversationPlannerTests
{
    private static ConversationMessage User(string text) => new() { Role = "user", Content = text };
    private static ConversationMessage Assistant(string text) => new() { Role = "assistant", Content = text };

    private static TurnView Turn(int seq, string input, string narrative, TurnStatus status = TurnStatus.Completed) =>
        new() { TurnId = $"t{seq}-{input.Length}", Seq = seq, Input = input, Narrative = narrative, Status = status };

    [Fact]
    public void A_new_message_after_the_whole_story_is_a_new_turn()
    {
        var plan = ConversationPlanner.Plan(
            [new() { Role = "system", Content = "ignored" }, User("a"), Assistant("A"), User("b")],
            [Turn(1, "a", "A")]);
        Assert.Equal(ConversationAction.Submitted, plan.Action);
        Assert.Equal("b", plan.Input);
        Assert.Null(plan.RollbackToSeq);
    }

    [Fact]
    public void The_same_request_while_its_turn_runs_attaches_to_it()
    {
        var running = Turn(2, "b", "", TurnStatus.Running);
        var plan = ConversationPlanner.Plan([User("a"), Assistant("A"), User("b")], [Turn(1, "a", "A"), running]);
        Assert.Equal(ConversationAction.Attached, plan.Action);
        Assert.Equal(running.TurnId, plan.AttachTurnId);
    }

    [Fact]
    public void The_story_minus_its_last_reply_is_a_regenerate_and_a_changed_last_message_rewinds()
    {
        List<TurnView> story = [Turn(1, "a", "A"), Turn(2, "b", "B")];
        var regenerate = ConversationPlanner.Plan([User("a"), Assistant("A"), User("b")], story);
        Assert.Equal(ConversationAction.Regenerated, regenerate.Action);
        Assert.Equal(1, regenerate.RollbackToSeq);

        var edit = ConversationPlanner.Plan([User("a"), Assistant("A"), User("b, but better")], story);
        Assert.Equal(ConversationAction.Rewound, edit.Action);
        Assert.Equal(1, edit.RollbackToSeq);

        var fromStart = ConversationPlanner.Plan([User("something else")], story);
        Assert.Equal(ConversationAction.Rewound, fromStart.Action);
        Assert.Equal(0, fromStart.RollbackToSeq);
    }

    [Fact]
    public void Greetings_failed_turns_whitespace_and_split_messages_do_not_count_as_changes()
    {
        var plan = ConversationPlanner.Plan(
            [Assistant("Welcome, traveller!"), User("a"), Assistant("  A\r\n"), User("b"), User("c")],
            [Turn(1, "a", "A"), Turn(2, "x", "", TurnStatus.Failed)]);
        Assert.Equal(ConversationAction.Submitted, plan.Action);
        Assert.Equal("b\n\nc", plan.Input);
    }

    [Fact]
    public void An_edited_reply_with_messages_after_it_or_replies_LOOM_never_wrote_are_refused()
    {
        List<TurnView> story = [Turn(1, "a", "A"), Turn(2, "b", "B")];
        var edited = Assert.Throws<LoomProblemException>(() =>
            ConversationPlanner.Plan([User("a"), Assistant("A, rewritten"), User("b"), Assistant("B"), User("c")], story));
        Assert.Equal((409, "conversation_diverged"), (edited.Status, edited.Code));

        var foreign = Assert.Throws<LoomProblemException>(() =>
            ConversationPlanner.Plan([User("a"), Assistant("A"), User("b"), Assistant("B"), User("c"), Assistant("C"), User("d")], story));
        Assert.Equal(409, foreign.Status);

        var noUser = Assert.Throws<LoomProblemException>(() => ConversationPlanner.Plan([User("a"), Assistant("A")], story));
        Assert.Equal(400, noUser.Status);
    }

    [Fact]
    public void In_a_shared_session_the_conversation_is_the_owners_own_turns_and_others_turns_are_never_rolled_back()
    {
        static TurnView By(TurnView turn, string speaker, string name) => turn with { Speaker = speaker, Input = $"{name}: {turn.Input}" };
        List<TurnView> story = [Turn(1, "a", "A"), By(Turn(2, "b", "B"), "alice", "Aria"), By(Turn(3, "x", "X"), "bob", "Bran")];

        // Bob's turn 3 is story the client never sent: alice's next message is a new turn, not a rewind.
        var next = ConversationPlanner.Plan([User("a"), Assistant("A"), User("b"), Assistant("B"), User("c")], story, "alice");
        Assert.Equal(ConversationAction.Submitted, next.Action);

        // Her queued turn (after Bob's) answers the same request again.
        var queued = By(Turn(4, "c", "", TurnStatus.Queued), "alice", "Aria");
        Assert.Equal(ConversationAction.Attached,
            ConversationPlanner.Plan([User("a"), Assistant("A"), User("b"), Assistant("B"), User("c")], [.. story, queued], "alice").Action);

        // Regenerating her turn 2 would drop Bob's turn 3: refused, nothing is rolled back.
        var regenerate = Assert.Throws<LoomProblemException>(() => ConversationPlanner.Plan([User("a"), Assistant("A"), User("b")], story, "alice"));
        Assert.Equal("conversation_diverged", regenerate.Code);
    }

    [Fact]
    public void A_member_s_conversation_is_their_own_turns_and_the_owner_s_solo_turns_are_others()
    {
        static TurnView By(TurnView turn, string speaker, string name) => turn with { Speaker = speaker, Input = $"{name}: {turn.Input}" };
        List<TurnView> story = [Turn(1, "a", "A"), By(Turn(2, "x", "X"), "bob", "Bran")];

        // Turn 1 has no speaker (the owner played it before sharing): for bob it is not his, so his one pair matches turn 2.
        var next = ConversationPlanner.Plan([User("x"), Assistant("X"), User("y")], story, "bob", ownsSession: false);
        Assert.Equal(ConversationAction.Submitted, next.Action);
        // For the owner, the same turn 1 is her own.
        Assert.Equal(ConversationAction.Submitted,
            ConversationPlanner.Plan([User("a"), Assistant("A"), User("b")], story, "alice").Action);

        // Regenerating his latest reply rolls back to the turn before it (the owner's turn 1 stays).
        var regenerate = ConversationPlanner.Plan([User("x")], story, "bob", ownsSession: false);
        Assert.Equal((ConversationAction.Regenerated, 1), (regenerate.Action, regenerate.RollbackToSeq));
        // But once the owner plays after him, bob cannot rewind over her turn, even one without a speaker.
        var later = Assert.Throws<LoomProblemException>(() =>
            ConversationPlanner.Plan([User("x")], [.. story, Turn(3, "c", "C")], "bob", ownsSession: false));
        Assert.Equal("conversation_diverged", later.Code);
    }
}
