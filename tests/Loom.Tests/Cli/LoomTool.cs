using System.Diagnostics;
using System.Text;

namespace Loom.Tests.Cli;

/// <summary>What one run of the tool printed and how it exited.</summary>
public sealed record ToolRun(int ExitCode, string Stdout, string Stderr)
{
    public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Stdout}\n--- stderr\n{Stderr}";
}

/// <summary>
/// Runs the real <c>loom</c> tool (<c>dotnet loom.dll</c> from this test's output, where the project reference puts
/// it) as a process, against a gateway URL, with its own empty profile folder so the machine's profile never leaks in.
/// </summary>
public sealed class LoomTool(Uri gateway, string? apiKey)
{
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "loom.dll");

    public string ConfigHome { get; } = Directory.CreateTempSubdirectory("loom-cli-config-").FullName;

    public Task<ToolRun> RunAsync(params string[] args) => RunAsync(args, stdin: null);

    public async Task<ToolRun> RunAsync(string[] args, string? stdin, IDictionary<string, string?>? environment = null)
    {
        var start = Start(args, environment, stdin is not null);
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        if (stdin is not null)
        {
            await process.StandardInput.WriteAsync(stdin);
            process.StandardInput.Close();
        }
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"loom {string.Join(' ', args)} did not finish:\n{await stdout}\n{await stderr}");
        }
        return new ToolRun(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>The process start for <c>dotnet Loom.Cli.dll args</c> (or any program) with this tool's environment.</summary>
    public ProcessStartInfo Start(IEnumerable<string> args, IDictionary<string, string?>? environment = null, bool redirectInput = false, string? program = null)
    {
        var start = new ProcessStartInfo(program ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = redirectInput,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
        };
        if (program is null) start.ArgumentList.Add(Dll);
        foreach (var arg in args) start.ArgumentList.Add(arg);
        start.Environment["LOOM_URL"] = gateway.ToString();
        start.Environment["LOOM_API_KEY"] = apiKey;
        start.Environment["LOOM_PROFILE"] = null;
        start.Environment["XDG_CONFIG_HOME"] = ConfigHome;
        start.Environment["DOTNET_NOLOGO"] = "1";
        foreach (var (name, value) in environment ?? new Dictionary<string, string?>()) start.Environment[name] = value;
        return start;
    }
}
