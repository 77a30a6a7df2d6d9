using Loom.Text;

namespace Loom.Tests.Prompt;

public sealed class TextClipTests
{
    private const string Dragon = "\U0001F409"; // two UTF-16 code units

    [Fact]
    public void Clipping_never_ends_between_the_halves_of_a_surrogate_pair()
    {
        var text = "ab" + Dragon + "cd";
        Assert.Equal("ab", TextClip.Clip(text, 3));
        Assert.Equal("ab" + Dragon, TextClip.Clip(text, 4));
        Assert.Equal(text, TextClip.Clip(text, 6));
    }

    [Fact]
    public void Ellipsizing_keeps_pairs_whole_and_prefers_the_last_space()
    {
        Assert.Equal("ab…", TextClip.Ellipsize("ab" + Dragon + "cdef", 4, atWord: false));
        Assert.Equal("ab" + Dragon + "…", TextClip.Ellipsize("ab" + Dragon + "cdef", 5, atWord: false));
        Assert.Equal("the red…", TextClip.Ellipsize("the red dragon sleeps", 12));
        Assert.Equal("short", TextClip.Ellipsize("short", 5));
    }
}
