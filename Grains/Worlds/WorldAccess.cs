using Loom.Errors;
using Loom.Security;

namespace Loom.Worlds;

/// <summary>
/// Who may do what with a world. Seeing (and so playing) needs a public world, or being its owner, on its share
/// list, or an admin; managing (publishing versions, changing access) needs the owner or an admin. The system's
/// worlds (the examples, and worlds stored before owners existed) are managed by admins only.
/// </summary>
public static class WorldAccess
{
    public const int MaxShares = 100;
    public const int MaxOwnerIdChars = 128;

    public static bool CanManage(string owner, Caller caller) =>
        caller.IsAdmin || (owner != Caller.SystemOwner && string.Equals(caller.OwnerId, owner, StringComparison.Ordinal));

    public static bool CanSee(string owner, WorldVisibility visibility, IReadOnlyCollection<string> sharedWith, Caller caller) =>
        visibility == WorldVisibility.Public || CanManage(owner, caller) || sharedWith.Contains(caller.OwnerId, StringComparer.Ordinal);

    public static bool CanSee(WorldInfo world, Caller caller) =>
        CanSee(world.Owner, world.Visibility, world.SharedWith ?? [], caller);

    /// <summary>The info as this caller may read it: the share list only for those who manage the world.</summary>
    public static WorldInfo ForCaller(WorldInfo world, Caller caller) =>
        CanManage(world.Owner, caller) ? world : world with { SharedWith = null };

    /// <summary>A share list as stored: trimmed, distinct, in the given order; 400 for an empty or oversized entry.</summary>
    public static List<string> NormalizeShares(IEnumerable<string?> shares)
    {
        var result = new List<string>();
        foreach (var raw in shares)
        {
            var id = raw?.Trim();
            if (string.IsNullOrEmpty(id) || id.Length > MaxOwnerIdChars)
                throw Problems.Invalid("sharedWith", $"sharedWith must list owner ids of 1 to {MaxOwnerIdChars} characters.");
            if (!result.Contains(id, StringComparer.Ordinal)) result.Add(id);
        }
        if (result.Count > MaxShares) throw Problems.Invalid("sharedWith", $"A world can be shared with at most {MaxShares} owners.");
        return result;
    }
}
