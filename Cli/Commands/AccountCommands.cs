using System.CommandLine;
using System.Globalization;
using Loom.Cli.Api;
using Loom.Cli.Config;
using Loom.Cli.Output;
using static Loom.Cli.Api.LoomApi;

namespace Loom.Cli.Commands;

/// <summary><c>loom usage</c>, <c>loom keys …</c> (admin role), <c>loom login</c> and <c>loom logout</c>.</summary>
public static class AccountCommands
{
    public static Command Usage() => new Command("usage", "Your LLM tokens and cost: all time, today, this month, and your budgets").WithApi(async (parse, api, ct) =>
    {
        var usage = await api.GetAsync("api/usage", ApiJson.Default.OwnerUsage, ct);
        if (Globals.WantsJson(parse))
        {
            Printer.Json(usage.Json);
            return ExitCodes.Ok;
        }
        var u = usage.Value;
        Printer.Fields(("Owner", u.OwnerId), ("All time", $"{Printer.Tokens(u.Total)} in {Num(u.Turns)} turns"),
            ($"Day {u.Day.Period}", $"{Printer.Tokens(u.Day.Usage)} in {Num(u.Day.Turns)} turns"),
            ($"Month {u.Month.Period}", $"{Printer.Tokens(u.Month.Usage)} in {Num(u.Month.Turns)} turns"),
            ("Daily budget", Budget(u.Budget.DailyUsd, u.Budget.DailyTokens)), ("Monthly budget", Budget(u.Budget.MonthlyUsd, u.Budget.MonthlyTokens)));
        return ExitCodes.Ok;
    });

    public static Command Keys()
    {
        var keys = new Command("keys", "API keys (admin role)");

        var owner = new Option<string?>("--owner") { Description = "Only this owner's keys" };
        keys.Subcommands.Add(new Command("list", "List keys, oldest first").With(owner).WithApi(async (parse, api, ct) =>
        {
            var query = parse.GetValue(owner) is { } o ? $"?owner={Escape(o)}&limit=200" : "?limit=200";
            var page = await api.GetAsync("api/admin/keys" + query, ApiJson.Default.PageApiKey, ct);
            if (Globals.WantsJson(parse)) Printer.Json(page.Json);
            else Printer.Table(["KEY", "PREFIX", "OWNER", "ROLES", "NAME", "CREATED", "STATE"], page.Value.Items.Select(k => (IReadOnlyList<string>)
                [k.KeyId, k.Prefix, k.Owner, string.Join(',', k.Roles), k.Name ?? "-", Printer.Time(k.CreatedAt), State(k)]));
            return ExitCodes.Ok;
        }));

        var showId = KeyArgument();
        keys.Subcommands.Add(new Command("show", "Show one key").With(showId).WithApi(async (parse, api, ct) =>
        {
            var key = await api.GetAsync($"api/admin/keys/{Escape(parse.GetValue(showId)!)}", ApiJson.Default.ApiKey, ct);
            if (Globals.WantsJson(parse)) Printer.Json(key.Json);
            else
            {
                var k = key.Value;
                Printer.Fields(("Key", k.KeyId), ("Prefix", k.Prefix), ("Owner", k.Owner), ("Roles", string.Join(", ", k.Roles)), ("Name", k.Name),
                    ("Created", $"{Printer.Time(k.CreatedAt)} by {k.CreatedBy ?? "-"}"), ("Last used", Printer.Time(k.LastUsedAt)),
                    ("Expires", Printer.Time(k.ExpiresAt)), ("State", State(k)));
            }
            return ExitCodes.Ok;
        }));

        var newOwner = new Argument<string>("owner") { Description = "Who the key acts as" };
        var roles = new Option<string[]>("--role") { Description = "admin, author, player or viewer (repeat for several)", Required = true, AllowMultipleArgumentsPerToken = true };
        roles.AcceptOnlyFromAmong("admin", "author", "player", "viewer");
        var name = new Option<string?>("--name") { Description = "A label for the key" };
        var expires = new Option<DateTimeOffset?>("--expires") { Description = "When the key stops working (ISO-8601)" };
        keys.Subcommands.Add(new Command("create", "Create a key; the key itself is printed this once").With(newOwner, roles, name, expires).WithApi(async (parse, api, ct) =>
        {
            var body = new NewKeyBody(parse.GetValue(newOwner)!, parse.GetValue(roles)!, parse.GetValue(name), parse.GetValue(expires));
            var created = await api.SendAsync(HttpMethod.Post, "api/admin/keys", body, ApiJson.Default.NewKeyBody, ApiJson.Default.CreatedKey, ct);
            if (Globals.WantsJson(parse)) Printer.Json(created.Json);
            else
            {
                Printer.Fields(("Key id", created.Value.KeyId), ("Owner", created.Value.Owner), ("Roles", string.Join(", ", created.Value.Roles)), ("Key", created.Value.Key));
                Console.Error.WriteLine("Store the key now: the server never shows it again.");
            }
            return ExitCodes.Ok;
        }));

        var revokeId = KeyArgument();
        keys.Subcommands.Add(new Command("revoke", "Revoke a key (every gateway refuses it within seconds)").With(revokeId).WithApi(async (parse, api, ct) =>
        {
            await api.SendForBytesAsync(HttpMethod.Delete, $"api/admin/keys/{Escape(parse.GetValue(revokeId)!)}", null, ct);
            Printer.Out.WriteLine($"Revoked {parse.GetValue(revokeId)}");
            return ExitCodes.Ok;
        }));
        return keys;
    }

