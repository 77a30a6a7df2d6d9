using Loom.Memory;
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
    public void Instruction_for_a_narrator_lists_the_turns()
    {
        var text = _summarizer.BuildInstruction([new TurnText(3, "I run.", "You run.")]);
        Assert.Contains("Turn 3\nPlayer: I run.\nNarrator: You run.", text);
    }
}
