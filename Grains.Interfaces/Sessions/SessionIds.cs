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

    /// <summary>Longer than any id LOOM has minted ("s" + 26 today, "s" or "c" + 20 before), with room to spare.</summary>
    public const int MaxLength = 64;

    public static string New() => New(DateTimeOffset.UtcNow);

    /// <summary>
    /// False for a string no session can be named by: empty, longer than <see cref="MaxLength"/>, or holding anything but
    /// ASCII letters, digits, '-' and '_'. Every id ever minted (these, the OpenAI facade's "c…" ids) passes, so such a
    /// string is answered as an unknown session without asking a grain.
    /// </summary>
    public static bool CouldExist(string? id) =>
        id is { Length: > 0 and <= MaxLength } && !id.AsSpan().ContainsAnyExcept(IdChars);

    private static readonly System.Buffers.SearchValues<char> IdChars =
        System.Buffers.SearchValues.Create("-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz");

    public static string New(DateTimeOffset minted) => string.Create(1 + TimeChars + RandomChars, minted.ToUnixTimeMilliseconds(), static (id, ms) =>
    {
        id[0] = 's';
        // 50 bits of milliseconds, most significant first: fixed width, so string order is time order until 37,648.
        for (var i = TimeChars; i >= 1; i--, ms >>= 5) id[i] = Alphabet[(int)(ms & 31)];
        RandomNumberGenerator.GetItems(Alphabet, id[(1 + TimeChars)..]);
    });
}
