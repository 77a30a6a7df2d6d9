using System.Net;
using System.Security.Cryptography;
using System.Text;
using Loom.Errors;
using Loom.Security;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>Who is calling: the owner behind a Bearer API key, or the local user in loopback-only mode.</summary>
public sealed class CallerResolver
{
    private readonly Dictionary<string, Caller> _callersByHash;
    private readonly AuthOptions _options;
    private readonly IServer _server;
    private bool? _loopbackOnly;

    public CallerResolver(IOptions<AuthOptions> options, IServer server)
    {
        _options = options.Value;
        _server = server;
        _callersByHash = _options.Keys
            .Where(k => !string.IsNullOrWhiteSpace(k.Sha256) && !string.IsNullOrWhiteSpace(k.Owner))
            .ToDictionary(k => k.Sha256.Trim().ToLowerInvariant(), k => new Caller
            {
                OwnerId = k.Owner.Trim(),
                Roles = (k.Roles.Count > 0 ? k.Roles : LoomRoles.DefaultForConfiguredKey).ToArray(),
            }, StringComparer.Ordinal);
    }

    public bool HasKeys => _callersByHash.Count > 0;

    public static string Hash(string apiKey) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(apiKey)));

    /// <summary>The owner id for this request; 401 problem when credentials are missing or wrong.</summary>
    public string Resolve(HttpContext context) => ResolveCaller(context).OwnerId;

    /// <summary>The caller (owner and roles); the local user of the loopback-only mode holds every role.</summary>
    public Caller ResolveCaller(HttpContext context)
    {
        var header = context.Request.Headers.Authorization.ToString();
        if (!string.IsNullOrEmpty(header))
        {
            const string scheme = "Bearer ";
            if (!header.StartsWith(scheme, StringComparison.OrdinalIgnoreCase)) throw Unauthorized("Use 'Authorization: Bearer <api-key>'.");
            var key = header[scheme.Length..].Trim();
            if (key.Length > 0 && _callersByHash.TryGetValue(Hash(key), out var caller)) return caller;
            throw Unauthorized("The API key is not valid.");
        }
        if (_options.AllowAnonymousOnLoopback && IsLoopbackOnly()) return new Caller { OwnerId = _options.LocalUser, Roles = [.. LoomRoles.All] };
        throw Unauthorized("An API key is required: 'Authorization: Bearer <api-key>'.");
    }

    /// <summary>True when every address the server listens on is loopback (the single-user embedded mode).</summary>
    public bool IsLoopbackOnly()
    {
        if (_loopbackOnly is { } known) return known;
        var addresses = _server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (addresses is null || addresses.Count == 0) return false;
        var result = addresses.All(IsLoopbackAddress);
        _loopbackOnly = result;
        return result;
    }

    public static bool IsLoopbackAddress(string address)
    {
        if (!Uri.TryCreate(address.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri)) return false;
        if (uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase)) return true;
        return IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip);
    }

    private static LoomProblemException Unauthorized(string detail) => new(401, "unauthorized", "Unauthorized", detail);
}
