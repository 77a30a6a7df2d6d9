namespace Loom.Security;

/// <summary>What makes an owner name and a key acceptable; shared by the key store and the `keys` command.</summary>
public static class ApiKeyRules
{
    public const int MaxOwnerChars = 64;
    public const int MaxNameChars = 100;
    public const int PrefixChars = 12;

    /// <summary>How stale a key's lastUsedAt may be: bounds the writes a busy key causes to one a minute.</summary>
    public static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    /// <summary>1-64 characters: ASCII letters, digits, '.', '_', '-', '@' (safe in grain keys, logs and metric labels).</summary>
    public static bool IsValidOwner(string? owner) =>
        owner is { Length: >= 1 and <= MaxOwnerChars } && owner.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@');

    public const string OwnerRule = "1-64 characters: letters, digits, '.', '_', '-', '@'";

    /// <summary>A lower-case hex SHA-256.</summary>
    public static bool IsSha256Hex(string? text) =>
        text is { Length: 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
}
