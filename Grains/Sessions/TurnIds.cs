using System.Security.Cryptography;

namespace Loom.Sessions;

/// <summary>
/// Turn ids carry their journal ordinal ("t{ordinal}-{random}") so a lookup goes straight to one record;
/// the random tail keeps ids of different sessions and erased-then-recreated sessions distinct.
/// </summary>
public static class TurnIds
{
    private const string Alphabet = "abcdefghijkmnpqrstuvwxyz23456789";

    public static string New(long ordinal) => $"t{ordinal}-{RandomTail(6)}";

    public static bool TryGetOrdinal(string turnId, out long ordinal)
    {
        ordinal = -1;
        if (turnId.Length < 3 || turnId[0] != 't') return false;
        var dash = turnId.IndexOf('-');
        return dash > 1 && long.TryParse(turnId.AsSpan(1, dash - 1), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out ordinal);
    }

    public static string RandomTail(int length) => RandomNumberGenerator.GetString(Alphabet, length);
}
