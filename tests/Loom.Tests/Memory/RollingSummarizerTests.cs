using Loom.Memory;
using Loom.Text;
using static Loom.Tests.Memory.MemoryTestKit;

namespace Loom.Tests.Memory;

public class RollingSummarizerTests
{
    private readonly RollingSummarizer _summarizer = new(Options(o => { o.SummaryEveryTurns = 10; o.RecentWindowTurns = 6; }));

    [Theory]
    [InlineData(15, 0, null, null)]
    [InlineData(16, 0, 1, 10)]
    [InlineData(25, 10, null, null)]
    [InlineData(26, 10, 11, 20)]
    [InlineData(60, 10, 11, 20)] // behind: catch up one block per call
    public void Due_when_a_full_block_has_left_the_recent_window(int seq, int last, int? from, int? to)
    {
        var due = _summarizer.Due(seq, last);
        Assert.Equal(from, due?.FromSeq);
        Assert.Equal(to, due?.ToSeq);
    }

    [Fact]
    public void Extractive_summary_keeps_every_turn_in_order_within_the_limit()
    {
        var turns = Enumerable.Range(1, 10).Select(i => new TurnText(i, $"I look around {i}.",
            $"Turn {i} opens with Captain Reyes at pier {i}. The gulls cry. Waves slap the hull. Nothing else happens here at all, really.")).ToList();
        var summary = _summarizer.Summarize(turns);

        Assert.InRange(summary.Length, 100, 1200);
        var positions = Enumerable.Range(1, 10).Select(i => summary.IndexOf($"Turn {i} opens", StringComparison.Ordinal)).ToList();
        Assert.All(positions, p => Assert.True(p >= 0));
        Assert.Equal(positions.Order(), positions);
    }

    [Fact]
    public void Chinese_sentences_are_split_and_joined_without_spaces()
    {
        var summary = _summarizer.Summarize([new TurnText(1, "", "米拉来到码头。她在等一艘船！风很大。")]);
        Assert.Equal("米拉来到码头。她在等一艘船！风很大。", summary);
    }

    [Fact]
    public void Summary_op_is_deterministic_and_memory_knows_what_was_summarized()
    {
        var memory = NewMemory();
        var op = _summarizer.CreateOp(new SummaryRange(1, 10), "Mira reached the harbor.");
        var applied = memory.Apply([op], 16);
        Assert.Equal("summary:turns-1-10", applied[0].EntityId);
        Assert.Equal(10, memory.LastSummarizedSeq);
        memory.RollbackTo(15);
        Assert.Equal(0, memory.LastSummarizedSeq);
    }

    [Fact]
    public void The_live_summaries_follow_applies_deletes_rollbacks_and_a_reload()
    {
        // Summaries are kept in their own set (every turn asks for them): it must match a scan of all entities.
        var memory = NewMemory();
        memory.Apply([_summarizer.CreateOp(new SummaryRange(1, 10), "Mira reached the harbor."), Upsert(EntityType.Character, "Mira", "a smuggler")], 16);
        memory.Apply([_summarizer.CreateOp(new SummaryRange(11, 20), "The storm broke.")], 26);
        memory.Apply([Upsert(EntityType.Fact, "Tide", "high at dusk")], 27);
        Assert.Equal(20, memory.LastSummarizedSeq);
        Assert.Equal(["summary:turns-1-10", "summary:turns-11-20"], memory.Summaries().Select(s => s.EntityId).Order());
        Assert.Equal(memory.List(EntityType.Summary, null, 100).Select(s => s.EntityId), memory.Summaries().Select(s => s.EntityId).Order());

        memory.Apply([Delete("summary:turns-11-20")], 28);
        Assert.Equal((10, 1), (memory.LastSummarizedSeq, memory.Summaries().Count()));
        memory.RollbackTo(27); // the deletion is taken back
        Assert.Equal((20, 2), (memory.LastSummarizedSeq, memory.Summaries().Count()));

        var loaded = WorldMemory.Load(memory.AllShards().ToList(), new MemoryOptions(), TiktokenCounter.Instance, new HashingEmbeddingGenerator());
        Assert.Equal((20, 2), (loaded.LastSummarizedSeq, loaded.Summaries().Count()));
        memory.RollbackTo(15);
        Assert.Equal((0, 0), (memory.LastSummarizedSeq, memory.Summaries().Count()));
    }

    [Fact]
    public void Instruction_for_a_narrator_lists_the_turns()
    {
        var text = _summarizer.BuildInstruction([new TurnText(3, "I run.", "You run.")]);
        Assert.Contains("Turn 3\nPlayer: I run.\nNarrator: You run.", text);
    }
}
