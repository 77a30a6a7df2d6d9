using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using Loom.Cli.Api;
using Loom.Cli.Output;
using static Loom.Cli.Api.LoomApi;

namespace Loom.Cli.Commands;

/// <summary><c>loom sessions …</c>: create, list, show, rename, archive, erase, export and import sessions.</summary>
public static class SessionCommands
{
    public static Command Build()
    {
        var sessions = new Command("sessions", "Your sessions (stories in progress)");
        sessions.Subcommands.Add(New());
        sessions.Subcommands.Add(List());
        sessions.Subcommands.Add(Show());
        sessions.Subcommands.Add(Rename());
        sessions.Subcommands.Add(Archive());
        sessions.Subcommands.Add(Remove());
        sessions.Subcommands.Add(Export());
        sessions.Subcommands.Add(Import());
        return sessions;
    }

    private static Command New()
    {
        var world = new Argument<string>("world") { Description = "The world to play" };
        var name = new Option<string?>("--name") { Description = "The session's name" };
        var version = new Option<int?>("--canon-version") { Description = "Pin a canon version (default: the latest)" };
        var provider = new Option<string?>("--provider") { Description = "The LLM provider (default: the server's)" };
        var model = new Option<string?>("--model") { Description = "The LLM model (default: the provider's)" };
        var quiet = new Option<bool>("--quiet", "-q") { Description = "Print only the new session's id" };
        return new Command("new", "Start a session in a world").With(world, name, version, provider, model, quiet).WithApi(async (parse, api, ct) =>
        {
            var llm = parse.GetValue(provider) is null && parse.GetValue(model) is null ? null : new LlmChoice(parse.GetValue(provider), parse.GetValue(model));
            var body = new NewSessionBody(parse.GetValue(world)!, parse.GetValue(name), parse.GetValue(version), llm);
            var result = await api.SendAsync(HttpMethod.Post, "api/sessions", body, ApiJson.Default.NewSessionBody, ApiJson.Default.Session, ct);
            if (parse.GetValue(quiet)) Printer.Out.WriteLine(result.Value.SessionId);
            else Print(parse, result);
            return ExitCodes.Ok;
        });
    }

    private static Command List()
    {
        var status = new Option<string?>("--status") { Description = "Only sessions in this status" };
        status.AcceptOnlyFromAmong("active", "paused", "completed", "archived");
        var limit = new Option<int?>("--limit") { Description = "At most this many (default 50, at most 200)" };
        var after = new Option<string?>("--after") { Description = "The cursor printed after the previous page" };
        return new Command("list", "List your sessions, newest first").With(status, limit, after).WithApi(async (parse, api, ct) =>
        {
            var query = new List<string>();
            if (parse.GetValue(status) is { } s) query.Add($"status={s}");
            if (parse.GetValue(limit) is { } l) query.Add(string.Create(CultureInfo.InvariantCulture, $"limit={l}"));
            if (parse.GetValue(after) is { } a) query.Add($"after={Escape(a)}");
            var page = await api.GetAsync("api/sessions" + (query.Count > 0 ? "?" + string.Join('&', query) : ""), ApiJson.Default.PageSession, ct);
            if (Globals.WantsJson(parse))
            {
                Printer.Json(page.Json);
                return ExitCodes.Ok;
            }
            Printer.Table(["SESSION", "NAME", "WORLD", "STATUS", "TURNS", "UPDATED"], page.Value.Items.Select(x => (IReadOnlyList<string>)
                [x.SessionId, x.Name, $"{x.WorldId} v{x.CanonVersion}", x.Status, x.TurnCount.ToString(CultureInfo.InvariantCulture), Printer.Time(x.UpdatedAt)]));
            if (page.Value.Next is { } next) Console.Error.WriteLine($"More: loom sessions list --after {next}");
            return ExitCodes.Ok;
        });
    }

    private static Command Show()
    {
        var id = SessionArgument();
        var turns = new Option<bool>("--turns") { Description = "Also print the story so far (up to 200 turns; with --json, the turn page)" };
        return new Command("show", "Show a session (and its turns)").With(id, turns).WithApi(async (parse, api, ct) =>
        {
            var sessionId = parse.GetValue(id)!;
            if (!parse.GetValue(turns))
            {
                Print(parse, await api.GetAsync($"api/sessions/{Escape(sessionId)}", ApiJson.Default.Session, ct));
                return ExitCodes.Ok;
            }
            var page = await api.GetAsync($"api/sessions/{Escape(sessionId)}/turns?limit=200", ApiJson.Default.PageTurn, ct);
            if (Globals.WantsJson(parse))
            {
                Printer.Json(page.Json);
                return ExitCodes.Ok;
            }
            Print(parse, await api.GetAsync($"api/sessions/{Escape(sessionId)}", ApiJson.Default.Session, ct));
            foreach (var turn in page.Value.Items)
            {
                Printer.Out.WriteLine();
                Printer.Out.WriteLine($"#{turn.Seq.ToString(CultureInfo.InvariantCulture)} > {turn.Input}");
                Printer.Out.WriteLine(turn.Narrative);
            }
            return ExitCodes.Ok;
        });
    }

