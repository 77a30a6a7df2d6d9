using System.Diagnostics;
using System.Text;
using Loom.Tests.Api;
using Loom.Tests.Security;

namespace Loom.Tests.Cli;

/// <summary>
/// <c>loom play</c> on a pseudo-terminal (util-linux <c>script</c>): the line editor takes typed keys, narration streams
/// to the screen, the Up arrow recalls the last line, <c>/quit</c> ends.
/// </summary>
public sealed class PlayTerminalTests(CliApp app) : IClassFixture<CliApp>
{
    [Fact]
    public async Task Play_on_a_terminal_streams_narration_and_recalls_history_with_the_up_arrow()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        await using var terminal = Terminal.Play(app.BaseAddress, sessionId);
        await Terminal.Until(() => Task.FromResult(terminal.Screen().Contains("/help lists the commands")), "the banner");
        await terminal.TypeAsync("I light a lamp.\r");
        await Terminal.Until(async () => await CompletedAsync(sessionId) == 1, "the first turn");
        await terminal.TypeAsync("\u001b[A\r"); // Up arrow recalls "I light a lamp.", Enter plays it again
        await Terminal.Until(async () => await CompletedAsync(sessionId) == 2, "the recalled turn");
        var exitCode = await terminal.QuitAsync();

        Assert.True(exitCode == 0, $"exit {exitCode}: {terminal.Screen()}");
        var turns = await app.Client().TurnsAsync(sessionId);
        Assert.Equal(["I light a lamp.", "I light a lamp."], turns.Select(t => t["input"].Str()));
        foreach (var turn in turns) Assert.Contains(turn["narrative"].Str().Trim(), terminal.Screen());
    }

    [Fact]
    public async Task Lines_typed_in_one_run_are_recalled_in_the_next_and_kept_private()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        var tool = new LoomTool(app.BaseAddress, LoomAppFactory.AliceKey);
        await using (var first = Terminal.Play(tool, sessionId))
        {
            await Terminal.Until(() => Task.FromResult(first.Screen().Contains("/help lists the commands")), "the banner");
            await first.TypeAsync("I count the coins.\r");
            await Terminal.Until(async () => await CompletedAsync(sessionId) == 1, "the first turn");
            Assert.Equal(0, await first.QuitAsync());
        }
        await using (var second = Terminal.Play(tool, sessionId))
        {
            await Terminal.Until(() => Task.FromResult(second.Screen().Contains("/help lists the commands")), "the banner");
            await second.TypeAsync("\u001b[A\u001b[A\r"); // two lines back, past the first run's /quit: its turn
            await Terminal.Until(async () => await CompletedAsync(sessionId) == 2, "the recalled turn");
            Assert.Equal(0, await second.QuitAsync());
        }

        Assert.Equal(["I count the coins.", "I count the coins."], (await app.Client().TurnsAsync(sessionId)).Select(t => t["input"].Str()));
        var history = Path.Combine(tool.ConfigHome, "loom", "history");
        if (!OperatingSystem.IsWindows()) Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(history));
    }

    private async Task<int> CompletedAsync(string sessionId) =>
        (await app.Client().TurnsAsync(sessionId)).Count(t => t["status"].Str() == "completed");
}

/// <summary>A gateway whose offline narrator takes ~40 s a turn, so Ctrl-C lands while a turn is being told even on a
/// loaded machine (a CI run with 250 ms chunks once saw the turn finish before the stop arrived).</summary>
public sealed class SlowCliApp() : KestrelLoomApp(new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "1000" });

