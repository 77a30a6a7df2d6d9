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
        var tool = new LoomTool(app.BaseAddress, LoomAppFactory.AliceKey);
        var start = tool.Start(["-qec", $"dotnet '{LoomTool.Dll}' play {sessionId}", "/dev/null"],
            new Dictionary<string, string?> { ["TERM"] = "xterm" }, redirectInput: true, program: "script");
        using var process = Process.Start(start)!;
        var screen = new StringBuilder();
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0) lock (screen) screen.Append(buffer, 0, read);
        });
        string Screen() { lock (screen) return screen.ToString().Replace("\r", ""); }

        try
        {
            await Until(() => Task.FromResult(Screen().Contains("/help lists the commands")), "the banner");
            await Type(process, "I light a lamp.\r");
            await Until(async () => await CompletedAsync(sessionId) == 1, "the first turn");
            await Type(process, "\u001b[A\r"); // Up arrow recalls "I light a lamp.", Enter plays it again
            await Until(async () => await CompletedAsync(sessionId) == 2, "the recalled turn");
            await Type(process, "/quit\r");
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(deadline.Token);
            await reading;
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        Assert.True(process.ExitCode == 0, Screen());
        var turns = await app.Client().TurnsAsync(sessionId);
        Assert.Equal(["I light a lamp.", "I light a lamp."], turns.Select(t => t["input"].Str()));
        foreach (var turn in turns) Assert.Contains(turn["narrative"].Str().Trim(), Screen());
    }

    private async Task<int> CompletedAsync(string sessionId) =>
        (await app.Client().TurnsAsync(sessionId)).Count(t => t["status"].Str() == "completed");

    private static async Task Type(Process process, string keys)
    {
        await process.StandardInput.WriteAsync(keys);
        await process.StandardInput.FlushAsync();
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 30 s for {what}.");
            await Task.Delay(50);
        }
    }
}

/// <summary>A gateway whose offline narrator takes ~10 s a turn, so Ctrl-C lands while a turn is being told.</summary>
public sealed class SlowCliApp() : KestrelLoomApp(new Dictionary<string, string?> { ["Loom:Llm:Offline:ChunkDelayMs"] = "250" });

/// <summary>Ctrl-C in <c>loom play</c> on a terminal stops the turn on the server, and the tool goes on.</summary>
public sealed class PlayStopTests(SlowCliApp app) : IClassFixture<SlowCliApp>
{
    [Fact]
    public async Task Ctrl_C_while_a_turn_is_told_stops_it_on_the_server_and_the_prompt_comes_back()
    {
        var sessionId = await app.Client().CreateSessionAsync();
        var tool = new LoomTool(app.BaseAddress, LoomAppFactory.AliceKey);
        var start = tool.Start(["-qec", $"dotnet '{LoomTool.Dll}' play {sessionId}", "/dev/null"],
            new Dictionary<string, string?> { ["TERM"] = "xterm" }, redirectInput: true, program: "script");
        using var process = Process.Start(start)!;
        var screen = new StringBuilder();
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int read;
            while ((read = await process.StandardOutput.ReadAsync(buffer)) > 0) lock (screen) screen.Append(buffer, 0, read);
        });
        string Screen() { lock (screen) return screen.ToString().Replace("\r", ""); }

        try
        {
            await Until(() => Task.FromResult(Screen().Contains("/help lists the commands")), "the banner");
            await Type(process, "I climb the bell tower.\r");
            await Until(async () => (await app.Client().TurnsAsync(sessionId)).Any(t => t["status"].Str() == "running"), "the turn to be told");
            await Type(process, "\u0003"); // Ctrl-C: the terminal sends SIGINT to the tool
            await Until(async () => (await app.Client().TurnsAsync(sessionId)).Any(t => t["status"].Str() == "failed"), "the turn to stop");
            // The tool is still there: it plays the next line.
            await Until(() => Task.FromResult(Screen().LastIndexOf("> ", StringComparison.Ordinal) > Screen().IndexOf("Stopping the narrator", StringComparison.Ordinal)), "the prompt");
            await Type(process, "/quit\r");
            using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(deadline.Token);
            await reading;
        }
        finally
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
        }

        Assert.True(process.ExitCode == 0, Screen());
        var turn = Assert.Single(await app.Client().TurnsAsync(sessionId));
        Assert.Equal(("failed", "cancelled"), (turn["status"].Str(), turn["error"]!["code"].Str()));
        Assert.Contains("Stopping the narrator", Screen());
    }

    private static async Task Type(Process process, string keys)
    {
        await process.StandardInput.WriteAsync(keys);
        await process.StandardInput.FlushAsync();
    }

    private static async Task Until(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"Waited 30 s for {what}.");
            await Task.Delay(50);
        }
    }
}
