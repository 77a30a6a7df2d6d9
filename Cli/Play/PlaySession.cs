using System.Globalization;
using System.Net.ServerSentEvents;
using System.Text;
using System.Text.Json;
using Loom.Cli.Api;
using Loom.Cli.Output;
using static Loom.Cli.Api.LoomApi;

namespace Loom.Cli.Play;

/// <summary>
/// One <c>loom play</c> run: each input line becomes a turn whose narration is printed as the event stream delivers it;
/// lines starting with <c>/</c> are commands (<c>/regen</c>, <c>/continue</c>, <c>/rollback N</c>, <c>/fork N</c>,
/// <c>/context</c>, <c>/cost</c>, <c>/help</c>, <c>/quit</c>). With <paramref name="json"/>, every finished turn
/// or command answer is one line of the server's JSON instead.
/// </summary>
public sealed class PlaySession(LoomApi api, Session session, SessionEvents events, bool json, bool interactive)
{
    /// <summary>How long without any event before the turn itself is read (a stream can drop, or an operation may
    /// not stream at all); the turn is followed until it finishes either way.</summary>
    private static readonly TimeSpan QuietPoll = TimeSpan.FromSeconds(2);

    private readonly string _path = $"api/sessions/{Escape(session.SessionId)}";
    private string? _lastTurnId;

    public static readonly string Help = """
        Type what you do; the narrator answers. Inline markers shape the story:
          (OOC: …)  [EDIT: target: change]  [RETCON: …]  [TONE: …]  [INTENT: …]  [META: …]
        Commands:
          /regen             narrate the latest turn again (a new alternative)
          /continue          extend the latest narration
          /rollback N [why]  return the story to turn N (later turns are retconned)
          /fork N [name]     start a new session from turns 1..N
          /context           what went into the latest turn's prompt
          /cost              tokens and cost of this session and its latest turn
          /help, /quit
        """;

    private CancellationToken _stop;

    public async Task LoadLatestTurnAsync(CancellationToken ct)
    {
        var count = session.TurnCount;
        if (count == 0) return;
        var page = await api.GetAsync(string.Create(CultureInfo.InvariantCulture, $"{_path}/turns?after={count - 1}&limit=1"), ApiJson.Default.PageTurn, ct);
        _lastTurnId = page.Value.Items.LastOrDefault()?.TurnId;
    }

