using System.Text.Json;
using Loom.LoadTests.Runner;
using Loom.LoadTests.Target;

namespace Loom.Tests.LoadTests;

/// <summary>
/// CI's run of the load-test smoke scenario against the real system: the runner starts the gateway built with this
/// test run (embedded silo, fresh SQLite file, offline narrator) as a child process, plays the smoke scenario through
/// HTTP and must pass every gate. The full scenarios stay out of CI.
/// </summary>
public sealed class SmokeAgainstGatewayTests : IDisposable
{
#if DEBUG
    private const string Configuration = "Debug";
#else
    private const string Configuration = "Release";
#endif

    private readonly string _out = Path.Combine(Path.GetTempPath(), "loom-lt-smoke-" + Guid.NewGuid().ToString("N")[..8]);

    [Fact]
    public async Task Smoke_passes_against_the_built_gateway_and_writes_every_report()
    {
        var root = RepoPaths.FindRoot() ?? throw new InvalidOperationException("repository root (Loom.Orleans.sln) not found");
        var dll = Path.Combine(root, "Gateway", "bin", Configuration, "net10.0", "Loom.Gateway.dll");
        Assert.True(File.Exists(dll), $"build the solution first: {dll} is missing");
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(4));

        var code = await new LoadTestApp(stdout, stderr, inPlaceProgress: false)
            .RunAsync(["smoke", "--gateway-dll", dll, "--out", _out, "--ready-timeout", "120s"], deadline.Token);

        Assert.True(code == LoadTestApp.ExitOk, $"exit {code}\n{stdout}\n{stderr}\n{ReadLog()}");
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_out, "report.json")));
        Assert.True(json.RootElement.GetProperty("gatesPassed").GetBoolean());
        var phases = json.RootElement.GetProperty("scenarios")[0].GetProperty("phases").EnumerateArray().ToList();
        var turns = phases.Single(p => p.GetProperty("name").GetString() == "turns");
        var turnStep = turns.GetProperty("steps")[0];
        Assert.Equal(9, turnStep.GetProperty("statusCodes").GetProperty("200").GetInt64());
        Assert.True(turnStep.GetProperty("bytesReceived").GetInt64() > 0);
        Assert.Contains("<svg", await File.ReadAllTextAsync(Path.Combine(_out, "report.html")));
    }

    private string ReadLog()
    {
        var log = Path.Combine(_out, "gateway.log");
        return File.Exists(log) ? File.ReadAllText(log) : "(no gateway.log)";
    }

    public void Dispose()
    {
        try { Directory.Delete(_out, recursive: true); } catch (DirectoryNotFoundException) { }
    }
}
