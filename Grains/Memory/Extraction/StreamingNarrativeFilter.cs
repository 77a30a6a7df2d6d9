using System.Text;

namespace Loom.Memory;

/// <summary>
/// Passes streamed narration through while hiding the memory block. It holds back any tail that could be the
/// start of the fence (a chunk may end in "``" or "```loom-me") and trailing whitespace, so the concatenated
/// output equals <see cref="MemoryBlockParser.Split"/>'s narrative for any chunking. Not thread-safe.
/// </summary>
public sealed class StreamingNarrativeFilter
{
    private readonly StringBuilder _held = new();
    private bool _inBlock;
    private bool _started;

    /// <summary>True once the memory block has begun: nothing more will be emitted.</summary>
    public bool InMemoryBlock => _inBlock;

    /// <summary>Narrative text that is safe to show now (possibly empty).</summary>
    public string Push(string? chunk)
    {
        if (_inBlock || string.IsNullOrEmpty(chunk)) return "";
        _held.Append(chunk);
        var text = _held.ToString();
        var fence = text.IndexOf(MemoryBlockParser.FenceOpen, StringComparison.OrdinalIgnoreCase);
        if (fence >= 0)
        {
            _inBlock = true;
            _held.Clear();
            return Emit(text[..fence].TrimEnd());
        }

        var keep = text.Length - PossibleFenceStart(text);
        while (keep > 0 && char.IsWhiteSpace(text[keep - 1])) keep--;
        _held.Clear().Append(text, keep, text.Length - keep);
        return Emit(text[..keep]);
    }

    /// <summary>End of stream: whatever was held back, if it turned out to be narrative.</summary>
    public string Complete()
    {
        if (_inBlock) return "";
        var rest = _held.ToString().TrimEnd();
        _held.Clear();
        return Emit(rest);
    }

    private string Emit(string text)
    {
        if (!_started)
        {
            text = text.TrimStart();
            _started = text.Length > 0;
        }
        return text;
    }

    /// <summary>Length of the longest suffix of <paramref name="text"/> that is a proper prefix of the fence.</summary>
    private static int PossibleFenceStart(string text)
    {
        var fence = MemoryBlockParser.FenceOpen;
        for (var length = Math.Min(fence.Length - 1, text.Length); length > 0; length--)
        {
            if (text.AsSpan(text.Length - length).Equals(fence.AsSpan(0, length), StringComparison.OrdinalIgnoreCase)) return length;
        }
        return 0;
    }
}
