using System.Text.RegularExpressions;
using Loom.Tests.Fixtures;

namespace Loom.Tests.Helm;

/// <summary>
/// The Dockerfile's own `dotnet publish` command works for both images and ships each host's own settings. Run on
/// the build CI just made (`--no-build`), so it checks the publish step (output conflicts, what is copied), not a
/// second compile; there is no Docker on the test machines to build the image itself.
/// </summary>
public sealed partial class PublishTests
{
    [Theory]
    [InlineData("Silo", "Loom.Silo.dll")]
    [InlineData("Gateway", "Loom.Gateway.dll")]
    public async Task The_Dockerfile_publish_command_ships_the_host_with_its_own_settings(string project, string entryDll)
    {
        var options = PublishOptions().Match(ChartFiles.Read("Dockerfile"));
        Assert.True(options.Success, "the Dockerfile has no `dotnet publish \"$dir/$dir.csproj\" ... -o /app ...` line");
        var output = Directory.CreateTempSubdirectory("loom-publish-").FullName;
        try
        {
            var arguments = new List<string> { "publish", Path.Combine(ChartFiles.RepoRoot, project, project + ".csproj") };
            foreach (var option in options.Groups["options"].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                arguments.Add(option == "/app" ? output : option);
            }
            arguments.AddRange(["--no-build", "-nologo"]);

            await ChildProcesses.RunAsync("dotnet", arguments, TimeSpan.FromMinutes(3));

            Assert.True(File.Exists(Path.Combine(output, entryDll)), $"{entryDll} is not in the published output");
            Assert.Equal(
                File.ReadAllText(Path.Combine(ChartFiles.RepoRoot, project, "appsettings.json")),
                File.ReadAllText(Path.Combine(output, "appsettings.json")));
        }
        finally
        {
            Directory.Delete(output, recursive: true);
        }
    }

    [GeneratedRegex(@"dotnet publish ""\$dir/\$dir\.csproj"" (?<options>[^\r\n&|;]+)")]
    private static partial Regex PublishOptions();
}
