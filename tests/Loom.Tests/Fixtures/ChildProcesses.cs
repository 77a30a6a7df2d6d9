using System.Collections.Concurrent;
using System.Diagnostics;

namespace Loom.Tests.Fixtures;

/// <summary>
/// Every server process a fixture starts is registered here and killed when the test host exits, so a crashed or
/// aborted test run does not leave PostgreSQL or Redis behind.
/// </summary>
internal static class ChildProcesses
{
    private static readonly ConcurrentDictionary<int, Process> Running = new();

    static ChildProcesses()
    {
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillAll();
    }

    public static Process Start(ProcessStartInfo info, Action<string>? onOutput = null)
    {
        info.UseShellExecute = false;
        info.RedirectStandardOutput = true;
        info.RedirectStandardError = true;
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) onOutput?.Invoke(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) onOutput?.Invoke(e.Data); };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var id = process.Id;
        Running[id] = process;
        process.Exited += (_, _) => Running.TryRemove(id, out _);
        return process;
    }

    /// <summary>Runs a short command to completion; throws with its output when it fails or overruns.</summary>
    public static async Task<string> RunAsync(string fileName, IEnumerable<string> arguments, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(fileName);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }
        var output = new System.Text.StringBuilder();
        using var process = Start(info, line => { lock (output) { output.AppendLine(line); } });
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            Kill(process);
            throw new TimeoutException($"'{fileName} {string.Join(' ', info.ArgumentList)}' did not finish within {timeout}.\n{output}");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"'{fileName} {string.Join(' ', info.ArgumentList)}' exited with {process.ExitCode}.\n{output}");
        }
        lock (output)
        {
            return output.ToString();
        }
    }

    /// <summary>Sends SIGTERM (a clean shutdown for both servers) to one process by id.</summary>
    public static void Terminate(Process process)
    {
        if (!HasExited(process))
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", process.Id.ToString()]) { UseShellExecute = false });
            kill?.WaitForExit();
        }
    }

    public static void Kill(Process process)
    {
        try
        {
            var id = process.Id;
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
            Running.TryRemove(id, out _);
        }
        catch (InvalidOperationException)
        {
            // Already gone (or never started).
        }
    }

    public static bool HasExited(Process process)
    {
        try
        {
            return process.HasExited;
        }
        catch (InvalidOperationException)
        {
            return true;
        }
    }

    private static void KillAll()
    {
        foreach (var process in Running.Values)
        {
            Kill(process);
        }
    }
}
