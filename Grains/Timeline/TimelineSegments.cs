namespace Loom.Timeline;

/// <summary>
/// The timeline segments a seq can still be placed through. A seq goes through the last segment that starts at or
/// before it, so a segment followed by one that starts at or before its own start is never used again (a rollback to an
/// earlier point than the one before). Such segments are dropped when a rollback adds its own and when a session is
/// exported or imported; kept, they made a session's own export refuse to import ("starts after the last turn").
/// </summary>
public static class TimelineSegments
{
    /// <summary><paramref name="segments"/> without the shadowed ones, in order; the first (seq 1 at ordinal 0) always stays.</summary>
    public static List<T> Unshadowed<T>(IReadOnlyList<T> segments, Func<T, int> startSeq)
    {
        var kept = new List<T>(segments.Count);
        var lowestLater = int.MaxValue;
        for (var i = segments.Count - 1; i >= 0; i--)
        {
            var start = startSeq(segments[i]);
            if (i == 0 || start < lowestLater) kept.Add(segments[i]);
            lowestLater = Math.Min(lowestLater, start);
        }
        kept.Reverse();
        return kept;
    }
}