    /// <summary>Checks the URL and key against the gateway, then saves them as the profile.</summary>
    public static Command Login()
    {
        // A key typed after --key stays in the shell's history and, while the command runs, in /proc/*/cmdline.
        var keyStdin = new Option<bool>("--key-stdin") { Description = "Read the API key from standard input (its first line), e.g. < key.txt" };
        return new Command("login", "Check a gateway URL and API key and save them to the profile (~/.config/loom/profile.json)").With(keyStdin).WithApi(async (parse, api, ct) =>
        {
            var key = api.Connection.ApiKey;
            var checkedApi = api;
            if (parse.GetValue(keyStdin))
            {
                if (!string.IsNullOrEmpty(parse.GetValue(Globals.Key))) throw CliException.Usage("Give the key with --key or --key-stdin, not both.");
                // A key file saved by a Windows editor may start with a byte-order mark, which is not whitespace.
                key = Console.IsInputRedirected ? Console.In.ReadLine()?.Trim().TrimStart('\uFEFF').Trim() : Prompt(allowEmpty: false);
                if (string.IsNullOrEmpty(key)) throw CliException.Usage("--key-stdin: standard input holds no key.");
                checkedApi = new LoomApi(api.Connection with { ApiKey = key });
            }
            else if (string.IsNullOrEmpty(key) && !Console.IsInputRedirected)
            {
                key = Prompt(allowEmpty: true);
                checkedApi = new LoomApi(api.Connection with { ApiKey = key });
            }
            try
            {
                var usage = await checkedApi.GetAsync("api/usage", ApiJson.Default.OwnerUsage, ct);
                var path = Profile.DefaultPath();
                new Profile(api.Connection.BaseAddress.ToString(), string.IsNullOrEmpty(key) ? null : key).Save(path);
                Printer.Out.WriteLine($"Logged in to {api.Connection.BaseAddress} as {usage.Value.OwnerId}; saved {path}");
                return ExitCodes.Ok;
            }
            finally
            {
                if (!ReferenceEquals(checkedApi, api)) checkedApi.Dispose();
            }
        });
    }

    public static Command Logout()
    {
        var command = new Command("logout", "Forget the saved profile");
        command.SetAction(_ =>
        {
            var path = Profile.DefaultPath();
            if (File.Exists(path)) File.Delete(path);
            Printer.Out.WriteLine($"Removed {path}");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Prompt(bool allowEmpty)
    {
        Console.Error.Write(allowEmpty ? "API key (empty for none): " : "API key: ");
        return ReadSecret();
    }

    private static string ReadSecret()
    {
        var key = new System.Text.StringBuilder();
        while (true)
        {
            var k = Console.ReadKey(intercept: true);
            if (k.Key == ConsoleKey.Enter) break;
            if (k.Key == ConsoleKey.Backspace) { if (key.Length > 0) key.Length--; }
            else if (!char.IsControl(k.KeyChar)) key.Append(k.KeyChar);
        }
        Console.Error.WriteLine();
        return key.ToString();
    }

    private static Argument<string> KeyArgument() => new("key-id") { Description = "The key's id" };

    private static string State(ApiKey k) =>
        k.RevokedAt is not null ? "revoked" : k.ExpiresAt is { } e && e <= DateTimeOffset.UtcNow ? "expired" : "active";

    private static string Budget(decimal? usd, long? tokens) =>
        usd is null && tokens is null ? "none" : string.Join(", ", new[] { usd is { } u ? Printer.Usd(u) : null, tokens is { } t ? $"{Num(t)} tokens" : null }.Where(x => x is not null));

    private static string Num(long value) => value.ToString(CultureInfo.InvariantCulture);
}
