using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using Loom.Security;

namespace Loom.Gateway.Auth;

/// <summary>
/// <c>Loom.Gateway keys ...</c>. Configuration keys (bootstrap, offline): <c>add</c> makes a key, prints it once and
/// the SHA-256 to configure; <c>hash</c> hashes a key read from standard input. Database keys, through the admin API of
/// a running gateway (<c>--url</c>, admin key in <c>LOOM_API_KEY</c>): <c>create</c>, <c>list</c>, <c>revoke</c>.
/// Only hashes are ever stored, so a lost key cannot be recovered, only replaced.
/// </summary>
public static class KeysCommand
{
    public const int Success = 0;
    public const int Failure = 1;
    public const int Usage = 2;

    public const string ApiKeyVariable = "LOOM_API_KEY";
    public const string UrlVariable = "LOOM_URL";
    private const string DefaultUrl = "http://localhost:5080";

    /// <summary>The offline sub-commands (add, hash); anything else prints the usage.</summary>
    public static int Run(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error)
    {
        if (args.Count >= 1 && args[0] == "add")
        {
            var owner = Option(args, "--owner");
            if (!ApiKeyRules.IsValidOwner(owner))
            {
                error.WriteLine($"keys add: --owner NAME is required ({ApiKeyRules.OwnerRule}).");
                return Usage;
            }
            var roles = Roles(Option(args, "--roles"), error, "add");
            if (roles is null) return Usage;
            var index = Option(args, "--index") ?? "N";
            var key = NewKey();
            var hash = CallerResolver.Hash(key);
            output.WriteLine($"API key for '{owner}' (shown once; store it now, only its hash is kept):");
            output.WriteLine();
            output.WriteLine($"  {key}");
            output.WriteLine();
            output.WriteLine("Configure the gateway with (N = the next free index):");
            output.WriteLine($"  Loom__Auth__Keys__{index}__Owner={owner}");
            output.WriteLine($"  Loom__Auth__Keys__{index}__Sha256={hash}");
            for (var i = 0; i < roles.Length; i++) output.WriteLine($"  Loom__Auth__Keys__{index}__Roles__{i}={roles[i]}");
            return Success;
        }
        if (args.Count >= 1 && args[0] == "hash")
        {
            var key = input.ReadLine()?.Trim();
            if (string.IsNullOrEmpty(key))
            {
                error.WriteLine("keys hash: write the key on standard input.");
                return Usage;
            }
            output.WriteLine(CallerResolver.Hash(key));
            return Success;
        }
        error.WriteLine("usage: Loom.Gateway keys add --owner NAME [--roles r1,r2] [--index N]  (a configuration key: printed once with its SHA-256)");
        error.WriteLine("       Loom.Gateway keys hash < key.txt                              (the SHA-256 of an existing key)");
        error.WriteLine("       Loom.Gateway keys create --owner NAME --roles r1,r2 [--name TEXT] [--expires 2027-01-01T00:00:00Z] [--url URL]");
        error.WriteLine("       Loom.Gateway keys list [--owner NAME] [--url URL]");
        error.WriteLine("       Loom.Gateway keys revoke KEY-ID [--url URL]");
        error.WriteLine($"  create/list/revoke call a running gateway (--url, else ${UrlVariable}, else {DefaultUrl}) with an admin key from ${ApiKeyVariable}.");
        error.WriteLine($"  roles: {string.Join(", ", LoomRoles.All)}.");
        return Usage;
    }

