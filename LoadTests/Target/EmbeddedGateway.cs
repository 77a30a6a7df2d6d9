using System.Diagnostics;
using Loom.LoadTests.Client;
using Loom.LoadTests.Monitoring;

namespace Loom.LoadTests.Target;

public enum LlmMode { Fake, Offline }

public sealed record EmbeddedGatewayOptions(
    string GatewayDll,
    string? RepoRoot,
    LlmMode Llm,
    Uri? FakeLlmEndpoint,
    string WorkDirectory,
    string LogFile,
    TimeSpan ReadyTimeout,
    string? ApiKey)
{
    /// <summary>Environment added last, so it can override the runner's own settings (<c>--gateway-env</c>).</summary>
    public IReadOnlyDictionary<string, string> ExtraEnvironment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The whole system (gateway with its embedded silo) as a child process on a free loopback port, with its own
/// SQLite file, pointed at the fake LLM or the offline narrator; or, with <c>--relay</c>, the engine-less relay in its
/// place. Killed, with its process tree, on dispose.
/// </summary>
public sealed class EmbeddedGateway : ILoomTarget
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly Task _pump;
    private readonly string _label;

    private EmbeddedGateway(Process process, StreamWriter log, Task pump, Uri baseAddress, string description, string workDirectory, string label)
    {
        _label = label;
        WorkDirectory = workDirectory;
        _process = process;
        _log = log;
        _pump = pump;
        BaseAddress = baseAddress;
        Description = description;
    }

    public Uri BaseAddress { get; }

    /// <summary>The folder of its SQLite database.</summary>
    public string WorkDirectory { get; }
    public IReadOnlyList<WatchedProcess> Processes => _process.HasExited ? [] : [new WatchedProcess(_process.Id, _label)];
    public string Description { get; }

    public static async Task<EmbeddedGateway> StartAsync(EmbeddedGatewayOptions options, TextWriter console, CancellationToken ct)
    {
        if (!File.Exists(options.GatewayDll))
            await BuildGatewayAsync(options, console, ct);

        Directory.CreateDirectory(options.WorkDirectory);
        var port = Loopback.FreePort();
        var url = new Uri($"http://127.0.0.1:{port}");
        var psi = Dotnet(options.GatewayDll, "--urls", url.ToString().TrimEnd('/'));
        var env = psi.Environment;
        env["Loom__Storage__Provider"] = "sqlite";
        env["Loom__Storage__SqlitePath"] = Path.Combine(options.WorkDirectory, "loom.db");
        env["Loom__Cluster__Mode"] = "embedded";
        // A fresh cluster id per run keeps a leftover process or database from another run out of the way.
        env["Loom__Cluster__ClusterId"] = "loadtest-" + Guid.NewGuid().ToString("N")[..8];
        // Free silo ports too, so two runs (or a dev gateway) on the same machine do not collide.
        env["Loom__Cluster__SiloPort"] = Loopback.FreePort().ToString();
        env["Loom__Cluster__GatewayPort"] = Loopback.FreePort().ToString();
        // Console logging at Information costs measurable CPU under load; the log file keeps warnings and errors.
        env["Logging__LogLevel__Default"] = "Warning";
        env["ASPNETCORE_URLS"] = url.ToString().TrimEnd('/');
        if (options.Llm == LlmMode.Fake)
        {
            env["Loom__Llm__Provider"] = "openai";
            env["Loom__Llm__Endpoint"] = options.FakeLlmEndpoint?.ToString() ?? throw new ArgumentException("fake LLM endpoint required");
            env["Loom__Llm__ApiKey"] = "fake";
            env["Loom__Llm__Model"] = "fake-model";
            // The fake LLM takes any number of streams: lift the per-silo provider limit so the 1,000-session
            // scenarios measure the engine, not the limiter (a real deployment sets it to its provider's limit).
            env["Loom__Llm__Resilience__MaxConcurrency"] = "2000";
            env["Loom__Llm__Resilience__QueueLimit"] = "4000";
            // The same fake as Anthropic and Ollama too (each in its own wire format), all priced: the providers
            // scenario plays each, and every turn's cost comes from Loom:Llm:Pricing as in production.
            foreach (var (key, value) in FakeLlm.FakeProviders.Environment(options.FakeLlmEndpoint)) env[key] = value;
        }
        else
        {
            env["Loom__Llm__Provider"] = "offline";
            env["Loom__Llm__Offline__ChunkDelayMs"] = "0";
        }

        foreach (var (key, value) in options.ExtraEnvironment) env[key] = value;

        return await LaunchAsync(psi, url, options.LogFile, options.WorkDirectory, options.ReadyTimeout, options.ApiKey, "gateway + silo",
            pid => $"embedded gateway {Path.GetFileName(options.GatewayDll)} (pid {pid}) at {url}, LLM {(options.Llm == LlmMode.Fake ? "fake " + options.FakeLlmEndpoint : "offline narrator")}", ct);
    }

    /// <summary>
    /// The relay (<c>--relay</c>) in place of LOOM: this runner's own assembly serving <see cref="Relay.RelayServer"/>
    /// on a free loopback port, forwarding turns to <paramref name="fakeLlm"/>. Watched, logged and stopped like a gateway.
    /// </summary>
    public static Task<EmbeddedGateway> StartRelayAsync(Uri fakeLlm, string logFile, TimeSpan readyTimeout, CancellationToken ct)
    {
        var url = new Uri($"http://127.0.0.1:{Loopback.FreePort()}");
        var psi = Dotnet(typeof(EmbeddedGateway).Assembly.Location,
            Relay.RelayServer.Command, "--urls", url.ToString().TrimEnd('/'), "--llm", fakeLlm.ToString());
        // It stores nothing: its folder stands in for the work directory.
        return LaunchAsync(psi, url, logFile, psi.WorkingDirectory, readyTimeout, apiKey: null, "relay",
            pid => $"relay without an engine (pid {pid}) at {url}: each turn is one streamed call to the fake {fakeLlm}", ct);
    }

    /// <summary><c>dotnet DLL ARGS</c> with its output captured; the DLL's folder is its content root, as for any deployment.</summary>
    private static ProcessStartInfo Dotnet(string dll, params string[] args)
    {
        var psi = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        psi.ArgumentList.Add(dll);
        foreach (var arg in args) psi.ArgumentList.Add(arg);
        return psi;
    }

    private static async Task<EmbeddedGateway> LaunchAsync(ProcessStartInfo psi, Uri url, string logFile, string workDirectory,
        TimeSpan readyTimeout, string? apiKey, string label, Func<int, string> describe, CancellationToken ct)
    {
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet");
        var log = new StreamWriter(logFile, append: false) { AutoFlush = true };
        var pump = Task.WhenAll(PumpAsync(process.StandardOutput, log), PumpAsync(process.StandardError, log));
        var gateway = new EmbeddedGateway(process, log, pump, url, describe(process.Id), workDirectory, label);
        try
        {
            await gateway.WaitReadyAsync(readyTimeout, apiKey, logFile, ct);
            return gateway;
        }
        catch
        {
            await gateway.DisposeAsync();
            throw;
        }
    }

    private async Task WaitReadyAsync(TimeSpan readyTimeout, string? apiKey, string logFile, CancellationToken ct)
    {
        using var client = new LoomClient(BaseAddress, apiKey);
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < readyTimeout)
        {
            ct.ThrowIfCancellationRequested();
            if (_process.HasExited)
                throw new InvalidOperationException($"{Description} exited with code {_process.ExitCode} before it was ready; see {logFile}");
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                if (await client.IsReadyAsync(attempt.Token)) return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested) { }
            await Task.Delay(TimeSpan.FromMilliseconds(200), ct);
        }
        throw new TimeoutException($"{Description}: not ready (GET /readyz) within {readyTimeout.TotalSeconds:0} s; see {logFile}");
    }

    private static async Task BuildGatewayAsync(EmbeddedGatewayOptions options, TextWriter console, CancellationToken ct)
    {
        if (options.RepoRoot is null)
            throw new FileNotFoundException($"gateway not found at {options.GatewayDll} and no repository to build it from");
        console.WriteLine($"Gateway not built; running: dotnet build Gateway -c Release (in {options.RepoRoot})");
        var psi = new ProcessStartInfo("dotnet") { WorkingDirectory = options.RepoRoot, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { "build", Path.Combine("Gateway", "Gateway.csproj"), "-c", "Release", "-nologo", "-v", "q" }) psi.ArgumentList.Add(a);
        using var build = Process.Start(psi) ?? throw new InvalidOperationException("could not start dotnet build");
        var output = Task.WhenAll(build.StandardOutput.ReadToEndAsync(ct), build.StandardError.ReadToEndAsync(ct));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(10));
        try
        {
            await build.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            build.Kill(entireProcessTree: true);
            throw;
        }
        var texts = await output;
        if (build.ExitCode != 0 || !File.Exists(options.GatewayDll))
            throw new InvalidOperationException($"dotnet build Gateway failed (exit {build.ExitCode}):\n{texts[0]}{texts[1]}");
    }

    private static async Task PumpAsync(StreamReader reader, StreamWriter log)
    {
        while (await reader.ReadLineAsync() is { } line)
            lock (log) log.WriteLine(line);
    }

    /// <summary>Synchronous kill for process-exit handlers, where awaiting is not possible.</summary>
    public void KillNow()
    {
        try { if (!_process.HasExited) _process.Kill(entireProcessTree: true); }
        catch (InvalidOperationException) { }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited) _process.Kill(entireProcessTree: true);
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (InvalidOperationException) { }
        catch (OperationCanceledException) { }
        try { await _pump.WaitAsync(TimeSpan.FromSeconds(5)); } catch (TimeoutException) { }
        lock (_log) _log.Dispose();
        _process.Dispose();
    }
}
