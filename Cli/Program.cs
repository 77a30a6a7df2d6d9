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
    // No termination handling by System.CommandLine: `loom play` turns Ctrl-C into "stop this turn" itself, and any other
    // command ends on Ctrl-C as processes do (SIGINT, exit 130).
    return await parse.InvokeAsync(new InvocationConfiguration { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null });
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
