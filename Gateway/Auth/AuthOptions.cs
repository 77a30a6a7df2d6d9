namespace Loom.Gateway.Auth;

/// <summary>API keys (section <c>Loom:Auth</c>). Keys are stored as SHA-256 hashes, never in clear.</summary>
public sealed class AuthOptions
{
    public const string Section = "Loom:Auth";

    /// <summary>Each entry: the owner id and the hex SHA-256 of the key (create with `Loom.Gateway keys add --owner NAME`).</summary>
    public List<ApiKeyEntry> Keys { get; set; } = [];

    /// <summary>In the embedded single-user mode bound to loopback, requests without a key act as this user.</summary>
    public string LocalUser { get; set; } = "local";

    public bool AllowAnonymousOnLoopback { get; set; } = true;
}

public sealed class ApiKeyEntry
{
    public string Owner { get; set; } = "";
    public string Sha256 { get; set; } = "";
    /// <summary>Roles of this key (admin, author, player, viewer); none configured means author + player.</summary>
    public List<string> Roles { get; set; } = [];
}
