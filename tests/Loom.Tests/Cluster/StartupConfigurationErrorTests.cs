using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Loom.Silo.Hosting;
using Loom.Tests.Fixtures;
using Loom.Tests.Helm;
using Microsoft.Extensions.Options;

namespace Loom.Tests.Cluster;

/// <summary>
/// A gateway or silo started with a setting it refuses says which setting and why, on stderr, and exits with code 2 —
/// no unhandled exception, no stack trace, no core dump (the built processes, as an operator starts them).
/// </summary>
public sealed class StartupConfigurationErrorTests
{
    private static readonly TimeSpan ExitDeadline = TimeSpan.FromSeconds(90);

    [Theory]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Cluster__SessionIdleMinutes=1", "Loom:Cluster:SessionIdleMinutes: The field SessionIdleMinutes must be between 2 and 1440.")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Cluster__SessionIdleMinutes=abc", "'abc' at 'Loom:Cluster:SessionIdleMinutes'")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Llm__Resilience__MaxConcurrency=0", "Loom:Llm:Resilience:MaxConcurrency must be at least 1")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Http__Limits__ListenBacklog=0", "Loom:Http:Limits:ListenBacklog must be between 1 and 65535 (got 0).")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Http__Limits__MaxBodyBytes=-1", "Loom:Http:Limits:MaxBodyBytes must be positive (got -1).")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Cors__Origins__0=*", "Loom:Cors:Origins holds '*'")]
    // One key under two indexes (its hash once in upper case): every request was a 500 once the gateway ran.
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Auth__Keys__0__Owner=a;Loom__Auth__Keys__0__Sha256=8254c329a92850f6d539dd376f4816ee2764517da5e0235514af433164480d7a;Loom__Auth__Keys__1__Owner=b;Loom__Auth__Keys__1__Sha256=8254C329A92850F6D539DD376F4816EE2764517DA5E0235514AF433164480D7A",
        "Loom:Auth:Keys:0:Sha256 and Loom:Auth:Keys:1:Sha256 are the same key")]
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=", "Loom:Cluster:RedisConnectionString")]
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=127.0.0.1:1;Loom__Storage__MaxPoolSize=0", "Loom:Storage:MaxPoolSize must be between 1 and 1000")]
    // Parsed at start-up as the clustering parses it: it first failed inside Orleans' start, with stack traces.
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=127.0.0.1:6379,bogusOption=1",
        "Loom:Cluster:RedisConnectionString is not a StackExchange.Redis connection string ('host:port,password=...'): Keyword 'bogusOption' is not supported")]
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=password=secret",
        "Loom:Cluster:RedisConnectionString is not a StackExchange.Redis connection string ('host:port,password=...'): it names no server.")]
    // A piece of a password holding a ',' is not repeated.
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=127.0.0.1:6379,password=hun,ter2=x",
        "Loom:Cluster:RedisConnectionString is not a StackExchange.Redis connection string ('host:port,password=...'): an option after password= is not valid")]
    // The cache's Redis too (Helm's cache.redis), which otherwise failed only on the cache's first use.
    [InlineData("Silo", "Loom.Silo.dll", "Loom__Cluster__RedisConnectionString=127.0.0.1:1;Loom__Cache__Redis=127.0.0.1:6379,bogusOption=1",
        "Loom:Cache:Redis is not a StackExchange.Redis connection string ('host:port,password=...'): Keyword 'bogusOption' is not supported")]
    [InlineData("Gateway", "Loom.Gateway.dll", "Loom__Cache__Redis=password=secret",
        "Loom:Cache:Redis is not a StackExchange.Redis connection string ('host:port,password=...'): it names no server.")]
    public async Task A_refused_setting_ends_the_process_with_one_line_per_fault(string project, string dll, string settings, string expected)
    {
        var env = settings.Split(';').Select(s => s.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var (exitCode, output) = await RunAsync(project, dll, env);

        Assert.True(exitCode == ConfigurationErrors.ExitCode, $"exit code {exitCode}, expected {ConfigurationErrors.ExitCode}:\n{output}");
        Assert.Contains("LOOM cannot start: the configuration is invalid.", output);
        Assert.Contains(expected, output);
        Assert.DoesNotContain("Unhandled exception", output);
        Assert.DoesNotContain("   at ", output); // no stack frame
        Assert.DoesNotContain("ter2", output); // the password's pieces
        Assert.DoesNotContain("secret", output);
    }

    [Fact]
    public async Task A_gateway_whose_address_another_process_holds_says_so_and_exits()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var url = $"http://127.0.0.1:{((IPEndPoint)taken.LocalEndpoint).Port}";

        var (exitCode, output) = await RunAsync("Gateway", "Loom.Gateway.dll", [], url);

        Assert.True(exitCode == ConfigurationErrors.ExitCode, $"exit code {exitCode}, expected {ConfigurationErrors.ExitCode}:\n{output}");
        Assert.Contains($"LOOM cannot start: Failed to bind to address {url}: address already in use.", output);
        Assert.Contains("--urls or ASPNETCORE_URLS", output);
        Assert.DoesNotContain("Unhandled exception", output);
        // Found before the host started: no silo warm-up, no host error with Kestrel's stack trace.
        Assert.DoesNotContain("Warmed the grain path", output);
        Assert.DoesNotContain("Hosting failed to start", output);
        Assert.DoesNotContain("   at ", output);
    }

    [Fact]
    public void Only_configuration_refusals_are_described()
    {
        var invalid = new OptionsValidationException("Loom:X", typeof(object), ["Loom:X:A is wrong.", "Loom:X:B is wrong."]);
        Assert.Equal(["Loom:X:A is wrong.", "Loom:X:B is wrong."], ConfigurationErrors.Describe(invalid));
        Assert.Equal(["Loom:X:A is wrong.", "Loom:X:B is wrong.", "Loom:X:A is wrong.", "Loom:X:B is wrong."],
            ConfigurationErrors.Describe(new AggregateException(invalid, invalid)));

        Assert.Null(ConfigurationErrors.Describe(new AggregateException(invalid, new IOException("disk"))));
        Assert.Null(ConfigurationErrors.Describe(new InvalidOperationException("Something else failed.", new FormatException())));
        Assert.Null(ConfigurationErrors.Describe(new IOException("Address already in use")));

        var report = new StringWriter();
        Assert.Equal(2, ConfigurationErrors.Report(["Loom:X:A is wrong."], report));
        Assert.Equal($"LOOM cannot start: the configuration is invalid.{Environment.NewLine}  - Loom:X:A is wrong.{Environment.NewLine}", report.ToString());
    }

    /// <summary>Runs a built host as an operator would, with only <paramref name="env"/>'s Loom settings; its exit code and output.</summary>
    internal static async Task<(int ExitCode, string Output)> RunAsync(string project, string dll, Dictionary<string, string> env,
        string url = "http://127.0.0.1:0")
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var directory = Path.Combine(ChartFiles.RepoRoot, project, "bin", configuration, "net10.0");
        Assert.True(Directory.Exists(directory), $"{directory} is missing: build the solution first");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = directory };
        info.ArgumentList.Add(Path.Combine(directory, dll));
        info.ArgumentList.Add("--urls");
        info.ArgumentList.Add(url);
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Loom", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }
        // Storage that would work: only the setting under test is wrong.
        info.Environment["Loom__Storage__SqlitePath"] = Path.Combine(Path.GetTempPath(), $"loom-config-{Guid.NewGuid():N}.db");
        foreach (var (key, value) in env) info.Environment[key] = value;

        var output = new StringBuilder();
        using var process = ChildProcesses.Start(info, line => { lock (output) output.AppendLine(line); });
        using var deadline = new CancellationTokenSource(ExitDeadline);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(process);
            Assert.Fail($"{dll} kept running with {string.Join(", ", env.Select(e => e.Key + "=" + e.Value))}:\n{output}");
        }
        process.WaitForExit(); // the output handlers have seen every line
        lock (output) return (process.ExitCode, output.ToString());
    }
}
