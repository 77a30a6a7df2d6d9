using Loom.Interventions;
using Loom.Turns;

namespace Loom.Tests.Interventions;

/// <summary>What a committed turn's markers leave in the session's audit log.</summary>
public sealed class InterventionAuditTests
{
    private static TurnView Turn(TurnStatus status) => new()
    {
        TurnId = "t-1",
        Seq = 4,
        Input = "I wait. [META: playtest 9] (OOC: hi) [TONE: grim]",
        Status = status,
        Interventions =
        [
            new Intervention { Type = InterventionParser.Meta, Content = "playtest 9", Status = "noted" },
            new Intervention { Type = InterventionParser.Ooc, Content = "hi", Status = "noted" },
            new Intervention { Type = InterventionParser.Tone, Content = "grim", Status = "applied" },
        ],
    };

    [Fact]
    public void A_completed_turn_audits_every_marker()
    {
        Assert.Equal(["meta", "ooc", "tone"], InterventionPlanner.AuditOf(Turn(TurnStatus.Completed), "alice").Select(a => a.Action));
    }

    [Fact]
    public void A_failed_turn_still_audits_its_meta_note_which_has_no_other_place_and_nothing_else()
    {
        var audit = Assert.Single(InterventionPlanner.AuditOf(Turn(TurnStatus.Failed), "alice"));
        Assert.Equal(("meta", "playtest 9", 4, "alice"), (audit.Action, audit.Details["content"], audit.Seq, audit.Actor));
    }

    [Fact]
    public void An_unfinished_turn_audits_nothing()
    {
        Assert.Empty(InterventionPlanner.AuditOf(Turn(TurnStatus.Running), "alice"));
    }
}
