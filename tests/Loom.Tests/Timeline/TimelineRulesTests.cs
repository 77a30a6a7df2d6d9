using Loom.Timeline;

namespace Loom.Tests.Timeline;

public class TimelineRulesTests
{
    [Theory]
    [InlineData("Mira never left | she hid in the mill", "Mira never left", "she hid in the mill")]
    [InlineData("Mira never left because she hid in the mill", "Mira never left", "because she hid in the mill")]
    [InlineData("米拉从未离开｜她一直躲在磨坊里", "米拉从未离开", "她一直躲在磨坊里")]
    [InlineData("米拉从未离开，因为她一直躲在磨坊里", "米拉从未离开", "因为她一直躲在磨坊里")]
    [InlineData("the bridge was never out", "the bridge was never out", null)]
    [InlineData("character: Mira: mood=calm | the fight was a dream", "character: Mira: mood=calm", "the fight was a dream")]
    public void Retcon_text_splits_change_and_justification(string content, string change, string? why) =>
        Assert.Equal((change, why), RetconText.Split(content));

    [Fact]
    public void World_policy_is_narrowed_never_widened_by_the_session()
    {
        var world = new Dictionary<string, string> { ["RetconAllowed"] = "no", ["minJustificationChars"] = "15" };
        var policy = EffectivePolicy.Combine(world, new InterventionPolicy { RetconAllowed = true, RequireJustification = true });
        Assert.Equal(new EffectivePolicy(true, false, true, 15), policy);

        var closed = EffectivePolicy.Combine(null, new InterventionPolicy { InterventionsAllowed = false });
        Assert.False(closed.RetconAllowed);
        Assert.Equal(new EffectivePolicy(true, true, false, 0), EffectivePolicy.Combine(null, null));
    }

    [Fact]
    public void Required_justification_defaults_to_a_minimum_length()
    {
        var policy = EffectivePolicy.Combine(null, new InterventionPolicy { RequireJustification = true });
        Assert.NotNull(policy.JustificationProblem("short"));
        Assert.NotNull(policy.JustificationProblem(null));
        Assert.Null(policy.JustificationProblem("long enough, really"));
        Assert.Null(EffectivePolicy.Combine(null, null).JustificationProblem(null));
    }
}
