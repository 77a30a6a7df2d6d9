using System.Net;
using System.Security.Cryptography;
using System.Text;
using Loom.Security;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>
/// Who holds a key, across every key source (configuration first, then the database), and when a request without
/// a key is the local user: only while no source has a usable key and the server listens on loopback only.
/// Used by <see cref="ApiKeyAuthenticationHandler"/>; endpoints learn the caller from <see cref="CallerAccess.GetCaller"/>.
/// </summary>
public sealed class CallerResolver(IEnumerable<IApiKeyLookup> lookups, IOptions<AuthOptions> options, IServer server)
{
    private readonly IApiKeyLookup[] _lookups = lookups.ToArray();
    private readonly AuthOptions _options = options.Value;
    private bool? _loopbackOnly;

    public static string Hash(string apiKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));

    /// <summary>
    /// The caller behind a key (<paramref name="keySha256Hex"/> is its <see cref="Hash"/>), asking only the sources
    /// that may hold a key of its shape; null when none knows it as a usable key.
    /// </summary>
    public async ValueTask<Caller?> FindAsync(string apiKey, string keySha256Hex, CancellationToken cancellationToken)
    {
        foreach (var lookup in _lookups)
        {
            if (lookup.MayHold(apiKey) && await lookup.FindAsync(keySha256Hex, cancellationToken) is { } caller) return caller;
        }
        return null;
    }

    /// <summary>The caller behind a key that was found before (a stream re-checking the key it was opened with), by its hash alone.</summary>
    public async ValueTask<Caller?> RecheckAsync(string keySha256Hex, CancellationToken cancellationToken)
    {
        foreach (var lookup in _lookups)
        {
            if (await lookup.FindAsync(keySha256Hex, cancellationToken) is { } caller) return caller;
        }
        return null;
    }

    /// <summary>True when a source knows the key from memory alone (<see cref="IApiKeyLookup.IsKnown"/>).</summary>
    public bool IsKnown(string keySha256Hex)
    {
        foreach (var lookup in _lookups)
        {
            if (lookup.IsKnown(keySha256Hex)) return true;
        }
        return false;
    }

    /// <summary>Headers a proxy adds; the first one present, or null. A request that carries one did not come from this machine's user.</summary>
    public static string? ForwardingHeader(IHeaderDictionary headers)
    {
        foreach (var name in (ReadOnlySpan<string>)["Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "Via"])
        {
            if (headers.ContainsKey(name)) return name;
        }
        return null;
    }

    /// <summary>The local user (every role) when anonymous access is allowed for this request; otherwise null.</summary>
    public async ValueTask<Caller?> LocalUserAsync(CancellationToken cancellationToken)
    {
        if (!_options.AllowAnonymousOnLoopback || !IsLoopbackOnly()) return null;
        foreach (var lookup in _lookups)
        {
            if (await lookup.HasActiveKeysAsync(cancellationToken)) return null;
        }
        return new Caller { OwnerId = _options.LocalUser, Roles = [.. LoomRoles.All] };
    }

    /// <summary>True when every address the server listens on is loopback (the single-user embedded mode).</summary>
    public bool IsLoopbackOnly()
    {
        if (_loopbackOnly is { } known) return known;
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0) return false;
        var result = addresses.All(IsLoopbackAddress);
        _loopbackOnly = result;
        return result;
    }

    /// <summary>
    /// True for a Host header naming this machine by a loopback name: <c>localhost</c> or a <c>*.localhost</c> name
    /// (RFC 6761: browsers resolve those themselves), or a loopback IP literal. Anonymous access needs it: a web page
    /// whose DNS name was re-pointed at 127.0.0.1 (DNS rebinding) reaches a loopback server as its own origin, so the
    /// browser lets it read the answers — but its requests carry the page's name, never a loopback one. So does a
    /// reverse proxy on this machine that forwards the public name.
    /// </summary>
    public static bool IsLoopbackHost(string host)
    {
        if (host.Length == 0) return false;
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }

    /// <summary>
    /// True for an Origin header of a page served from a loopback name. A page on any other site can still make a
    /// browser send a form (multipart/form-data needs no CORS preflight) to a loopback server under that server's own
    /// Host; the browser names the page in Origin, so anonymous access refuses it (cross-site request forgery).
    /// "null" (a sandboxed or file page) is not loopback.
    /// </summary>
    public static bool IsLoopbackOrigin(string? origin) =>
        Uri.TryCreate(origin, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)
        && IsLoopbackHost(uri.Host);

    public static bool IsLoopbackAddress(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)) return false;
        if (uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }
}
