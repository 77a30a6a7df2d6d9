using System.CommandLine;
using Loom.Cli.Api;
using Loom.Cli.Config;

namespace Loom.Cli.Commands;

/// <summary>The options every command takes, and the API client they select.</summary>
public static class Globals
{
    public static readonly Option<string?> Url = new("--url")
    {
        Description = $"The gateway's base URL (else $LOOM_URL, else the profile, else {Connection.DefaultUrl})",
        Recursive = true,
    };

    public static readonly Option<string?> Key = new("--key")
    {
        Description = "The API key to send as a bearer token (else $LOOM_API_KEY, else the profile)",
        Recursive = true,
    };

    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the server's JSON answer instead of text",
        Recursive = true,
    };

    public static LoomApi Api(ParseResult parse) => new(Connection.Resolve(parse.GetValue(Url), parse.GetValue(Key)));

    public static bool WantsJson(ParseResult parse) => parse.GetValue(Json);

    /// <summary>A command whose action runs against the gateway and returns an exit code.</summary>
    public static Command WithApi(this Command command, Func<ParseResult, LoomApi, CancellationToken, Task<int>> action)
    {
        command.SetAction(async (parse, ct) =>
        {
            using var api = Api(parse);
            return await action(parse, api, ct);
        });
        return command;
    }

    public static Command With(this Command command, params Symbol[] symbols)
    {
        foreach (var symbol in symbols)
        {
            switch (symbol)
            {
                case Argument argument: command.Arguments.Add(argument); break;
                case Option option: command.Options.Add(option); break;
                case Command sub: command.Subcommands.Add(sub); break;
            }
        }
        return command;
    }

    /// <summary>Bytes to a file when one is named, else to standard output (refused for binary data on a terminal).</summary>
    public static async Task WriteOutputAsync(byte[] content, string? file, bool binary, CancellationToken ct)
    {
        if (!string.IsNullOrEmpty(file))
        {
            await File.WriteAllBytesAsync(file, content, ct);
            Console.Error.WriteLine($"Wrote {content.Length} bytes to {file}");
            return;
        }
        if (binary && !Console.IsOutputRedirected) throw CliException.Usage("This is binary data: name a file with --output or redirect standard output.");
        await using var stdout = Console.OpenStandardOutput();
        await stdout.WriteAsync(content, ct);
        await stdout.FlushAsync(ct);
    }

    public static Option<string?> OutputFile() => new("--output", "-o") { Description = "Write to this file instead of standard output" };

    public static string ReadableFile(string path)
    {
        if (!File.Exists(path)) throw CliException.Usage($"No such file: {path}");
        return path;
    }
}
