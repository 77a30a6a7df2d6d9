using System.Security.Cryptography;

namespace Loom.Sessions;

/// <summary>
/// Session ids: "s", the creation time (10 characters: milliseconds since the Unix epoch) and 16 random characters
/// (80 bits), in a base32 alphabet listed in ASCII order so that ids sort by the time they were minted. Storage keys
/// rows by grain, so a session's header and its owner's index entry land at the end of the key index instead of on a
/// random leaf: a create dirties fewer pages (docs/performance.md, session 25). The random part keeps ids unguessable
/// and distinct within a millisecond; the time they reveal is the session's <c>createdAt</c>, which its readers see.
/// </summary>
public static class SessionIds
{
    private const string Alphabet = "23456789abcdefghijkmnpqrstuvwxyz";
    private const int TimeChars = 10;
    private const int RandomChars = 16;

    public static string New() => New(DateTimeOffset.UtcNow);

    public static string New(DateTimeOffset minted) => string.Create(1 + TimeChars + RandomChars, minted.ToUnixTimeMilliseconds(), static (id, ms) =>
    {
        id[0] = 's';
        // 50 bits of milliseconds, most significant first: fixed width, so string order is time order until 37,648.
        for (var i = TimeChars; i >= 1; i--, ms >>= 5) id[i] = Alphabet[(int)(ms & 31)];
        RandomNumberGenerator.GetItems(Alphabet, id[(1 + TimeChars)..]);
    });
}