    /// <summary>Runs one line; returns false when the user asked to quit.</summary>
    /// <summary>Runs one line. <paramref name="stop"/> (Ctrl-C while a turn is told) stops that turn on the server.</summary>
    public async Task<bool> RunLineAsync(string line, CancellationToken ct, CancellationToken stop = default)
    {
        _stop = stop;
        line = line.Trim();
        if (line.Length == 0) return true;
        if (!line.StartsWith('/'))
        {
            if (!interactive && !json) Printer.Out.WriteLine($"> {line}");
            var headers = new[] { KeyValuePair.Create("Idempotency-Key", Guid.NewGuid().ToString("N")) };
            var accepted = await api.SendAsync(HttpMethod.Post, $"{_path}/turns", new InputBody(line), ApiJson.Default.InputBody, ApiJson.Default.Turn, ct, headers);
            await FollowAsync(accepted.Value, ct);
            return true;
        }

        var parts = line.Split(' ', 3, StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        switch (parts[0].ToLowerInvariant())
        {
            case "/quit" or "/exit" or "/q":
                return false;
            case "/help" or "/?":
                Printer.Out.WriteLine(Help);
                return true;
            case "/regen" or "/regenerate":
                await TurnOperationAsync("regenerate", ct);
                return true;
            case "/continue":
                await TurnOperationAsync("continue", ct);
                return true;
            case "/rollback":
            {
                var body = new RollbackBody(SeqArgument(parts, "/rollback N [reason]"), parts.Length > 2 ? parts[2] : null);
                var result = await api.SendAsync(HttpMethod.Post, $"{_path}/rollback", body, ApiJson.Default.RollbackBody, ApiJson.Default.Session, ct);
                if (json) WriteCompact(result.Json);
                else Printer.Out.WriteLine($"Rolled back to turn {body.ToSeq.ToString(CultureInfo.InvariantCulture)}: later turns are retconned.");
                session = result.Value;
                await LoadLatestTurnAsync(ct);
                return true;
            }
            case "/fork":
            {
                var body = new ForkBody(SeqArgument(parts, "/fork N [name]"), parts.Length > 2 ? parts[2] : null, null);
                var result = await api.SendAsync(HttpMethod.Post, $"{_path}/fork", body, ApiJson.Default.ForkBody, ApiJson.Default.Session, ct);
                if (json) WriteCompact(result.Json);
                else Printer.Out.WriteLine($"Forked at turn {body.AtSeq.ToString(CultureInfo.InvariantCulture)} into {result.Value.SessionId} (\"{result.Value.Name}\"); play it with: loom play {result.Value.SessionId}");
                return true;
            }
            case "/context":
                await ContextAsync(ct);
                return true;
            case "/cost":
                await CostAsync(ct);
                return true;
            default:
                throw CliException.Usage($"Unknown command {parts[0]}; /help lists them.");
        }
    }

    private async Task TurnOperationAsync(string operation, CancellationToken ct)
    {
        var turnId = _lastTurnId ?? throw CliException.Usage($"There is no turn to {operation} yet.");
        var result = await api.SendAsync(HttpMethod.Post, $"{_path}/turns/{Escape(turnId)}/{operation}", new StringContent("{}", null, "application/json"),
            ApiJson.Default.Turn, ct);
        // The answer is the turn being narrated; an answer without one still leaves the latest turn to follow.
        await FollowAsync(result.Value.TurnId is null ? result.Value with { TurnId = turnId } : result.Value, ct, rewrite: true);
    }

    /// <summary>
    /// Prints the turn's narration as its <c>turn.delta</c> events arrive, until <c>turn.completed</c> or <c>turn.failed</c>.
    /// After a quiet spell the turn is read directly: once it has finished, whatever the stream still holds is taken and
    /// the turn ends from what the server stored, so a dropped stream or an operation that did not stream still ends.
    /// </summary>
    private async Task FollowAsync(Turn turn, CancellationToken ct, bool rewrite = false)
    {
        _lastTurnId = turn.TurnId;
        var printed = new StringBuilder();
        var stopped = false;
        while (true)
        {
            using (var quiet = CancellationTokenSource.CreateLinkedTokenSource(ct, stopped ? CancellationToken.None : _stop))
            {
                quiet.CancelAfter(QuietPoll);
                try
                {
                    while (await events.Reader.WaitToReadAsync(quiet.Token))
                    {
                        if (events.Reader.TryRead(out var item) && Take(item, turn.TurnId, printed, rewrite) is { } done)
                        {
                            Finish(done.Turn, done.Raw, printed.ToString());
                            return;
                        }
                    }
                }
                catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                {
                    // Quiet for a while (or stopped): look at the turn itself below.
                    if (!stopped && _stop.IsCancellationRequested)
                    {
                        stopped = true;
                        await StopAsync(turn.TurnId, ct);
                    }
                }
            }

            if (events.Reader.Completion.IsCompleted) await Task.Delay(QuietPoll / 4, ct); // the stream is gone: poll gently
            var current = await api.GetAsync($"{_path}/turns/{Escape(turn.TurnId)}", ApiJson.Default.Turn, ct);
            if (!current.Value.IsFinished) continue;
            while (events.Reader.TryRead(out var item))
            {
                if (Take(item, turn.TurnId, printed, rewrite) is { } done)
                {
                    Finish(done.Turn, done.Raw, printed.ToString());
                    return;
                }
            }
            Finish(current.Value, current.Json, printed.ToString());
            return;
        }
    }

    /// <summary>Ctrl-C: the server stops the turn (it ends failed as "cancelled"); one that just finished stays as it is.</summary>
    private async Task StopAsync(string turnId, CancellationToken ct)
    {
        Console.Error.WriteLine();
        Console.Error.WriteLine("Stopping the narrator…");
        try
        {
            await api.SendAsync(HttpMethod.Post, $"{_path}/turns/{Escape(turnId)}/cancel", new StringContent("{}", null, "application/json"),
                ApiJson.Default.Turn, ct);
        }
        catch (CliException e)
        {
            Console.Error.WriteLine(e.Message); // e.g. it finished meanwhile (409): the turn is shown as it ended
        }
    }

    /// <summary>Prints a delta of the followed turn; returns the turn when the event says it finished.</summary>
    private (Turn Turn, string Raw)? Take(SseItem<string> item, string turnId, StringBuilder printed, bool rewrite)
    {
        switch (item.EventType)
        {
            case "turn.delta":
                var delta = JsonSerializer.Deserialize(item.Data, ApiJson.Default.TurnDelta);
                if (delta?.TurnId != turnId || json) return null;
                if (printed.Length == 0 && rewrite) Printer.Out.WriteLine();
                Printer.Out.Write(delta.Text);
                Printer.Out.Flush();
                printed.Append(delta.Text);
                return null;
            case "turn.completed" or "turn.failed":
                var finished = JsonSerializer.Deserialize(item.Data, ApiJson.Default.Turn);
                return finished?.TurnId == turnId ? (finished, item.Data) : null;
            default:
                return null;
        }
    }

    /// <summary>Ends the turn's output: the narration not streamed yet (all of it when nothing streamed), its markers, the OOC reply.</summary>
    private void Finish(Turn turn, string raw, string streamed)
    {
        if (json)
        {
            WriteCompact(raw);
        }
        else
        {
            var narrative = turn.Narrative ?? "";
            if (streamed.Length == 0) Printer.Out.Write(narrative);
            else if (narrative.StartsWith(streamed, StringComparison.Ordinal)) Printer.Out.Write(narrative[streamed.Length..]);
            Printer.Out.WriteLine();
            foreach (var marker in turn.Interventions ?? [])
            {
                Printer.Out.WriteLine($"  [{marker.Type}] {marker.Content}{(marker.Status is null ? "" : $" ({marker.Status}{(marker.Detail is null ? "" : ": " + marker.Detail)})")}");
            }
            if (!string.IsNullOrEmpty(turn.OocReply)) Printer.Out.WriteLine($"  (OOC) {turn.OocReply}");
            foreach (var warning in turn.Warnings ?? []) Printer.Out.WriteLine($"  warning: {warning}");
            Printer.Out.WriteLine();
        }
        if (turn.Status == "failed")
            throw new CliException(ExitCodes.Server, $"Turn {turn.Seq.ToString(CultureInfo.InvariantCulture)} failed: {turn.Error?.Code}: {turn.Error?.Message}");
    }

    private async Task ContextAsync(CancellationToken ct)
    {
        var turnId = _lastTurnId ?? throw CliException.Usage("There is no turn yet.");
        var result = await api.GetAsync($"{_path}/turns/{Escape(turnId)}/context", ApiJson.Default.TurnContext, ct);
        if (json)
        {
            WriteCompact(result.Json);
            return;
        }
        var c = result.Value.Context;
        var t = c.Tokens;
        Printer.Out.WriteLine($"Turn {result.Value.Seq.ToString(CultureInfo.InvariantCulture)} ({c.WorldId} v{c.CanonVersion.ToString(CultureInfo.InvariantCulture)}): {Num(t.Total)} of {Num(t.TotalBudget)} prompt tokens{(c.ContextTruncated ? ", memory cut to fit" : "")}");
        Printer.Out.WriteLine($"  canon {Num(t.Canon)}, lore {Num(t.Lore)}/{Num(t.LoreBudget)}, context {Num(t.Context)}/{Num(t.ContextBudget)}, recent turns {Num(t.RecentTurns)}/{Num(t.RecentTurnsBudget)}, input {Num(t.Input)}");
        Printer.Out.WriteLine($"  memory: {(c.Memory.Count == 0 ? "-" : string.Join(", ", c.Memory))}");
        Printer.Out.WriteLine($"  summaries: {(c.Summaries.Count == 0 ? "-" : string.Join(", ", c.Summaries))}");
        Printer.Out.WriteLine($"  recent turns: {(c.RecentTurns.Count == 0 ? "-" : string.Join(", ", c.RecentTurns))}{(c.RecentTurnsOmitted > 0 ? $" ({Num(c.RecentTurnsOmitted)} left out)" : "")}");
        Printer.Out.WriteLine($"  lore: {(c.Lore.Count == 0 ? "-" : string.Join(", ", c.Lore.Select(l => $"{l.Entry} ({l.Reason}{(l.Key is null ? "" : ": " + l.Key)}, {Num(l.Tokens)} tokens)")))}");
    }

    private async Task CostAsync(CancellationToken ct)
    {
        var current = await api.GetAsync(_path, ApiJson.Default.Session, ct);
        if (json)
        {
            WriteCompact(current.Json);
            return;
        }
        Printer.Out.WriteLine($"Session: {Printer.Tokens(current.Value.Usage)} over {Num(current.Value.TurnCount)} turns");
        if (_lastTurnId is { } turnId)
        {
            var turn = await api.GetAsync($"{_path}/turns/{Escape(turnId)}", ApiJson.Default.Turn, ct);
            if (turn.Value.Usage is { } usage) Printer.Out.WriteLine($"Latest turn {Num(turn.Value.Seq)}: {Printer.Tokens(usage)}");
        }
    }

    private static int SeqArgument(string[] parts, string usage) =>
        parts.Length > 1 && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var seq)
            ? seq
            : throw CliException.Usage($"Usage: {usage}");

    private static void WriteCompact(string raw)
    {
        using var doc = JsonDocument.Parse(raw);
        Printer.Out.WriteLine(JsonSerializer.Serialize(doc.RootElement, ApiJson.Default.JsonElement));
    }

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);
}
