using System.CommandLine;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Loom.Cli.Api;
using Loom.Cli.Output;
using static Loom.Cli.Api.LoomApi;

namespace Loom.Cli.Commands;

/// <summary><c>loom worlds …</c>: list, show, validate and publish canon folders, diff versions, import and export cards.</summary>
public static partial class WorldCommands
{
    public static Command Build()
    {
        var worlds = new Command("worlds", "Worlds and their canon (author role)");
        worlds.Subcommands.Add(List());
        worlds.Subcommands.Add(Show());
        worlds.Subcommands.Add(Validate());
        worlds.Subcommands.Add(Publish());
        worlds.Subcommands.Add(Diff());
        worlds.Subcommands.Add(Import());
        worlds.Subcommands.Add(Export());
        return worlds;
    }

    private static Command List() => new Command("list", "List the worlds you may play or edit").WithApi(async (parse, api, ct) =>
    {
        var page = await api.GetAsync("api/worlds", ApiJson.Default.PageWorld, ct);
        if (Globals.WantsJson(parse)) Printer.Json(page.Json);
        else Printer.Table(["WORLD", "TITLE", "VERSION", "VISIBILITY", "UPDATED"],
            page.Value.Items.Select(w => (IReadOnlyList<string>)[w.WorldId, w.Title, Num(w.LatestVersion), w.Visibility ?? "-", Printer.Time(w.UpdatedAt)]));
        return ExitCodes.Ok;
    });

    private static Command Show()
    {
        var id = new Argument<string>("world") { Description = "The world's id" };
        return new Command("show", "Show a world, its versions and the sections of its latest canon").With(id).WithApi(async (parse, api, ct) =>
        {
            var world = await api.GetAsync($"api/worlds/{Escape(parse.GetValue(id)!)}", ApiJson.Default.World, ct);
            if (Globals.WantsJson(parse))
            {
                Printer.Json(world.Json);
                return ExitCodes.Ok;
            }
            var w = world.Value;
            Printer.Fields(("World", w.WorldId), ("Title", w.Title), ("Owner", w.Owner), ("Visibility", w.Visibility),
                ("Latest", Num(w.LatestVersion)), ("Updated", Printer.Time(w.UpdatedAt)));
            Printer.Out.WriteLine();
            Printer.Table(["VERSION", "PUBLISHED", "HASH"], w.Versions.Select(v => (IReadOnlyList<string>)[Num(v.Version), Printer.Time(v.CreatedAt), v.Hash]));
            var canon = await api.GetAsync($"api/worlds/{Escape(w.WorldId)}/canon", ApiJson.Default.CanonVersion, ct);
            Printer.Out.WriteLine();
            Printer.Table(["SECTION", "TYPE", "FILE"], canon.Value.Sections.Select(s => (IReadOnlyList<string>)[s.Name, s.Type, s.File ?? "-"]));
            return ExitCodes.Ok;
        });
    }

    private static Command Validate()
    {
        var dir = CanonArgument();
        return new Command("validate", "Check a canon folder (or one Markdown file) without publishing it").With(dir).WithApi(async (parse, api, ct) =>
        {
            var body = new CanonBody(null, CanonFolder.Read(parse.GetValue(dir)!));
            var result = await api.SendAsync(HttpMethod.Post, "api/canon/validate", body, ApiJson.Default.CanonBody, ApiJson.Default.Validation, ct);
            var v = result.Value;
            if (Globals.WantsJson(parse)) Printer.Json(result.Json);
            else
            {
                foreach (var issue in v.Errors) Printer.Out.WriteLine($"error   {Where(issue)}{issue.Code}: {issue.Message}");
                foreach (var issue in v.Warnings) Printer.Out.WriteLine($"warning {Where(issue)}{issue.Code}: {issue.Message}");
                Printer.Out.WriteLine(v.Valid
                    ? $"Valid: {v.Sections.Count} sections ({string.Join(", ", v.Sections.Select(s => s.Type).Distinct())})"
                    : $"Invalid: {v.Errors.Count} error(s)");
            }
            return v.Valid ? ExitCodes.Ok : ExitCodes.Refused;
        });
    }

    private static Command Publish()
    {
        var dir = CanonArgument();
        var id = new Option<string?>("--id") { Description = "The world's id (default: the folder's name)" };
        var title = new Option<string?>("--title") { Description = "The world's title (default: from the canon)" };
        return new Command("publish", "Publish a canon folder as the world's next version").With(dir, id, title).WithApi(async (parse, api, ct) =>
        {
            var path = parse.GetValue(dir)!;
            var worldId = parse.GetValue(id) ?? WorldIdFrom(path);
            var body = new CanonBody(parse.GetValue(title), CanonFolder.Read(path));
            var result = await api.SendAsync(HttpMethod.Put, $"api/worlds/{Escape(worldId)}", body, ApiJson.Default.CanonBody, ApiJson.Default.CanonVersion, ct);
            if (Globals.WantsJson(parse)) Printer.Json(result.Json);
            else
            {
                var c = result.Value;
                Printer.Out.WriteLine($"Published {c.WorldId} version {c.Version} ({c.Sections.Count} sections, hash {ShortHash(c.Hash)})");
                foreach (var issue in c.Warnings ?? []) Printer.Out.WriteLine($"warning {Where(issue)}{issue.Code}: {issue.Message}");
            }
            return ExitCodes.Ok;
        });
    }

