using System.CommandLine;
using System.CommandLine.Invocation;
using Loom.Cli;
using Loom.Cli.Commands;

// The `loom` command line: a client of the gateway's public REST API (docs/cli.md).
var root = new RootCommand("loom: play, author and inspect LOOM stories from the terminal, through a gateway's REST API");
root.Options.Add(Globals.Url);
root.Options.Add(Globals.Key);
root.Options.Add(Globals.Json);
root.Subcommands.Add(WorldCommands.Build());
root.Subcommands.Add(SessionCommands.Build());
root.Subcommands.Add(PlayCommand.Build());
root.Subcommands.Add(AccountCommands.Usage());
root.Subcommands.Add(AccountCommands.Keys());
root.Subcommands.Add(AccountCommands.Login());
root.Subcommands.Add(AccountCommands.Logout());

var parse = root.Parse(args);
if (parse.Action is ParseErrorAction errors)
{
    errors.ShowHelp = false;
    await parse.InvokeAsync();
    Console.Error.WriteLine("Run with --help for usage.");
    return ExitCodes.Usage;
}

try
{
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false });
}
catch (CliException e)
{
    Console.Out.Flush();
    Console.Error.WriteLine($"loom: {e.Message}");
    return e.ExitCode;
}
catch (OperationCanceledException)
{
    return 130; // interrupted (Ctrl-C), as shells report SIGINT
}
