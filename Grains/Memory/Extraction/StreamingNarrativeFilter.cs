using System.Text;

namespace Loom.Memory;

/// <summary>
/// Passes streamed narration through while hiding the memory block. It holds back any tail that could be the
/// start of the fence (a chunk may end in "``" or "```loom-me") and trailing whitespace, and a fenced block under
/// another name (<c>```json</c>, bare <c>```</c>) from its fence until narration follows it or the answer ends (then it
/// is the memory block when <see cref="MemoryBlockParser.TrailingBlockStart"/> says so), so the concatenated output
/// equals <see cref="MemoryBlockParser.Split"/>'s narrative for any chunking. Not thread-safe.
/// </summary>
public sealed class StreamingNarrativeFilter
{
    private readonly StringBuilder _held = new();
    private bool _inBlock;
    private bool _started;
    // Holding an open block under another name with no closing fence yet: only a backtick can change that (a closing
    // fence, or the memory fence), so chunks without one are kept without scanning the held text again. A model that
    // fences its whole answer would otherwise cost a scan of everything held per chunk.
    private bool _blockOpen;

    /// <summary>True once the memory block has begun: nothing more will be emitted.</summary>
    public bool InMemoryBlock => _inBlock;

    /// <summary>Narrative text that is safe to show now (possibly empty).</summary>
    public string Push(string? chunk)
    {
        if (_inBlock || string.IsNullOrEmpty(chunk)) return "";
        _held.Append(chunk);
        if (_blockOpen && !chunk.Contains('`')) return "";
        _blockOpen = false;
        var text = _held.ToString();
        var fence = text.IndexOf(MemoryBlockParser.FenceOpen, StringComparison.OrdinalIgnoreCase);
        if (fence >= 0)
        {
            // Everything before the fence is narrative, fenced blocks under other names included (as Split has it).
            _inBlock = true;
            _held.Clear();
            return Emit(text[..fence].TrimEnd());
        }
        var shown = new StringBuilder();
        var from = 0;
        while (NextLineFence(text, from) is var other and >= 0)
        {
            // A block under another name: narration once it is closed and text follows, else held to the end. A closing
            // fence that may still turn into the memory fence ("```loom-me", "````loo") does not close it yet.
            var lineEnd = text.IndexOf('\n', other);
            var close = lineEnd < 0 ? -1 : NextLineFence(text, lineEnd + 1);
            var next = close < 0 || text.Length - PossibleFenceStart(text) < close + 3 ? -1 : FirstNonWhiteSpace(text, close + 3);
            if (next < 0)
            {
                // Safe to skip backtick-less chunks only while no memory fence is half written at the end.
                _blockOpen = close < 0 && PossibleFenceStart(text) == 0;
                var keepFrom = other;
                while (keepFrom > from && char.IsWhiteSpace(text[keepFrom - 1])) keepFrom--;
                shown.Append(text, from, keepFrom - from);
                _held.Clear().Append(text, keepFrom, text.Length - keepFrom);
                return Emit(shown.ToString());
            }
            shown.Append(text, from, close + 3 - from);
            from = close + 3;
        }

        var rest = text[from..];
        var keep = rest.Length - PossibleFenceStart(rest);
        while (keep > 0 && char.IsWhiteSpace(rest[keep - 1])) keep--;
        shown.Append(rest, 0, keep);
        _held.Clear().Append(rest, keep, rest.Length - keep);
        return Emit(shown.ToString());
    }

    /// <summary>End of stream: whatever was held back, if it turned out to be narrative.</summary>
    public string Complete()
    {
        if (_inBlock) return "";
        var rest = _held.ToString();
        _held.Clear();
        // The memory fence may have been completed by chunks kept unscanned (see _blockOpen).
        var block = rest.IndexOf(MemoryBlockParser.FenceOpen, StringComparison.OrdinalIgnoreCase);
        if (block < 0) block = MemoryBlockParser.TrailingBlockStart(rest, lineStartAtZero: !_started);
        return Emit((block < 0 ? rest : rest[..block]).TrimEnd());
    }

    /// <summary>A <c>```</c> at a line's start in held text: index 0 begins a line only before anything was shown (what
    /// was shown never ends in whitespace).</summary>
    private int NextLineFence(string text, int from) => MemoryBlockParser.NextFence(text, from, lineStartAtZero: !_started);

    private static int FirstNonWhiteSpace(string text, int from)
    {
        for (var i = from; i < text.Length; i++)
        {
            if (!char.IsWhiteSpace(text[i])) return i;
        }
        return -1;
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