    private static Command Diff()
    {
        var id = new Argument<string>("world") { Description = "The world's id" };
        var from = new Argument<int>("from") { Description = "The older version" };
        var to = new Argument<int>("to") { Description = "The newer version" };
        return new Command("diff", "Show what changed between two versions of a world's canon").With(id, from, to).WithApi(async (parse, api, ct) =>
        {
            var path = string.Create(CultureInfo.InvariantCulture, $"api/worlds/{Escape(parse.GetValue(id)!)}/diff?from={parse.GetValue(from)}&to={parse.GetValue(to)}");
            var diff = await api.GetAsync(path, ApiJson.Default.WorldDiff, ct);
            if (Globals.WantsJson(parse))
            {
                Printer.Json(diff.Json);
                return ExitCodes.Ok;
            }
            foreach (var file in diff.Value.Files)
            {
                Printer.Out.WriteLine($"{file.Status,-10} {file.File}");
                if (file.Status != "unchanged" && !string.IsNullOrEmpty(file.Diff)) Printer.Out.WriteLine(file.Diff.TrimEnd('\n'));
            }
            return ExitCodes.Ok;
        });
    }

    private static Command Import()
    {
        var file = new Argument<string>("file") { Description = "A character card (PNG, JSON V2/V3, CHARX) or a World Info lorebook" };
        var id = new Option<string?>("--id") { Description = "The world's id (default: from the card's name)" };
        return new Command("import", "Make a world from a character card or a lorebook").With(file, id).WithApi(async (parse, api, ct) =>
        {
            var path = Globals.ReadableFile(parse.GetValue(file)!);
            var content = new ByteArrayContent(await File.ReadAllBytesAsync(path, ct));
            content.Headers.ContentType = new MediaTypeHeaderValue(Path.GetExtension(path).ToLowerInvariant() switch
            {
                ".png" => "image/png",
                ".json" => "application/json",
                ".charx" or ".zip" => "application/zip",
                _ => "application/octet-stream",
            });
            var query = parse.GetValue(id) is { } worldId ? $"?worldId={Escape(worldId)}" : "";
            var result = await api.SendAsync(HttpMethod.Post, $"api/worlds/import{query}", content, ApiJson.Default.ImportedWorld, ct);
            if (Globals.WantsJson(parse)) Printer.Json(result.Json);
            else Printer.Out.WriteLine($"Imported {result.Value.WorldId} version {result.Value.Version}");
            return ExitCodes.Ok;
        });
    }

    private static Command Export()
    {
        var id = new Argument<string>("world") { Description = "The world's id" };
        var format = new Option<string>("--format") { Description = "card-v3, card-v2, png or lorebook", DefaultValueFactory = _ => "card-v3" };
        format.AcceptOnlyFromAmong("card-v3", "card-v2", "png", "lorebook");
        var version = new Option<int?>("--version") { Description = "The canon version (default: the latest)" };
        var output = Globals.OutputFile();
        return new Command("export", "Export a world as a character card or a lorebook").With(id, format, version, output).WithApi(async (parse, api, ct) =>
        {
            var query = $"?format={Escape(parse.GetValue(format)!)}" + (parse.GetValue(version) is { } v ? $"&version={Num(v)}" : "");
            var bytes = await api.SendForBytesAsync(HttpMethod.Get, $"api/worlds/{Escape(parse.GetValue(id)!)}/export{query}", null, ct);
            await Globals.WriteOutputAsync(bytes, parse.GetValue(output), binary: parse.GetValue(format) == "png", ct);
            return ExitCodes.Ok;
        });
    }

    private static Argument<string> CanonArgument() => new("dir") { Description = "A folder of Markdown canon files (lore/*.md included), or one .md file" };

    /// <summary>A folder named "Ember Vale" publishes as <c>ember-vale</c> (the contract's id pattern).</summary>
    private static string WorldIdFrom(string path)
    {
        var name = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(Path.GetFullPath(path)));
        var id = NotIdCharacters().Replace(name.ToLowerInvariant(), "-").Trim('-');
        if (id.Length == 0) throw CliException.Usage($"Cannot make a world id from '{name}': pass --id.");
        return id.Length > 64 ? id[..64] : id;
    }

    private static string ShortHash(string hash)
    {
        var hex = hash.StartsWith("sha256:", StringComparison.Ordinal) ? hash["sha256:".Length..] : hash;
        return hex[..Math.Min(12, hex.Length)];
    }

    private static string Where(Issue issue) =>
        issue.File is null ? "" : issue.Line is { } line ? $"{issue.File}:{Num(line)}: " : $"{issue.File}: ";

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    [GeneratedRegex("[^a-z0-9-]+")]
    private static partial Regex NotIdCharacters();
}
