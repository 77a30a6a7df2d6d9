using Loom.Memory;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

/// <summary>Retrieval says why it chose each entity (the context viewer's memory scores).</summary>
public class RetrievalScoresTests
{
    private static readonly Dictionary<(string, string), double> Weights = new()
    {
        [("name", "input")] = 3.0, [("name", "story")] = 1.0, [("bm25", "input")] = 1.5,
        [("vector", "input")] = 1.0, [("neighbour", "input")] = 0.5, [("recent", "memory")] = 0.6,
    };

    private static WorldMemory Harbor()
    {
        var memory = NewMemory();
        memory.Apply(
        [
            Upsert(EntityType.Character, "Mira", "a smuggler who runs salt past the customs house"),
            Upsert(EntityType.Character, "Tomas", "a harbor guard who owes Mira a favour"),
            Upsert(EntityType.Fact, "Silver key hiding place", "the silver key lies under the third stair of the lighthouse"),
            Upsert(EntityType.Event, "Storm", "a storm wrecked two fishing boats"),
        ], 1);
        return memory;
    }

    [Fact]
    public async Task Every_chosen_entity_comes_with_its_fused_rank_score_and_the_lists_that_proposed_it()
    {
        var retrieval = await Harbor().RetrieveAsync("I ask Mira where the silver key is.", "Tomas waved from the quay.", 2000);

        Assert.Equal(retrieval.EntityIds, retrieval.Scores.Select(s => s.EntityId));
        Assert.True(retrieval.Scores.Zip(retrieval.Scores.Skip(1)).All(p => p.First.Rank < p.Second.Rank && p.First.Score >= p.Second.Score));
        foreach (var score in retrieval.Scores)
        {
            // The fused score is exactly reciprocal rank fusion over the lists it names.
            var expected = score.Signals.Sum(s => Weights[(s.Signal, s.Query)] / (60 + s.Rank - 1));
            Assert.Equal(expected, score.Score, 5);
            // Each list at most once, in the order the lists are fused.
            var order = Weights.Keys.ToList();
            var positions = score.Signals.Select(s => order.IndexOf((s.Signal, s.Query))).ToList();
            Assert.Equal(positions.Order().Distinct(), positions);
        }

        var mira = retrieval.Scores.Single(s => s.EntityId == "character:mira");
        Assert.Equal(1, mira.Rank);
        var named = mira.Signals.Single(s => s.Signal == "name" && s.Query == "input");
        Assert.Equal((1, 1.0), (named.Rank, named.Score));
        var tomas = retrieval.Scores.Single(s => s.EntityId == "character:tomas");
        Assert.Contains(tomas.Signals, s => s.Signal == "name" && s.Query == "story");
        Assert.DoesNotContain(tomas.Signals, s => s.Signal == "name" && s.Query == "input");
        var key = retrieval.Scores.Single(s => s.EntityId == "fact:silver-key-hiding-place");
        Assert.True(key.Signals.Single(s => s.Signal == "bm25").Score > 0);
        Assert.InRange(key.Signals.Single(s => s.Signal == "vector").Score!.Value, 0.0001, 1.0);
        Assert.All(retrieval.Scores, s => Assert.Contains(s.Signals, x => x.Signal == "recent")); // four entities: all among the 12 most recent
    }

    [Fact]
    public async Task Nothing_retrieved_explains_nothing()
    {
        Assert.Empty((await NewMemory().RetrieveAsync("anything", "", 2000)).Scores);
        Assert.Empty((await Harbor().RetrieveAsync("anything", "", 1)).Scores);
    }
}
