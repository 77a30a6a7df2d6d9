namespace Loom.Text;

/// <summary>
/// Shortening text to a length in UTF-16 code units without cutting a surrogate pair in two: half an emoji is not
/// text, and JSON, PostgreSQL and the page would each show or refuse it differently.
/// </summary>
public static class TextClip
{
    /// <summary>At most <paramref name="max"/> code units of <paramref name="text"/>, as is.</summary>
    public static string Clip(string text, int max) => text.Length <= max ? text : text[..CutAt(text, max)];

    /// <summary>
    /// At most <paramref name="max"/> code units with "…" in place of what was cut; with <paramref name="atWord"/> the
    /// cut falls after the last space in the final 40 characters when there is one.
    /// </summary>
    public static string Ellipsize(string text, int max, bool atWord = true)
    {
        if (text.Length <= max) return text;
        var end = CutAt(text, max - 1);
        var space = atWord ? text.LastIndexOf(' ', max - 1, Math.Min(max, 40)) : -1;
        return (space > 0 ? text[..space] : text[..end]).TrimEnd() + "…";
    }

    /// <summary><paramref name="length"/>, or one less when that would end between the halves of a surrogate pair.</summary>
    private static int CutAt(string text, int length) =>
        length > 0 && length < text.Length && char.IsHighSurrogate(text[length - 1]) && char.IsLowSurrogate(text[length]) ? length - 1 : length;
}