    /// <summary>Every sub-command; create, list and revoke call the admin API (<paramref name="handler"/> for tests).</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args, TextReader input, TextWriter output, TextWriter error,
        Func<string, string?> environment, HttpMessageHandler? handler = null, CancellationToken cancellationToken = default)
    {
        if (args.Count == 0 || args[0] is not ("create" or "list" or "revoke")) return Run(args, input, output, error);
        var command = args[0];
        var url = Option(args, "--url") ?? environment(UrlVariable) ?? DefaultUrl;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var baseUri) || baseUri.Scheme is not ("http" or "https"))
        {
            error.WriteLine($"keys {command}: --url must be the gateway's http(s) address (got '{url}').");
            return Usage;
        }
        var adminKey = environment(ApiKeyVariable);
        if (string.IsNullOrWhiteSpace(adminKey))
        {
            error.WriteLine($"keys {command}: set {ApiKeyVariable} to an admin key of the gateway.");
            return Usage;
        }

        using var http = handler is null ? new HttpClient() : new HttpClient(handler, disposeHandler: false);
        // Relative paths below keep a path base (https://host/loom/).
        http.BaseAddress = baseUri.AbsoluteUri.EndsWith('/') ? baseUri : new Uri(baseUri.AbsoluteUri + "/");
        http.Timeout = TimeSpan.FromSeconds(30);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", adminKey.Trim());
        try
        {
            return command switch
            {
                "create" => await CreateAsync(args, http, output, error, cancellationToken),
                "list" => await ListAsync(args, http, output, error, cancellationToken),
                _ => await RevokeAsync(args, http, output, error, cancellationToken),
            };
        }
        catch (HttpRequestException ex)
        {
            error.WriteLine($"keys {command}: cannot reach the gateway at {baseUri} ({ex.Message}).");
            return Failure;
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            error.WriteLine($"keys {command}: the gateway at {baseUri} did not answer within {http.Timeout.TotalSeconds:0} s.");
            return Failure;
        }
        catch (JsonException)
        {
            // A success status with a body that is not the API's JSON: a proxy's login page, another service.
            error.WriteLine($"keys {command}: {baseUri} answered with something other than LOOM's API (not JSON); check --url.");
            return Failure;
        }
    }

    private static async Task<int> CreateAsync(IReadOnlyList<string> args, HttpClient http, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var owner = Option(args, "--owner");
        if (!ApiKeyRules.IsValidOwner(owner))
        {
            error.WriteLine($"keys create: --owner NAME is required ({ApiKeyRules.OwnerRule}).");
            return Usage;
        }
        var roles = Roles(Option(args, "--roles"), error, "create");
        if (roles is not { Length: > 0 })
        {
            if (roles is not null) error.WriteLine($"keys create: --roles is required ({string.Join(", ", LoomRoles.All)}).");
            return Usage;
        }
        DateTimeOffset? expires = null;
        if (Option(args, "--expires") is { } text)
        {
            if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed))
            {
                error.WriteLine("keys create: --expires must be a date and time such as 2027-01-01T00:00:00Z.");
                return Usage;
            }
            expires = parsed;
        }
        using var response = await http.PostAsJsonAsync("api/admin/keys",
            new { owner, roles, name = Option(args, "--name"), expiresAt = expires }, ct);
        if (!response.IsSuccessStatusCode) return await ReportAsync(response, "create", error, ct);
        var created = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
        output.WriteLine($"API key {created?["keyId"]} for '{owner}' ({string.Join(", ", roles)}), shown once; store it now:");
        output.WriteLine();
        output.WriteLine($"  {created?["key"]}");
        output.WriteLine();
        output.WriteLine("Revoke it with: Loom.Gateway keys revoke " + created?["keyId"]);
        return Success;
    }

    private static async Task<int> ListAsync(IReadOnlyList<string> args, HttpClient http, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var owner = Option(args, "--owner");
        string? after = null;
        output.WriteLine($"{"KEY-ID",-18} {"PREFIX",-13} {"OWNER",-20} {"ROLES",-28} {"CREATED",-20} {"LAST-USED",-20} {"EXPIRES",-20} {"STATE",-8} NAME");
        do
        {
            var query = "api/admin/keys?limit=200" + (owner is null ? "" : "&owner=" + Uri.EscapeDataString(owner))
                        + (after is null ? "" : "&after=" + Uri.EscapeDataString(after));
            using var response = await http.GetAsync(query, ct);
            if (!response.IsSuccessStatusCode) return await ReportAsync(response, "list", error, ct);
            var page = await response.Content.ReadFromJsonAsync<JsonObject>(ct);
            foreach (var key in page?["items"]?.AsArray() ?? [])
            {
                if (key is null) continue;
                var state = key["revokedAt"] is not null ? "revoked"
                    : key["expiresAt"] is { } e && e.GetValue<DateTimeOffset>() <= DateTimeOffset.UtcNow ? "expired" : "active";
                output.WriteLine($"{key["keyId"],-18} {key["prefix"],-13} {key["owner"],-20} {string.Join(",", key["roles"]!.AsArray()),-28} " +
                                 $"{Time(key["createdAt"]),-20} {Time(key["lastUsedAt"]),-20} {Time(key["expiresAt"]),-20} {state,-8} {key["name"]}");
            }
            after = page?["next"]?.GetValue<string>();
        } while (after is not null);
        return Success;
    }

    private static async Task<int> RevokeAsync(IReadOnlyList<string> args, HttpClient http, TextWriter output, TextWriter error, CancellationToken ct)
    {
        var keyId = args.Count >= 2 && !args[1].StartsWith("--", StringComparison.Ordinal) ? args[1] : null;
        if (keyId is null)
        {
            error.WriteLine("keys revoke: name the KEY-ID to revoke (see 'keys list').");
            return Usage;
        }
        using var response = await http.DeleteAsync("api/admin/keys/" + Uri.EscapeDataString(keyId), ct);
        if (!response.IsSuccessStatusCode) return await ReportAsync(response, "revoke", error, ct);
        output.WriteLine($"Revoked {keyId}; every gateway refuses it within seconds.");
        return Success;
    }

    /// <summary>The gateway's problem detail, not a stack of HTTP noise.</summary>
    private static async Task<int> ReportAsync(HttpResponseMessage response, string command, TextWriter error, CancellationToken ct)
    {
        var detail = "";
        try
        {
            detail = (await response.Content.ReadFromJsonAsync<JsonObject>(ct))?["detail"]?.GetValue<string>() ?? "";
        }
        catch (JsonException)
        {
            // Not problem+json (a proxy's page): the status says enough.
        }
        error.WriteLine($"keys {command}: the gateway answered {(int)response.StatusCode} {response.ReasonPhrase}. {detail}".TrimEnd());
        return Failure;
    }

    private static string Time(JsonNode? node) => node is null ? "-" : node.GetValue<DateTimeOffset>().UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    /// <summary>Comma-separated known roles; empty when not given; null (after an error line) when one is unknown.</summary>
    private static string[]? Roles(string? text, TextWriter error, string command)
    {
        var roles = (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Distinct().ToArray();
        if (roles.FirstOrDefault(r => !LoomRoles.IsKnown(r)) is { } unknown)
        {
            error.WriteLine($"keys {command}: unknown role '{unknown}' (roles: {string.Join(", ", LoomRoles.All)}).");
            return null;
        }
        return roles;
    }

    /// <summary>256 random bits, URL-safe, with a prefix that secret scanners and humans recognise (<see cref="ApiKeyShape"/>).</summary>
    public static string NewKey() =>
        ApiKeyShape.Prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static string? Option(IReadOnlyList<string> args, string name)
    {
        for (var i = 1; i < args.Count; i++)
        {
            if (args[i] == name && i + 1 < args.Count) return args[i + 1];
            if (args[i].StartsWith(name + "=", StringComparison.Ordinal)) return args[i][(name.Length + 1)..];
        }
        return null;
    }
}
