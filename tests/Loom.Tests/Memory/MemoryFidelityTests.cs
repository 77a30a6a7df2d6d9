using Loom.Memory;
using Xunit.Abstractions;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class MemoryFidelityTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Planted_facts_are_recalled_in_at_least_95_percent_of_asking_turns_under_a_2000_token_budget()
    {
        var options = Options();
        var turns = FidelityStory.Build(500, 50);
        var result = await FidelityStory.RunAsync(NewMemory(options), new RollingSummarizer(options), turns, 2000);

        output.WriteLine(FidelityStory.Describe(result));
        foreach (var miss in result.Missed) output.WriteLine($"missed fact {miss.Index} ({miss.EntityId}) planted {miss.PlantedAt}, asked {miss.AskedAt}");
        Console.WriteLine(FidelityStory.Describe(result));
        Assert.Equal(50, result.Asked);
        Assert.True(result.MaxTokens <= 2000);
        Assert.True(result.Entities > 400, $"the story should build a sizeable memory, got {result.Entities}");
        Assert.True(result.Share >= 0.95, FidelityStory.Describe(result));
    }

    [Fact]
    public void The_scripted_story_is_deterministic()
    {
        Assert.Equal(FidelityStory.Build().Select(t => t.Answer), FidelityStory.Build().Select(t => t.Answer));
    }
}
