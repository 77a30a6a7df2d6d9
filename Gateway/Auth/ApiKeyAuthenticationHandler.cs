using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Loom.Gateway.Limits;
using Loom.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;

namespace Loom.Gateway.Auth;

/// <summary>
/// The API-key scheme: <c>Authorization: Bearer &lt;key&gt;</c>, checked against every key source by its SHA-256.
/// Without a key the request is anonymous, unless <see cref="CallerResolver.LocalUserAsync"/> makes it the local
/// user. Challenges answer 401 with <c>WWW-Authenticate: Bearer</c> (RFC 6750), forbids 403; both problem+json. A client
/// over its failed-authentication limit (<see cref="FailedAuthLimiter"/>) is answered 429 instead of a key look-up.
/// </summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, CallerResolver callers,
    FailedAuthLimiter failures)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";

    /// <summary>Names the key a request used (a hash prefix, or "local"): what request rate limits partition by.</summary>
    public const string KeyClaim = "loom:key";
    public const string LocalKey = "local";

    /// <summary>The SHA-256 hex of the request's key (in <c>HttpContext.Items</c>), for streams that re-check it (<see cref="StreamCallerCheck"/>).</summary>
    public const string KeyHashItem = "loom:key-sha256";

    private const string ErrorItem = "bearer-error";
    private const string RetryAfterItem = "retry-after";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        // Probes and scrapes never wait on the key store (which may be the cluster that is down).
        if (Context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is not null) return AuthenticateResult.NoResult();
        var header = Request.Headers.Authorization;
        if (header.Count == 0 || string.IsNullOrEmpty(header[0]))
        {
            if (await callers.LocalUserAsync(Context.RequestAborted) is not { } local) return AuthenticateResult.NoResult();
            if (!CallerResolver.IsLoopbackHost(Request.Host.Host))
            {
                return Failure("invalid_request",
                    $"Without an API key only requests to a loopback name (localhost, 127.0.0.1, [::1]) act as the local user; this one names '{Errors.Problems.QuoteId(Request.Host.Host)}'. Send 'Authorization: Bearer <api-key>'.");
            }
            if (CallerResolver.ForwardingHeader(Request.Headers) is { } forwarded)
            {
                // A proxy on this machine reaches a loopback name too, on behalf of anyone who can reach the proxy.
                return Failure("invalid_request",
                    $"Without an API key only direct requests act as the local user; this one came through a proxy ('{forwarded}' is set). Configure API keys to serve LOOM through a proxy.");
            }
            if (Request.Headers.Origin is { Count: > 0 } origin && !CallerResolver.IsLoopbackOrigin(origin[0]))
            {
                return Failure("invalid_request",
                    $"Without an API key only pages served from a loopback name act as the local user; this request comes from '{Errors.Problems.QuoteId(origin[0] ?? "")}'. Send 'Authorization: Bearer <api-key>'.");
            }
            return Success(local, LocalKey);
        }
        if (header.Count > 1 || !AuthenticationHeaderValue.TryParse(header[0], out var value)
            || !value.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || string.IsNullOrWhiteSpace(value.Parameter))
        {
            return Failure("invalid_request", "Send one header 'Authorization: Bearer <api-key>'.");
        }
        var key = value.Parameter.Trim();
        var hash = CallerResolver.Hash(key);
        // Only a look-up in the key store costs: a key of the issued shape the gateway does not know yet takes one of its
        // client's tokens first. A key the gateway knows passes whatever its client's count, so someone guessing behind
        // the same address (a NAT, a proxy) cannot lock it out; other strings are refused from memory, never counted.
        var admission = ApiKeyShape.IsIssued(key) && !callers.IsKnown(hash) ? failures.Admit(Context) : FailedAuthLimiter.Admission.Exempt;
        if (!admission.Admitted) return Limited(admission.RetryAfterSeconds);
        if (await callers.FindAsync(key, hash, Context.RequestAborted) is not { } caller)
            return Failure("invalid_token", "The API key is not valid: unknown, revoked or expired.");
        Context.Items[KeyHashItem] = hash;
        return Success(caller, hash[..16]);
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var result = await HandleAuthenticateOnceSafeAsync();
        if (result.Properties?.Items.TryGetValue(RetryAfterItem, out var seconds) == true)
        {
            await RateLimits.WriteRejectedAsync(Context, int.Parse(seconds!, CultureInfo.InvariantCulture), result.Failure!.Message);
            return;
        }
        string? error = null;
        result.Properties?.Items.TryGetValue(ErrorItem, out error);
        var detail = result.Failure?.Message ?? "An API key is required: send 'Authorization: Bearer <api-key>'.";
        Response.Headers.WWWAuthenticate = error is null
            ? "Bearer"
            : $"Bearer error=\"{error}\", error_description=\"{HeaderText(detail)}\"";
        await AuthProblems.WriteAsync(Context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", detail);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var needed = Context.GetEndpoint()?.Metadata.GetOrderedMetadata<IAuthorizeData>()
            .Select(a => a.Policy).OfType<string>().Select(LoomPolicies.Describe).Distinct().ToList() ?? [];
        var held = string.Join(", ", Context.User.FindAll(ClaimTypes.Role).Select(c => c.Value));
        var detail = needed.Count > 0
            ? $"This API key may not do this: it needs {string.Join(" and ", needed)}; the key has the roles: {held}."
            : $"This API key may not do this (its roles: {held}).";
        return AuthProblems.WriteAsync(Context, StatusCodes.Status403Forbidden, "forbidden", "Forbidden", detail);
    }

    private AuthenticateResult Success(Caller caller, string keyId)
    {
        var claims = new List<Claim> { new(ClaimTypes.Name, caller.OwnerId), new(KeyClaim, keyId) };
        claims.AddRange(caller.Roles.Select(r => new Claim(ClaimTypes.Role, r)));
        var principal = new ClaimsPrincipal(new ClaimsIdentity(claims, SchemeName));
        return AuthenticateResult.Success(new AuthenticationTicket(principal, SchemeName));
    }

    private static AuthenticateResult Failure(string error, string message) =>
        AuthenticateResult.Fail(message, new AuthenticationProperties(new Dictionary<string, string?> { [ErrorItem] = error }));

    private AuthenticateResult Limited(int retryAfterSeconds) =>
        AuthenticateResult.Fail(failures.Detail(retryAfterSeconds), new AuthenticationProperties(new Dictionary<string, string?>
        {
            [RetryAfterItem] = retryAfterSeconds.ToString(CultureInfo.InvariantCulture),
        }));

    /// <summary>The detail as a header value may carry it: printable ASCII, no quotes. It can quote the request's own
    /// Host or Origin, and Kestrel refuses any other character in a response header (the 401 became a 500).</summary>
    private static string HeaderText(string detail) =>
        string.Create(detail.Length, detail, static (span, text) =>
        {
            for (var i = 0; i < text.Length; i++) span[i] = text[i] is >= ' ' and <= '~' and not '"' ? text[i] : text[i] == '"' ? '\'' : '?';
        });
}
