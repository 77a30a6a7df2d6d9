using Loom.Conversations;
using Loom.Timeline;
using Loom.Turns;

namespace Loom.Tests.OpenAi;

/// <summary>A regenerate that failed before the wait began reads as the old reply: the alternatives count tells.</summary>
public sealed class ConversationStepTests
{
    private static readonly ConversationStep Regenerate = new() { SessionId = "s", TurnId = "t-1", Action = ConversationAction.Regenerated, AlternativesAfter = 3 };

    private static TurnView Turn(TurnStatus status, int alternatives) => new()
    {
        TurnId = "t-1",
        Input = "I knock.",
        Status = status,
        Alternatives = alternatives == 1 ? null : new TurnAlternativesView { Count = alternatives, Chosen = alternatives },
    };

    [Fact]
    public void The_old_reply_after_a_failed_regenerate_is_not_the_answer()
    {
        Assert.False(Regenerate.IsAnswer(Turn(TurnStatus.Completed, 2)));
        Assert.True(Regenerate.IsAnswer(Turn(TurnStatus.Completed, 3)));
        // A failed or unfinished turn is reported as such by the caller.
        Assert.True(Regenerate.IsAnswer(Turn(TurnStatus.Failed, 2)));
        Assert.True(Regenerate.IsAnswer(Turn(TurnStatus.Running, 2)));
    }

    [Fact]
    public void Other_steps_take_the_turn_as_it_is()
    {
        var submitted = Regenerate with { Action = ConversationAction.Submitted, AlternativesAfter = null };
        Assert.True(submitted.IsAnswer(Turn(TurnStatus.Completed, 1)));
    }
}
