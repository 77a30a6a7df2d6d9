namespace Loom.Security;

/// <summary>The roles an API key can carry (a key has one owner and a set of roles).</summary>
public static class LoomRoles
{
    /// <summary>Keys, every world, every session's metadata for support (each such read audited).</summary>
    public const string Admin = "admin";
    /// <summary>Publishes worlds.</summary>
    public const string Author = "author";
    /// <summary>Plays: creates and owns sessions.</summary>
    public const string Player = "player";
    /// <summary>Read-only.</summary>
    public const string Viewer = "viewer";

    public static readonly IReadOnlyList<string> All = [Admin, Author, Player, Viewer];

    /// <summary>Roles of a configured key that names none (keeps wave-1 configuration working).</summary>
    public static readonly IReadOnlyList<string> DefaultForConfiguredKey = [Author, Player];

    public static bool IsKnown(string role) => All.Contains(role, StringComparer.Ordinal);
}

/// <summary>Who makes a call, as the gateway authenticated it; passed to grains that decide by owner and role.</summary>
[GenerateSerializer, Alias("loom.Caller")]
public sealed record Caller
{
    [Id(0)] public required string OwnerId { get; init; }
    [Id(1)] public string[] Roles { get; init; } = [];

    public bool IsInRole(string role) => Array.IndexOf(Roles, role) >= 0;
    public bool IsAdmin => IsInRole(LoomRoles.Admin);

    /// <summary>The owner of the built-in example worlds.</summary>
    public const string SystemOwner = "system";

    /// <summary>The owner of the probe sessions a silo plays and erases while it starts (its grain-path warm-up). No API
    /// key can carry it (owner ids have no ':'); spending caps do not apply to it.</summary>
    public const string WarmUpOwner = "loom:warm-up";
}
