using Loom.Text;

namespace Loom.Tests.Prompt;

public sealed class CachedTokenCounterTests
{
    private sealed class CountingCounter : ITokenCounter
    {
        public int Calls;
        public int Count(string text)
        {
            Calls++;
            return TiktokenCounter.Instance.Count(text);
        }
    }

    [Fact]
    public void Repeated_short_texts_are_tokenized_once_and_counted_exactly()
    {
        var inner = new CountingCounter();
        var counter = new CachedTokenCounter(inner);
        const string line = "- Mira the miller (character): keeps the ledger of the drowned mill; 世界观 ✓";
        var expected = TiktokenCounter.Instance.Count(line);
        for (var i = 0; i < 5; i++) Assert.Equal(expected, counter.Count(line));
        Assert.Equal(1, inner.Calls);
        Assert.Equal(0, counter.Count(""));
    }

    [Fact]
    public void Long_texts_are_not_kept_and_the_cache_starts_again_when_full()
    {
        var inner = new CountingCounter();
        var counter = new CachedTokenCounter(inner, maxTextLength: 16, maxCachedChars: 30);
        var longText = new string('a', 17);
        counter.Count(longText);
        counter.Count(longText);
        Assert.Equal(2, inner.Calls);

        counter.Count("first line here"); // 15 chars
        counter.Count("second line ok!"); // 30 in all: still within the bound
        counter.Count("first line here");
        Assert.Equal(4, inner.Calls);
        counter.Count("a third one....."); // over the bound: the table starts again with this one
        counter.Count("first line here");
        Assert.Equal(6, inner.Calls);
    }
}
