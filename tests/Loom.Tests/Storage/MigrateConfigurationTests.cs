using System.Diagnostics;
using System.Text;
using Loom.Storage;
using Loom.Tests.Fixtures;
using Loom.Tests.Helm;

namespace Loom.Tests.Storage;

/// <summary>
/// `Loom.Silo migrate` reads the configuration the silo reads: appsettings.json and appsettings.{Environment}.json from
/// the directory it is started in (the silo's content root), then the environment. It once read only the
/// appsettings.json beside the program, so a connection string kept in appsettings.Production.json was never migrated.
/// </summary>
public sealed class MigrateConfigurationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("loom-migrate-config-").FullName;

    [Theory]
    [InlineData("DOTNET_ENVIRONMENT")]
    [InlineData("ASPNETCORE_ENVIRONMENT")]
    public async Task The_environments_settings_file_in_the_working_directory_is_honoured(string variable)
    {
        var fromBase = Path.Combine(_directory, "from-appsettings.db");
        var fromEnvironment = Path.Combine(_directory, "from-production.db");
        Write("appsettings.json", """{ "Loom": { "Storage": { "Provider": "sqlite", "SqlitePath": "PATH" } } }""", fromBase);
        Write("appsettings.Production.json", """{ "Loom": { "Storage": { "SqlitePath": "PATH" } } }""", fromEnvironment);

        var (exitCode, output) = await RunMigrateAsync(new() { [variable] = "Production" });

        Assert.True(exitCode == MigrateCommand.Success, $"exit code {exitCode}:\n{output}");
        Assert.Contains($"migrate: SQLite file '{fromEnvironment}' is now at version", output);
        Assert.True(File.Exists(fromEnvironment));
        Assert.False(File.Exists(fromBase));
    }

    private void Write(string file, string json, string path) =>
        File.WriteAllText(Path.Combine(_directory, file), json.Replace("PATH", path.Replace("\\", "\\\\", StringComparison.Ordinal), StringComparison.Ordinal));

    /// <summary>`dotnet Loom.Silo.dll migrate` from the temp directory, with none of the runner's Loom or environment settings.</summary>
    private async Task<(int ExitCode, string Output)> RunMigrateAsync(Dictionary<string, string> env)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent!.Name;
        var dll = Path.Combine(ChartFiles.RepoRoot, "Silo", "bin", configuration, "net10.0", "Loom.Silo.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: build the solution first");
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = _directory };
        info.ArgumentList.Add(dll);
        info.ArgumentList.Add("migrate");
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Loom", StringComparison.OrdinalIgnoreCase) ||
                     k is "DOTNET_ENVIRONMENT" or "ASPNETCORE_ENVIRONMENT").ToList())
        {
            info.Environment.Remove(key);
        }
        foreach (var (key, value) in env) info.Environment[key] = value;

        var output = new StringBuilder();
        using var process = ChildProcesses.Start(info, line => { lock (output) output.AppendLine(line); });
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            ChildProcesses.Kill(process);
            Assert.Fail($"migrate kept running:\n{output}");
        }
        process.WaitForExit(); // the output handlers have seen every line
        lock (output) return (process.ExitCode, output.ToString());
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
