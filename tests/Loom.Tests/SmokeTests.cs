using Loom.Text;

namespace Loom.Tests;

public class TokenCounterTests
{
    [Fact]
    public void Counts_tokens_of_english_and_chinese_text()
    {
        Assert.Equal(0, TiktokenCounter.Instance.Count(""));
        Assert.InRange(TiktokenCounter.Instance.Count("The lighthouse keeper lit the lamp."), 5, 12);
        Assert.True(TiktokenCounter.Instance.Count("灯塔守护者点亮了灯。") > 3);
    }
}
