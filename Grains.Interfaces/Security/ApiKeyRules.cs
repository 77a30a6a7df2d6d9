namespace Loom.Security;

/// <summary>What makes an owner name and a key acceptable; shared by the key store and the `keys` command.</summary>
public static class ApiKeyRules
{
    public const int MaxOwnerChars = 64;
    public const int MaxNameChars = 100;
    public const int PrefixChars = 12;

    /// <summary>How stale a key's lastUsedAt may be: bounds the writes a busy key causes to one a minute.</summary>
    public static readonly TimeSpan TouchInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// 1-64 characters: ASCII letters, digits, '.', '_', '-', '@' (safe in grain keys, logs and metric labels), and not a
    /// reserved id: <see cref="Caller.SystemOwner"/> owns the example and legacy worlds (no world quota applies to it and
    /// only admins change its worlds), so no key may act as it, in any case. (<see cref="Caller.WarmUpOwner"/> is kept
    /// out by its ':'.)
    /// </summary>
    public static bool IsValidOwner(string? owner) =>
        owner is { Length: >= 1 and <= MaxOwnerChars }
        && owner.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '@')
        && !IsReservedOwner(owner);

    /// <summary>True for an owner id LOOM keeps for itself (compared case-insensitively).</summary>
    public static bool IsReservedOwner(string? owner) => string.Equals(owner, Caller.SystemOwner, StringComparison.OrdinalIgnoreCase);

    public const string OwnerRule = "1-64 characters: letters, digits, '.', '_', '-', '@', and not the reserved '" + Caller.SystemOwner + "'";

    /// <summary>A key's name as stored: trimmed, null when blank. Null also when it holds control or format characters
    /// (see <see cref="IsValidName"/>), which the caller refuses first.</summary>
    public static string? NormalizeName(string? name) => string.IsNullOrWhiteSpace(name) ? null : name.Trim();

    /// <summary>At most <see cref="MaxNameChars"/> once trimmed, with no control or format characters: names are printed
    /// by <c>keys list</c> and the admin API, where an escape sequence or a line break could pass for another key.</summary>
    public static bool IsValidName(string? name) =>
        NormalizeName(name) is not { } trimmed
        || (trimmed.Length <= MaxNameChars && !trimmed.Any(c => char.IsControl(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format));

    /// <summary>A lower-case hex SHA-256.</summary>
    public static bool IsSha256Hex(string? text) =>
        text is { Length: 64 } && text.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
}