/// <summary>Ctrl-C in <c>loom play</c> on a terminal stops the turn on the server, and the tool goes on.</summary>
public sealed class PlayStopTests(SlowCliApp app) : IClassFixture<SlowCliApp>
{
    [Fact]
    public async Task Ctrl_C_while_a_turn_is_told_stops_it_on_the_server_and_the_prompt_comes_back()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        await using var terminal = Terminal.Play(app.BaseAddress, sessionId);
        await Terminal.Until(() => Task.FromResult(terminal.Screen().Contains("/help lists the commands")), "the banner");
        await terminal.TypeAsync("I climb the bell tower.\r");
        await Terminal.Until(async () => (await app.Client().TurnsAsync(sessionId)).Any(t => t["status"].Str() == "running"), "the turn to be told");
        // Narration on the screen: the tool is in its streaming loop (a key typed while it switches the terminal's mode
        // can be flushed away on a loaded machine).
        var before = terminal.Screen().Length;
        await Terminal.Until(() => Task.FromResult(terminal.Screen().Length > before + 8), "narration on the screen", terminal.Screen);
        await terminal.TypeAsync("\u0003"); // Ctrl-C: the terminal sends SIGINT to the tool
        var pressed = DateTime.UtcNow;
        await Terminal.Until(async () =>
        {
            if (DateTime.UtcNow - pressed > TimeSpan.FromSeconds(8) && !terminal.Screen().Contains("Stopping the narrator"))
            {
                // The tool never saw it (as a user would, press it again).
                await terminal.TypeAsync("\u0003");
                pressed = DateTime.UtcNow;
            }
            return (await app.Client().TurnsAsync(sessionId)).Any(t => t["status"].Str() == "failed");
        }, "the turn to stop", terminal.Screen);
        // The tool is still there: the prompt comes back after the notice.
        await Terminal.Until(() => Task.FromResult(terminal.Screen() is var screen
            && screen.LastIndexOf("> ", StringComparison.Ordinal) > screen.IndexOf("Stopping the narrator", StringComparison.Ordinal)), "the prompt");
        var exitCode = await terminal.QuitAsync();

        Assert.True(exitCode == 0, $"exit {exitCode}: {terminal.Screen()}");
        var turn = Assert.Single(await app.Client().TurnsAsync(sessionId));
        Assert.Equal(("failed", "cancelled"), (turn["status"].Str(), turn["error"]!["code"].Str()));
        Assert.Contains("Stopping the narrator", terminal.Screen());
    }
}

/// <summary><c>loom play SESSION</c> under util-linux <c>script</c>: what it printed so far, and keys typed into it.</summary>
internal sealed class Terminal : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _screen = new();
    private readonly Task _reading;

    private Terminal(Process process)
    {
        _process = process;
        _reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0) lock (_screen) _screen.Append(buffer, 0, read);
        });
    }

    public static Terminal Play(Uri gateway, string sessionId) => Play(new LoomTool(gateway, LoomAppFactory.AliceKey), sessionId);

    /// <summary>Another run of the same tool (its profile folder, so its history) on <paramref name="sessionId"/>.</summary>
    public static Terminal Play(LoomTool tool, string sessionId)
    {
        // exec: the tool is the terminal's only foreground process, as under a login shell; a non-exec'ing sh (dash, when
        // SHELL is unset) would share its process group, die of Ctrl-C's SIGINT itself and make script report 130.
        // env --default-signal: a test run started in the background (`cmd &` in a script) ignores SIGINT, and an ignored
        // signal stays ignored across exec, so Ctrl-C would never reach the tool.
        var start = tool.Start(["-qec", $"exec env --default-signal=INT dotnet '{LoomTool.Dll}' play {sessionId}", "/dev/null"],
            new Dictionary<string, string?> { ["TERM"] = "xterm" }, redirectInput: true, program: "script");
        return new Terminal(Process.Start(start)!);
    }

    public string Screen()
    {
        lock (_screen) return _screen.ToString().Replace("\r", "");
    }

    public async Task TypeAsync(string keys)
    {
        await _process.StandardInput.WriteAsync(keys);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Types <c>/quit</c> and waits (30 s at most) for the tool to end; returns its exit code.</summary>
    public async Task<int> QuitAsync()
    {
        await TypeAsync("/quit\r");
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process.WaitForExitAsync(deadline.Token);
        await _reading;
        return _process.ExitCode;
    }

    public static async Task Until(Func<Task<bool>> condition, string what, Func<string>? screen = null)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 30 s for {what}.{(screen is null ? "" : "\nScreen:\n" + screen())}");
            await Task.Delay(50);
        }
    }

    public ValueTask DisposeAsync()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