    private static Command Rename()
    {
        var id = SessionArgument();
        var name = new Argument<string>("name") { Description = "The new name" };
        return new Command("rename", "Rename a session").With(id, name).WithApi(async (parse, api, ct) =>
        {
            Print(parse, await api.SendAsync(HttpMethod.Patch, $"api/sessions/{Escape(parse.GetValue(id)!)}", new RenameBody(parse.GetValue(name)!),
                ApiJson.Default.RenameBody, ApiJson.Default.Session, ct));
            return ExitCodes.Ok;
        });
    }

    private static Command Archive()
    {
        var id = SessionArgument();
        return new Command("archive", "Archive a session (kept, listed with --status archived)").With(id).WithApi(async (parse, api, ct) =>
        {
            await api.SendForBytesAsync(HttpMethod.Delete, $"api/sessions/{Escape(parse.GetValue(id)!)}", null, ct);
            Printer.Out.WriteLine($"Archived {parse.GetValue(id)}");
            return ExitCodes.Ok;
        });
    }

    private static Command Remove()
    {
        var id = SessionArgument();
        var yes = new Option<bool>("--yes", "-y") { Description = "Confirm: the session, its turns and memory are erased for good" };
        return new Command("rm", "Erase a session permanently").With(id, yes).WithApi(async (parse, api, ct) =>
        {
            if (!parse.GetValue(yes)) throw CliException.Usage("Erasing cannot be undone: add --yes (or use 'loom sessions archive').");
            await api.SendForBytesAsync(HttpMethod.Delete, $"api/sessions/{Escape(parse.GetValue(id)!)}?permanent=true", null, ct);
            Printer.Out.WriteLine($"Erased {parse.GetValue(id)}");
            return ExitCodes.Ok;
        });
    }

    private static Command Export()
    {
        var id = SessionArgument();
        var format = new Option<string>("--format") { Description = "json (re-importable), markdown or st-jsonl (SillyTavern chat)", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "markdown", "st-jsonl");
        var output = Globals.OutputFile();
        return new Command("export", "Export a whole session").With(id, format, output).WithApi(async (parse, api, ct) =>
        {
            var bytes = await api.SendForBytesAsync(HttpMethod.Get, $"api/sessions/{Escape(parse.GetValue(id)!)}/export?format={parse.GetValue(format)}", null, ct);
            await Globals.WriteOutputAsync(bytes, parse.GetValue(output), binary: false, ct);
            return ExitCodes.Ok;
        });
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A LOOM JSON export, or a SillyTavern chat with --format st-jsonl" };
        var format = new Option<string>("--format") { Description = "json or st-jsonl", DefaultValueFactory = _ => "json" };
        format.AcceptOnlyFromAmong("json", "st-jsonl");
        var world = new Option<string?>("--world") { Description = "The world a SillyTavern chat is played in" };
        return new Command("import", "Import a session as a new session of yours").With(file, format, world).WithApi(async (parse, api, ct) =>
        {
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(Globals.ReadableFile(parse.GetValue(file)!), ct));
            var path = "api/sessions/import";
            if (parse.GetValue(format) == "st-jsonl")
            {
                if (parse.GetValue(world) is not { } worldId) throw CliException.Usage("A SillyTavern chat needs --world.");
                path += $"?format=st-jsonl&worldId={Escape(worldId)}";
                content.Headers.ContentType = new MediaTypeHeaderValue("application/jsonl");
            }
            else content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            Print(parse, await api.SendAsync(HttpMethod.Post, path, content, ApiJson.Default.Session, ct));
            return ExitCodes.Ok;
        });
    }

    public static Argument<string> SessionArgument() => new("session") { Description = "The session's id" };

    public static void Print(ParseResult parse, ApiResult<Session> result)
    {
        if (Globals.WantsJson(parse))
        {
            Printer.Json(result.Json);
            return;
        }
        var s = result.Value;
        Printer.Fields(("Session", s.SessionId), ("Name", s.Name), ("World", $"{s.WorldId} v{s.CanonVersion.ToString(CultureInfo.InvariantCulture)}"),
            ("Status", s.Status), ("Turns", s.TurnCount.ToString(CultureInfo.InvariantCulture) + (s.PendingTurns > 0 ? $" ({s.PendingTurns.ToString(CultureInfo.InvariantCulture)} pending)" : "")),
            ("LLM", $"{s.Llm.Provider}/{s.Llm.Model}"), ("Usage", Printer.Tokens(s.Usage)), ("Forked from", s.ForkedFrom),
            ("Created", Printer.Time(s.CreatedAt)), ("Updated", Printer.Time(s.UpdatedAt)));
    }
}
