namespace Loom.Memory;

/// <summary>
/// A directed edge between entities. Relations are not stored separately: they are read from attributes
/// (e.g. "located_at": "Harbor", values split on ',') and from relationship entities ("from", "to", "kind"), so
/// they are persisted, versioned and rolled back together with the entities that state them.
/// </summary>
public sealed record MemoryRelation(string FromId, string Kind, string ToId);

public static class RelationKinds
{
    public const string PartOf = "part_of";
    public const string CausedBy = "caused_by";
    public const string LocatedAt = "located_at";
    public const string RelatedTo = "related_to";
    public const string Owns = "owns";
    public const string Knows = "knows";
    public const string Involves = "involves";
    public const string Precedes = "precedes";

    public static IReadOnlySet<string> All { get; } = new HashSet<string>(StringComparer.Ordinal)
        { PartOf, CausedBy, LocatedAt, RelatedTo, Owns, Knows, Involves, Precedes };

    public static bool IsKnown(string kind) => All.Contains(kind);

    private static readonly HashSet<string>.AlternateLookup<ReadOnlySpan<char>> AnyCase =
        new HashSet<string>(All, StringComparer.OrdinalIgnoreCase).GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>The kind an attribute key names, ignoring case and surrounding spaces (no allocation).</summary>
    public static bool TryMatch(ReadOnlySpan<char> key, out string kind)
    {
        if (AnyCase.TryGetValue(key.Trim(), out var found))
        {
            kind = found;
            return true;
        }
        kind = "";
        return false;
    }
}
