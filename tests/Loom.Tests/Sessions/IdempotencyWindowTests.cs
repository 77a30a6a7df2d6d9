using Loom.Sessions;
using Loom.Turns;

namespace Loom.Tests.Sessions;

public sealed class IdempotencyWindowTests
{
    [Fact]
    public void Keys_come_back_with_their_ordinals_and_the_window_keeps_the_newest()
    {
        var window = new IdempotencyWindow();
        for (var ordinal = 0L; ordinal < 300; ordinal++) window.Add($"key-{ordinal}", ordinal * 3 + 1_000_000, capacity: 128);

        var entries = window.Entries();
        Assert.Equal(128, entries.Count);
        Assert.Equal(Enumerable.Range(172, 128).Select(i => i * 3L + 1_000_000), entries.Select(e => e.Ordinal));
        Assert.Equal([299 * 3L + 1_000_000], window.Candidates("key-299"));
        Assert.Empty(window.Candidates("key-10")); // dropped from the window
        // About five bytes a key (4 of hash, a one-byte gap), where a list of entries took ~18.
        Assert.InRange(window.Packed.Length, 128 * 5, 128 * 5 + 8);
    }

    [Fact]
    public void A_window_wider_than_the_stack_buffer_keeps_every_key_and_large_gaps()
    {
        // 1,000 keys (the pooled path) with ordinal gaps that need up to nine varint bytes.
        var window = new IdempotencyWindow();
        var ordinals = Enumerable.Range(0, 1_000).Select(i => i < 500 ? i * 7L : (1L << 40) + i * (1L << 22)).ToList();
        for (var i = 0; i < ordinals.Count; i++) window.Add($"k{i}", ordinals[i], capacity: 1_000);

        Assert.Equal(ordinals, window.Entries().Select(e => e.Ordinal));
        Assert.Equal([ordinals[999]], window.Candidates("k999"));
        Assert.Equal([ordinals[0]], window.Candidates("k0"));
        window.Add("again", ordinals[600], capacity: 1_000); // taken back from the 600th on
        Assert.Equal(ordinals.Take(600).Append(ordinals[600]), window.Entries().Select(e => e.Ordinal));
        Assert.Empty(window.Candidates("k700"));
    }

    [Fact]
    public void A_turn_taken_back_leaves_no_key_behind_its_ordinal()
    {
        var window = new IdempotencyWindow();
        window.Add("a", 1, 16);
        window.Add("b", 2, 16);
        // Ordinal 2 was given back (its accept did not land) and is handed to the next turn.
        window.Add("c", 2, 16);
        Assert.Empty(window.Candidates("b"));
        Assert.Equal([2L], window.Candidates("c"));
        Assert.Equal([1L], window.Candidates("a"));
    }

    [Fact]
    public void Keys_stored_by_older_builds_are_folded_into_the_window_by_the_next_submit()
    {
        var state = new SessionState
        {
            RecentKeys =
            [
                new IdempotencyEntry { Key = "oldest", TurnId = TurnIds.New(3) },
                new IdempotencyEntry { KeyHash = IdempotencyEntry.Hash("older"), Ordinal = 4 },
            ],
            NextOrdinal = 5,
        };
        var record = new TurnRecord { Ordinal = 5, IdempotencyKey = "new", Turn = new TurnView { TurnId = TurnIds.New(5), Seq = 5, Input = "x" } };

        state.Enqueue(record, idempotencyWindow: 128);

        Assert.Empty(state.RecentKeys);
        Assert.Equal([3L], state.Keys.Candidates("oldest"));
        Assert.Equal([4L], state.Keys.Candidates("older"));
        Assert.Equal([5L], state.Keys.Candidates("new"));
    }
}
