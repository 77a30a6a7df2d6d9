using System.Buffers;

namespace Loom.Gateway.Auth;

/// <summary>
/// The shape of the keys LOOM issues (<see cref="KeysCommand.NewKey"/>): <c>loom_</c> and 256 random bits in 43
/// unpadded base64url characters. Only such keys can be in the database, so no other string is looked up there.
/// </summary>
public static class ApiKeyShape
{
    public const string Prefix = "loom_";
    public const int RandomChars = 43; // 32 bytes, base64url without padding

    private static readonly SearchValues<char> Base64Url =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_");

    public static bool IsIssued(string apiKey) =>
        apiKey.Length == Prefix.Length + RandomChars
        && apiKey.StartsWith(Prefix, StringComparison.Ordinal)
        && !apiKey.AsSpan(Prefix.Length).ContainsAnyExcept(Base64Url);
}
