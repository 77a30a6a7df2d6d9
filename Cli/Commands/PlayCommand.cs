using System.CommandLine;
using Loom.Cli.Api;
using Loom.Cli.Output;
using Loom.Cli.Play;

namespace Loom.Cli.Commands;

/// <summary>
/// <c>loom play SESSION</c>: interactive on a terminal (line editor with history); otherwise each <c>--input</c>, or
/// each line of standard input, is played in order and the first failure ends the run with its exit code.
/// </summary>
public static class PlayCommand
{
    public static Command Build()
    {
        var id = SessionCommands.SessionArgument();
        var inputs = new Option<string[]>("--input", "-i") { Description = "Play this line and exit (repeat for several; /commands work too)" };
        return new Command("play", "Play a session: streamed narration, /regen, /continue, /rollback N, /fork N, /context, /cost")
            .With(id, inputs)
            .WithApi(async (parse, api, ct) =>
            {
                var session = await api.GetAsync($"api/sessions/{LoomApi.Escape(parse.GetValue(id)!)}", ApiJson.Default.Session, ct);
                await using var events = await SessionEvents.OpenAsync(api, session.Value.SessionId, ct);
                var given = parse.GetValue(inputs) ?? [];
                var interactive = given.Length == 0 && !Console.IsInputRedirected;
                var play = new PlaySession(api, session.Value, events, Globals.WantsJson(parse), interactive);
                await play.LoadLatestTurnAsync(ct);
                return interactive ? await InteractiveAsync(play, session.Value, ct) : await ScriptedAsync(play, Lines(given), ct);
            });
    }

    private static async Task<int> InteractiveAsync(PlaySession play, Session session, CancellationToken ct)
    {
        Printer.Out.WriteLine($"{session.Name} — {session.WorldId} v{session.CanonVersion}, {session.TurnCount} turns. /help lists the commands, /quit or Ctrl-D ends.");
        var editor = new LineEditor(Printer.Out, Config.Profile.HistoryPath());
        while (editor.ReadLine("> ") is { } line)
        {
            // Ctrl-C while a line runs stops the turn being told (on the server) instead of ending the tool; at the
            // prompt the line editor takes it (an empty line: end).
            using var stop = new CancellationTokenSource();
            ConsoleCancelEventHandler onCtrlC = (_, e) =>
            {
                e.Cancel = true;
                stop.Cancel();
            };
            Console.CancelKeyPress += onCtrlC;
            try
            {
                if (!await play.RunLineAsync(line, ct, stop.Token)) break;
            }
            catch (CliException e)
            {
                // A refused turn or a bad command is reported and the story goes on.
                Console.Error.WriteLine(e.Message);
            }
            finally
            {
                Console.CancelKeyPress -= onCtrlC;
            }
        }
        return ExitCodes.Ok;
    }

    private static async Task<int> ScriptedAsync(PlaySession play, IEnumerable<string> lines, CancellationToken ct)
    {
        foreach (var line in lines)
        {
            if (!await play.RunLineAsync(line, ct)) break;
        }
        return ExitCodes.Ok;
    }

    private static IEnumerable<string> Lines(string[] given)
    {
        if (given.Length > 0)
        {
            foreach (var line in given) yield return line;
            yield break;
        }
        while (Console.In.ReadLine() is { } line) yield return line;
    }
}
