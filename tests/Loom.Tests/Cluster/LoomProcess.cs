using System.Diagnostics;
using System.Text;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Cluster;

/// <summary>One built LOOM executable (silo or gateway) run as `dotnet &lt;dll&gt;` with its output kept for diagnostics.</summary>
public sealed class LoomProcess(string name, string dll, IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> arguments)
{
    private readonly StringBuilder _output = new();
    private Process? _process;

    public string Name { get; } = name;
    public IReadOnlyDictionary<string, string> Environment { get; } = environment;
    public Process? Process => _process;
    public bool Running => _process is not null && !ChildProcesses.HasExited(_process);

    public void Start()
    {
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = Path.GetDirectoryName(dll)! };
        info.ArgumentList.Add(dll);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        info.Environment["Logging__Console__TimestampFormat"] = "HH:mm:ss.fff ";
        foreach (var (key, value) in Environment) info.Environment[key] = value;
        Append($"---- start {DateTime.UtcNow:HH:mm:ss.fff}");
        _process = ChildProcesses.Start(info, Append);
    }

    /// <summary>`kill -9`: no shutdown, no flush, exactly like a crashed node.</summary>
    public void KillHard()
    {
        if (_process is null) return;
        Append($"---- kill -9 {DateTime.UtcNow:HH:mm:ss.fff}");
        using var kill = System.Diagnostics.Process.Start(new ProcessStartInfo("kill", ["-9", _process.Id.ToString()]) { UseShellExecute = false });
        kill?.WaitForExit();
    }

    /// <summary>SIGSTOP or SIGCONT: a process that stops answering without going away (a long GC pause, a frozen VM).</summary>
    public void Signal(string signal)
    {
        if (_process is null) return;
        Append($"---- {signal} {DateTime.UtcNow:HH:mm:ss.fff}");
        using var kill = System.Diagnostics.Process.Start(new ProcessStartInfo("kill", [$"-{signal}", _process.Id.ToString()]) { UseShellExecute = false });
        kill?.WaitForExit();
    }

    /// <summary>Waits up to <paramref name="within"/> for the process to exit on its own; returns its exit code, or null.</summary>
    public async Task<int?> WaitForExitAsync(TimeSpan within)
    {
        if (_process is null) return null;
        using var cts = new CancellationTokenSource(within);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return _process.ExitCode;
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>SIGTERM, then waits for the exit; returns (exited, exit code, how long it took).</summary>
    public async Task<(bool Exited, int ExitCode, TimeSpan Took)> TerminateAsync(TimeSpan within)
    {
        var process = _process ?? throw new InvalidOperationException($"{Name} is not running.");
        var watch = Stopwatch.StartNew();
        Append($"---- SIGTERM {DateTime.UtcNow:HH:mm:ss.fff}");
        ChildProcesses.Terminate(process);
        using var cts = new CancellationTokenSource(within);
        try
        {
            await process.WaitForExitAsync(cts.Token);
            return (true, process.ExitCode, watch.Elapsed);
        }
        catch (OperationCanceledException)
        {
            return (false, -1, watch.Elapsed);
        }
    }

    public async Task StopAsync()
    {
        if (_process is null) return;
        if (Running)
        {
            var (exited, _, _) = await TerminateAsync(TimeSpan.FromSeconds(15));
            if (!exited) ChildProcesses.Kill(_process);
        }
        _process.Dispose();
        _process = null;
    }

    public string Output()
    {
        lock (_output) return _output.ToString();
    }

    /// <summary>The last lines, for failure messages.</summary>
    public string Tail(int lines = 40)
    {
        var all = Output().Split('\n');
        return $"[{Name}]\n" + string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    private void Append(string line)
    {
        lock (_output) _output.AppendLine(line);
    }
}
