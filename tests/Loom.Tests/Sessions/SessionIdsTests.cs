using Loom.Sessions;

namespace Loom.Tests.Sessions;

public sealed class SessionIdsTests
{
    private const string Alphabet = "23456789abcdefghijkmnpqrstuvwxyz";

    [Fact]
    public void An_id_is_s_then_26_characters_of_the_alphabet()
    {
        for (var i = 0; i < 1_000; i++)
        {
            var id = SessionIds.New();
            Assert.Equal(27, id.Length);
            Assert.Equal('s', id[0]);
            Assert.All(id[1..], c => Assert.Contains(c, Alphabet));
        }
    }

    [Fact]
    public void Ids_sort_in_the_order_they_were_minted_across_centuries()
    {
        // Times spread from the epoch to the year 2500: every position of the time part takes many values, so an
        // alphabet that does not sort as it counts (digits before letters) would break the order somewhere.
        var random = new Random(20261206);
        var end = new DateTimeOffset(2500, 1, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeMilliseconds();
        var times = Enumerable.Range(0, 5_000).Select(_ => random.NextInt64(0, end)).Distinct().Order().ToList();

        var ids = times.Select(ms => SessionIds.New(DateTimeOffset.FromUnixTimeMilliseconds(ms))).ToList();

        Assert.Equal(ids.Order(StringComparer.Ordinal), ids);
    }

    [Fact]
    public void Ids_a_millisecond_apart_sort_by_time_whatever_their_random_part()
    {
        var t = DateTimeOffset.UtcNow;
        for (var i = 0; i < 2_000; i++)
        {
            var earlier = SessionIds.New(t);
            var later = SessionIds.New(t.AddMilliseconds(1));
            Assert.True(string.CompareOrdinal(earlier, later) < 0, $"{earlier} should sort before {later}");
        }
    }

    [Fact]
    public void Ids_of_one_millisecond_share_the_time_and_differ_in_the_random_part()
    {
        var t = new DateTimeOffset(2026, 12, 6, 11, 0, 0, TimeSpan.Zero);
        var ids = Enumerable.Range(0, 20_000).Select(_ => SessionIds.New(t)).ToList();

        Assert.Single(ids.Select(id => id[..11]).Distinct());
        Assert.Equal(ids.Count, ids.Distinct().Count());
        Assert.Equal("s2222222222", SessionIds.New(DateTimeOffset.UnixEpoch)[..11]);
    }

    [Fact]
    public void Every_minted_id_could_exist_and_strings_no_session_has_cannot()
    {
        Assert.All(Enumerable.Range(0, 1_000).Select(_ => SessionIds.New()), id => Assert.True(SessionIds.CouldExist(id), id));
        Assert.True(SessionIds.CouldExist(Loom.Conversations.ConversationIds.SessionId("alice", "my story")));
        Assert.True(SessionIds.CouldExist("s" + new string('a', 20))); // the shape minted before time-ordered ids
        Assert.True(SessionIds.CouldExist(new string('x', SessionIds.MaxLength)));

        Assert.False(SessionIds.CouldExist(null));
        Assert.False(SessionIds.CouldExist(""));
        Assert.False(SessionIds.CouldExist(new string('x', SessionIds.MaxLength + 1)));
        Assert.False(SessionIds.CouldExist(new string('s', 2_000)));
        Assert.False(SessionIds.CouldExist("s1 s2"));
        Assert.False(SessionIds.CouldExist("../s1"));
        Assert.False(SessionIds.CouldExist("s\0"));
        Assert.False(SessionIds.CouldExist("s\u00e9t\u00e9"));
    }
}
