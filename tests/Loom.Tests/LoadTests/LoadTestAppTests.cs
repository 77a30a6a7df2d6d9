using System.Text.Json;
using Loom.LoadTests.Runner;

namespace Loom.Tests.LoadTests;

public sealed class LoadTestAppTests : IDisposable
{
    private readonly string _out = Path.Combine(Path.GetTempPath(), "loom-lt-tests-" + Guid.NewGuid().ToString("N")[..8]);

    private async Task<(int Code, string Stdout, string Stderr)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        var app = new LoadTestApp(stdout, stderr, inPlaceProgress: false);
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var code = await app.RunAsync([.. args, "--out", _out], deadline.Token);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Smoke_against_a_healthy_target_passes_and_writes_both_reports()
    {
        await using var stub = await StubLoomApi.StartAsync();

        var (code, stdout, stderr) = await RunAsync("smoke", "--target", stub.BaseAddress.ToString());

        Assert.True(code == LoadTestApp.ExitOk, $"exit {code}\n{stdout}\n{stderr}");
        Assert.Equal(0, stub.TurnsWithoutIdempotencyKey);
        var md = await File.ReadAllTextAsync(Path.Combine(_out, "report.md"));
        Assert.Contains("all gates passed", md);
        Assert.Contains("| memory search | 3 | n/a |", md); // the stub has no memory endpoints
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        Assert.True(json.RootElement.GetProperty("gatesPassed").GetBoolean());
        Assert.Contains("[smoke/turns]", stdout); // plain progress lines when output is not a terminal
    }

    [Fact]
    public async Task Smoke_exits_non_zero_when_turns_fail()
    {
        await using var stub = await StubLoomApi.StartAsync(failTurns: true);

        var (code, stdout, _) = await RunAsync("smoke", "--target", stub.BaseAddress.ToString());

        Assert.Equal(LoadTestApp.ExitGateFailed, code);
        Assert.Contains("http 503", stdout);
        Assert.Contains("**FAIL (gate)**", await File.ReadAllTextAsync(Path.Combine(_out, "report.md")));
    }

    [Fact]
    public async Task Every_scenario_runs_to_completion_with_small_numbers()
    {
        await using var stub = await StubLoomApi.StartAsync(withMemory: true, withMetrics: true);

        var (code, stdout, stderr) = await RunAsync("all", "--target", stub.BaseAddress.ToString(),
            "--users", "3", "--turns", "2", "--duration", "1s", "--levels", "1,2", "--latency", "0");

        Assert.True(code == LoadTestApp.ExitOk, $"exit {code}\n{stdout}\n{stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        var scenarios = json.RootElement.GetProperty("scenarios").EnumerateArray().ToList();
        Assert.Equal(11, scenarios.Count);
        Assert.All(scenarios, s =>
        {
            Assert.True(s.GetProperty("error").ValueKind == JsonValueKind.Null, $"{s.GetProperty("name")}: {s.GetProperty("error")}");
            Assert.NotEmpty(s.GetProperty("tables").EnumerateArray());
            Assert.All(s.GetProperty("phases").EnumerateArray(), p => Assert.Equal(0, p.GetProperty("iterationsCrashed").GetInt64()));
        });
        var md = await File.ReadAllTextAsync(Path.Combine(_out, "report.md"));
        Assert.Contains("| vector search |", md);
        Assert.Contains("Python LOOM measured (its scheduler)", md);
        Assert.Contains("| active sessions (gauge) | 0 | 0 | 0 | – |", md); // the stub's /metrics: collection seen at once
        var html = await File.ReadAllTextAsync(Path.Combine(_out, "report.html"));
        Assert.Contains("<svg", html);
        Assert.Contains("idle-sessions", html);
    }

    [Fact]
    public async Task An_unreachable_target_is_reported_not_waited_on_forever()
    {
        var port = Loom.LoadTests.Target.Loopback.FreePort();

        var (code, _, stderr) = await RunAsync("smoke", "--target", $"http://127.0.0.1:{port}", "--ready-timeout", "1s");

        Assert.Equal(LoadTestApp.ExitTargetFailed, code);
        Assert.Contains("/readyz", stderr);
    }

    [Fact]
    public async Task The_relay_plays_the_turn_workloads_through_the_fake_model_without_an_engine()
    {
        // The runner starts its own assembly as the relay (a child process) and its fake model; nothing of LOOM runs.
        var (code, stdout, stderr) = await RunAsync("e2e", "session-manager", "--relay",
            "--users", "3", "--turns", "2", "--duration", "1s", "--latency", "50ms", "--warmup", "0");

        Assert.True(code == LoadTestApp.ExitOk, $"exit {code}\n{stdout}\n{stderr}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        Assert.StartsWith("relay without an engine", json.RootElement.GetProperty("target").GetString());
        Assert.All(json.RootElement.GetProperty("scenarios").EnumerateArray(),
            s => Assert.True(s.GetProperty("error").ValueKind == JsonValueKind.Null, $"{s.GetProperty("name")}: {s.GetProperty("error")}"));
        var md = await File.ReadAllTextAsync(Path.Combine(_out, "report.md"));
        // Every turn reached the fake as a streamed request and completed: the split matched them by their inputs.
        Assert.Contains("### Where a turn's time goes, 3 users (6 turns, the runner's clock)", md);
        Assert.Contains("| failed turns | 0 | ≤ 0 | 0 | pass |", md);
        Assert.Contains("| failed session calls | 0 | ≤ 0 | 0 | pass |", md);
        Assert.Matches(@"Fake LLM served \d+ requests \((\d+) streamed, 0 aborted, 0 malformed\)", stdout);
    }

    public void Dispose()
    {
        try { Directory.Delete(_out, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
