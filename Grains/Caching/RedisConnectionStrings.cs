using StackExchange.Redis;

namespace Loom.Caching;

/// <summary>
/// Start-up checks of a StackExchange.Redis connection string (the cluster's and the cache's): parsed as the client
/// will parse it, so a typo is refused with the settings instead of failing on first use.
/// </summary>
public static class RedisConnectionStrings
{
    /// <summary>
    /// Why StackExchange.Redis cannot use <paramref name="connectionString"/>, or null when it can. Never holds the
    /// password: the parser's reason names the option it refused, and an option after <c>password=</c> may be part of
    /// a password that holds a ',' (the format has no escape for it), so that reason is not repeated.
    /// </summary>
    public static string? Fault(string connectionString)
    {
        try
        {
            return ConfigurationOptions.Parse(connectionString).EndPoints.Count == 0 ? "it names no server." : null;
        }
        catch (ArgumentException ex)
        {
            return AfterPassword(connectionString, ex.ParamName)
                ? "an option after password= is not valid, or the password holds a ',' (it cannot: the string has no escape for it)."
                : ex.Message;
        }
    }

    /// <summary>Whether an option named <paramref name="key"/> comes after a password option (split as the parser splits).</summary>
    private static bool AfterPassword(string connectionString, string? key)
    {
        var afterPassword = false;
        foreach (var option in connectionString.Split(','))
        {
            var equals = option.IndexOf('=', StringComparison.Ordinal);
            var name = equals > 0 ? option[..equals].Trim() : option.Trim();
            if (afterPassword && (key is null || string.Equals(name, key, StringComparison.OrdinalIgnoreCase))) return true;
            if (string.Equals(name, "password", StringComparison.OrdinalIgnoreCase)) afterPassword = true;
        }
        return false;
    }
}
