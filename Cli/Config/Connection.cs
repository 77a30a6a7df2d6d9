namespace Loom.Cli.Config;

/// <summary>Where the gateway is and which key to send: flags first, then <c>LOOM_URL</c>/<c>LOOM_API_KEY</c>, then the profile.</summary>
public sealed record Connection(Uri BaseAddress, string? ApiKey)
{
    /// <summary>The gateway's own default address (README: <c>dotnet run --project Gateway</c>).</summary>
    public const string DefaultUrl = "http://localhost:5080";

    public static Connection Resolve(string? urlFlag, string? keyFlag)
    {
        var profile = (string.IsNullOrEmpty(urlFlag) || string.IsNullOrEmpty(keyFlag)) ? Profile.Load(Profile.DefaultPath()) : null;
        var url = First(urlFlag, Environment.GetEnvironmentVariable("LOOM_URL"), profile?.Url) ?? DefaultUrl;
        var key = First(keyFlag, Environment.GetEnvironmentVariable("LOOM_API_KEY"), profile?.Key);
        return new Connection(ParseUrl(url), key);
    }

    public static Uri ParseUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            throw CliException.Usage($"'{url}' is not an http(s) URL of a LOOM gateway.");
        // A base address without the trailing slash would drop its last path segment from relative requests.
        return uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
    }

    private static string? First(params string?[] values) => values.FirstOrDefault(v => !string.IsNullOrEmpty(v));
}
