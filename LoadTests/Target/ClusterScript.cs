using System.Diagnostics;

namespace Loom.LoadTests.Target;

/// <summary>
/// Runs <c>scripts/local-cluster.sh</c> commands (add, remove N, surge-gateway, retire-gateway) against the cluster in
/// <paramref name="directory"/>, so a scenario changes the cluster exactly as an operator would from a shell.
/// </summary>
public sealed class ClusterScript(string script, string directory)
{
    public string Directory { get; } = directory;

    public static ClusterScript For(string directory)
    {
        var root = RepoPaths.FindRoot() ?? throw new FileNotFoundException($"{RepoPaths.SolutionFile} not found above the working directory");
        return new ClusterScript(Path.Combine(root, "scripts", "local-cluster.sh"), directory);
    }

    /// <summary>The silos running now, by index (<c>silo-N.pid</c>).</summary>
    public IReadOnlyList<int> RunningSilos() =>
        System.IO.Directory.GetFiles(Directory, "silo-*.pid")
            .Select(f => Path.GetFileNameWithoutExtension(f)["silo-".Length..])
            .Select(n => int.TryParse(n, out var i) ? i : -1).Where(i => i >= 0).Order().ToArray();

    /// <summary>Runs one command to its end (bounded by <paramref name="limit"/>); returns its output and how long it took.</summary>
    public async Task<(string Output, TimeSpan Took)> RunAsync(string arguments, TimeSpan limit, CancellationToken ct)
    {
        var start = new ProcessStartInfo("bash", $"\"{script}\" {arguments}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["LOOM_CLUSTER_DIR"] = Directory;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {script}");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(limit);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"local-cluster.sh {arguments} did not finish within {limit.TotalSeconds:0} s");
        }
        var output = (await stdout + await stderr).Trim();
        if (process.ExitCode != 0) throw new InvalidOperationException($"local-cluster.sh {arguments} exited {process.ExitCode}: {output}");
        return (output, clock.Elapsed);
    }
}
